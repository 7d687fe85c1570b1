"""What a database's schema is, as plain data to compare, and databases to build one in.

Only ``common`` and SQLAlchemy here: these helpers serve the migration tests (gateway
environment) and the two model-versus-migration checks (one per environment).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Connection, Engine

FIXTURES = Path(__file__).parent / "fixtures"
# Rasa's tracker table, alembic's and SQLite's own are not the application's schema.
NOT_OURS = {"alembic_version", "events", "sqlite_sequence"}


BACKENDS = ("sqlite", "postgresql")


@contextmanager
def empty_databases(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """The URLs of two empty databases of the test's own: SQLite files, or new databases
    on the session's PostgreSQL server (``postgres_url``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
        return
    from tools.postgres import fresh_database

    server = request.getfixturevalue("postgres_url")
    with fresh_database(server, "migrations") as one, fresh_database(server, "migrations") as two:
        yield one, two


def migrated_like_models(tables: Iterable[Table], urls: tuple[str, str]) -> tuple[Any, Any]:
    """The schema ``create_all`` makes of ``tables`` and the one the migrations make."""
    from common.db import make_engine
    from common.migrate import upgrade

    metadata = MetaData()
    names = [table.to_metadata(metadata).name for table in tables]
    created, migrated = make_engine(urls[0]), make_engine(urls[1])
    try:
        metadata.create_all(created)
        upgrade(urls[1])
        return fingerprint(created, names), fingerprint(migrated, names)
    finally:
        created.dispose()
        migrated.dispose()


def _clean(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().lower()


def fingerprint(engine: Engine, tables: Iterable[str] | None = None) -> dict[str, Any]:
    """Columns (type, nullability), keys, constraints and indexes of every table."""
    inspector = inspect(engine)
    names = sorted(set(tables) if tables is not None else set(inspector.get_table_names()))
    shape: dict[str, Any] = {}
    for name in names:
        if name in NOT_OURS or not inspector.has_table(name):
            continue
        shape[name] = {
            # In name order: a revision that adds a column appends it, a model may not.
            "columns": sorted(
                (c["name"], c["type"].compile(dialect=engine.dialect), c["nullable"])
                for c in inspector.get_columns(name)
            ),
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "foreign_keys": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete"),
                )
                for fk in inspector.get_foreign_keys(name)
            ),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
            ),
            "checks": sorted(
                (c["name"], _clean(c["sqltext"])) for c in inspector.get_check_constraints(name)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
                if not i.get("duplicates_constraint")
            ),
            "autoincrement": _sqlite_autoincrement(engine, name),
        }
    return shape


def _sqlite_autoincrement(engine: Engine, table: str) -> bool | None:
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar()
    return "AUTOINCREMENT" in sql.upper()


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the application, in primary-key order."""
    metadata = MetaData()
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name in sorted(inspect(connection).get_table_names()):
            if name in NOT_OURS:
                continue
            table = Table(name, metadata, autoload_with=connection)
            order = list(table.primary_key.columns) or list(table.columns)
            found[name] = [
                dict(r._mapping) for r in connection.execute(select(table).order_by(*order))
            ]
    return found


def load_sql(connection: Connection, sql: str) -> None:
    """Run a fixture file's statements (one per ``;`` at a line's end, ``--`` comments)."""
    lines = [line for line in sql.splitlines() if not line.startswith("--")]
    for statement in "\n".join(lines).split(";\n"):
        if statement.strip():
            connection.exec_driver_sql(statement.strip().rstrip(";"))


def main_fixture(dialect: str) -> str:
    """The schema of main at c4ccb4b with a few rows, for ``dialect``."""
    return (FIXTURES / f"main-c4ccb4b.{dialect}.sql").read_text(encoding="utf-8")


def kept(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> bool:
    """Every row of ``before`` is in ``after`` with the same values in its columns (a later
    revision may add columns)."""
    return before.keys() <= after.keys() and all(
        len(after[t]) == len(r)
        and all(a.items() >= b.items() for a, b in zip(after[t], r, strict=True))
        for t, r in before.items()
    )
