"""SQLAlchemy engine and session factory shared by the action server and the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool

from common.config import ConfigError

Base = declarative_base()
# How long a SQLite writer waits for another's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_problem(err: BaseException) -> str | None:
    """One French line naming ``DATABASE_URL`` and what to do, for an error met while
    opening the database; ``None`` when ``err`` is not such an error."""
    if isinstance(err, NoSuchModuleError):
        return (
            "DATABASE_URL désigne un type de base inconnu : utilisez postgresql:// "
            "(ou postgres://) en production, sqlite:/// en local"
        )
    if isinstance(err, ArgumentError):
        return (
            "DATABASE_URL n'est pas une adresse de base de données valide : écrivez par "
            "exemple postgresql://utilisateur:mot-de-passe@hôte:5432/base ou sqlite:///chemin.db"
        )
    if isinstance(err, ImportError):
        return f"le pilote de la base DATABASE_URL manque ({err.name}) : relancez scripts/setup.sh"
    if isinstance(err, SQLAlchemyError):
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return (
            f"la base de données DATABASE_URL est injoignable ({reason}) : vérifiez que le "
            "serveur tourne, l'adresse, l'utilisateur et le mot de passe"
        )
    if isinstance(err, OSError):
        return (
            f"la base de données DATABASE_URL est inaccessible ({err.strerror or err}) : "
            "vérifiez le chemin et les droits du dossier"
        )
    return None


def check_database(url: str) -> None:
    """Connect once to ``url``; :class:`ConfigError` with :func:`database_problem`'s line
    when that fails."""
    try:
        engine = make_engine(url)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except (SQLAlchemyError, ImportError, OSError) as err:
        problem = database_problem(err)
        if problem is None:
            raise
        raise ConfigError(problem) from err


def make_engine(url: str, future: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and
    ``synchronous=NORMAL``.

    A PostgreSQL URL (``postgresql://``, ``postgres://``, with or without a driver) uses
    the default driver of the environment's SQLAlchemy: psycopg2 in Rasa's (1.4),
    psycopg 3 in the gateway's (2.1), each installed there; so one ``DATABASE_URL``
    serves both environments. ``future=False`` is for Rasa's own tracker store (1.4's
    legacy API).

    A SQLite file gets a pool of connections in both versions: 1.4 would otherwise open a
    connection, and run the pragmas, at every session (7 % of a Rasa worker's CPU under
    ``bench.scale``'s load).

    ``synchronous=NORMAL`` (SQLite's advice for WAL): a commit writes the log without
    waiting for the disk to flush it; the log is flushed at each checkpoint. The
    database stays consistent and a process killed at any moment loses nothing it
    committed; only a power cut or a crash of the machine itself can take back the last
    commits before the checkpoint. The flush at every commit held each writer's lock
    (and blocked a Rasa worker's event loop) for the disk's time: ``bench.scale``'s p50 /
    p95 went 119 / 272 ms → 108 / 254 ms without it. PostgreSQL (production) keeps its
    own settings.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, future=future, pool_pre_ping=True)
    pool: dict[str, Any] = {}
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        pool = {"poolclass": QueuePool}
    engine = create_engine(
        url,
        future=future,
        # Pooled connections move between threads (the gateway's to_thread).
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # see the docstring
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def as_utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime: SQLite gives back naive ones, stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    session: Session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
