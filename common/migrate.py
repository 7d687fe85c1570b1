"""Schema migrations (alembic revisions in ``migrations/versions/``) for every table of the
gateway and of the action server; Rasa creates its own ``events`` table.

``scripts/run.sh`` runs ``python -m common.migrate upgrade`` once before the processes
start; the services only check (:func:`check_schema`) and refuse to start on a database
that is not at the latest revision. Works with SQLAlchemy 1.4 (Rasa's environment) and 2.

    python -m common.migrate [upgrade|current]     # DATABASE_URL from the environment
"""

from __future__ import annotations

import argparse
import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import SQLAlchemyError

from common.config import PROJECT_ROOT, database_url
from common.db import database_problem, make_engine

COMMAND = "python -m common.migrate upgrade"
VERSION_TABLE = "alembic_version"


class SchemaNotReady(RuntimeError):
    """The database is not at the latest revision: the message says what to run."""


def _config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The latest revision of ``migrations/versions/``."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config("")).get_current_head()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision``, the latest by default
    (nothing if it is there).

    A database made by ``create_all`` before migrations existed is taken as it is: the
    first revision creates only the tables it lacks, the second fixes older shapes.
    Two processes may call this at once: on SQLite a lock file next to the database
    serialises them, on PostgreSQL an advisory lock (``migrations/env.py``).
    """
    from alembic import command

    with _sqlite_lock(database_url):
        command.upgrade(_config(database_url), revision)


def current(database_url: str) -> str | None:
    """The revision the database is at; ``None`` when it was never migrated."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return _revision(connection)
    finally:
        engine.dispose()


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaNotReady` unless the database is at the latest revision."""
    with engine.connect() as connection:
        found = _revision(connection)
    if found != head():
        state = f"révision « {found} »" if found else "jamais migrée"
        raise SchemaNotReady(
            f"La base de données (DATABASE_URL) n'est pas à jour ({state}, attendue "
            f"« {head()} ») : lancez « {COMMAND} »."
        )


def require_current(database_url: str) -> None:
    """:func:`check_schema` for a process about to start on ``database_url``."""
    engine = make_engine(database_url)
    try:
        check_schema(engine)
    finally:
        engine.dispose()


def _revision(connection: Connection) -> str | None:
    # alembic's table, read without alembic's context (which logs at every service start).
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()


@contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    path = Path(f"{parsed.database}.migrate-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m common.migrate",
        description="Migrations du schéma de la base DATABASE_URL (alembic).",
    )
    parser.add_argument("command", nargs="?", choices=["upgrade", "current"], default="upgrade")
    args = parser.parse_args(argv)
    try:
        from alembic.util import CommandError
    except ImportError:
        return _fail("alembic n'est pas installé dans cet environnement (scripts/setup.sh)")
    url = database_url()
    try:
        make_url(url)
        if args.command == "upgrade":
            upgrade(url)
            print(f"Base de données à jour (révision {head()}).")
        else:
            print(current(url) or "aucune révision : base jamais migrée")
    except CommandError as err:
        return _fail(f"migration impossible sur DATABASE_URL ({err})")
    except (SQLAlchemyError, ImportError, OSError) as err:
        problem = database_problem(err)
        if problem is None:
            raise
        return _fail(problem)
    return 0


def _fail(message: str) -> int:
    print(f"Erreur : {message}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
