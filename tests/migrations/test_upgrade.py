"""Migrations on real SQLite and PostgreSQL databases: main's schema and rows upgraded,
older shapes brought up to date, twice is once, services refuse an un-migrated base."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from common.config import PROJECT_ROOT
from common.db import make_engine
from common.migrate import COMMAND, SchemaNotReady, check_schema, current, head, upgrade
from tests.migrations.schema import fingerprint, kept, load_sql, main_fixture, rows

# The revision whose schema is main c4ccb4b (tests/migrations/fixtures/main-c4ccb4b.*).
MAIN_REVISION = "0002"
TABLES = {
    # gateway
    "conversations", "messages", "handoffs", "handoff_notes", "tickets",
    "web_conversation_keys", "staff_users", "staff_sessions", "staff_identities",
    "admin_audit", "admin_inbox_items", "admin_inbox_hits", "admin_state", "admin_models",
    "admin_activations",
    # action server
    "booking_agents", "booking_agent_identities", "booking_sites", "booking_rooms",
    "bookings", "booking_slots", "digital_place_sources", "digital_places",
    "digital_place_rejects",
}  # fmt: skip
# Tables added since main's schema by later revisions: 0005 indicators, 0006 pool
# vehicles, 0007 outbox.
HEAD_TABLES = TABLES | {
    "indicator_daily", "indicator_monthly", "indicator_durations", "indicator_places",
    "survey_answers",
    "booking_vehicles", "vehicle_bookings", "vehicle_slots", "mobility_choices",
    "outbox", "telegram_updates",
}  # fmt: skip


def _dialect(url: str) -> str:
    return make_url(url).get_backend_name()


def _engine_with(url: str, sql: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as connection:
        load_sql(connection, sql)
    return engine


def _fresh(url: str) -> Engine:
    upgrade(url)
    return make_engine(url)


def test_main_database_is_upgraded_with_its_rows(empty_databases: tuple[str, str]) -> None:
    old_url, new_url = empty_databases
    old = _engine_with(old_url, main_fixture(_dialect(old_url)))
    upgrade(new_url, MAIN_REVISION)
    fresh = make_engine(new_url)
    shape, content = fingerprint(old), rows(old)
    assert set(shape) == TABLES
    assert all(content.values()), "the fixture has rows in every table"
    # The first revisions are exactly main's schema.
    assert shape == fingerprint(fresh)

    assert current(old_url) is None
    upgrade(old_url)
    upgrade(new_url)
    assert current(old_url) == head()
    assert kept(content, rows(old))
    assert fingerprint(old) == fingerprint(fresh)
    old.dispose()
    fresh.dispose()


def test_upgrading_twice_changes_nothing(empty_databases: tuple[str, str]) -> None:
    url = empty_databases[0]
    engine = _engine_with(url, main_fixture(_dialect(url)))
    upgrade(url)
    shape, content = fingerprint(engine), rows(engine)
    upgrade(url)
    assert current(url) == head()
    assert (fingerprint(engine), rows(engine)) == (shape, content)
    engine.dispose()


def _older(sql: str) -> str:
    """Main's fixture as a database from before df6f4de (messages without AUTOINCREMENT)
    and e88cad1 (no agent role: the SSO account is an admin there)."""
    older = sql.replace("PRIMARY KEY AUTOINCREMENT", "PRIMARY KEY")
    older = older.replace("role in ('agent', 'mediator', 'admin')", "role in ('mediator', 'admin')")
    older = older.replace("'!sso', 'agent'", "'!sso', 'admin'")
    assert older.count("'agent'") == 0
    return older


def test_older_database_is_brought_to_the_current_shape(
    empty_databases: tuple[str, str],
) -> None:
    old_url, new_url = empty_databases
    old = _engine_with(old_url, _older(main_fixture(_dialect(old_url))))
    fresh = _fresh(new_url)
    content = rows(old)
    if old.dialect.name == "sqlite":
        assert fingerprint(old)["messages"]["autoincrement"] is False
    assert fingerprint(old)["staff_users"] != fingerprint(fresh)["staff_users"]

    upgrade(old_url)
    assert kept(content, rows(old))
    assert fingerprint(old) == fingerprint(fresh)
    with old.begin() as connection:
        # The agent role is accepted now.
        connection.exec_driver_sql("UPDATE staff_users SET role = 'agent' WHERE id = 2")
        # A deleted message's id is not given again (SQLite's AUTOINCREMENT, PostgreSQL's
        # sequence).
        connection.exec_driver_sql("DELETE FROM messages WHERE id = 2")
        connection.exec_driver_sql(
            "INSERT INTO messages (conversation_id, direction, author, channel, text, created_at)"
            " VALUES (1, 'out', 'bot', 'web', 'Nouveau', '2026-12-01 09:00:00')"
        )
        new_id = connection.exec_driver_sql("SELECT max(id) FROM messages").scalar()
    assert new_id == 3
    old.dispose()
    fresh.dispose()


def test_places_tables_of_the_first_schema_are_recreated(
    empty_databases: tuple[str, str],
) -> None:
    old_url, new_url = empty_databases
    old = _engine_with(
        old_url,
        "CREATE TABLE digital_places (id VARCHAR(200) NOT NULL PRIMARY KEY, "
        "nom VARCHAR(300) NOT NULL, code_postal VARCHAR(5) NOT NULL, date_maj VARCHAR(10) "
        "NOT NULL, imported_at TIMESTAMP NOT NULL);\n"
        "CREATE INDEX ix_digital_places_code_postal ON digital_places (code_postal);\n"
        "INSERT INTO digital_places VALUES ('a', 'Médiathèque', '35000', '2024-01-01', "
        "'2024-01-01 00:00:00');\n",
    )
    upgrade(old_url)
    fresh = _fresh(new_url)
    assert fingerprint(old) == fingerprint(fresh)
    # Derived from the files: filled again at the next import, as on main.
    assert rows(old)["digital_places"] == []
    old.dispose()
    fresh.dispose()


def test_rasa_tracker_table_is_left_alone(empty_databases: tuple[str, str]) -> None:
    url = empty_databases[0]
    engine = _engine_with(
        url,
        "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL);\n"
        "INSERT INTO events VALUES (1, 'web:abc');\n",
    )
    upgrade(url)
    with engine.connect() as connection:
        kept = connection.exec_driver_sql("SELECT sender_id FROM events").scalars().all()
    assert kept == ["web:abc"]
    engine.dispose()


def test_services_refuse_a_database_that_is_not_migrated(
    empty_databases: tuple[str, str],
) -> None:
    url = empty_databases[0]
    engine = make_engine(url)
    with pytest.raises(SchemaNotReady) as refused:
        check_schema(engine)
    assert COMMAND in str(refused.value) and "DATABASE_URL" in str(refused.value)
    upgrade(url)
    check_schema(engine)
    engine.dispose()


def _migrate(url: str, *args: str) -> subprocess.Popen[str]:
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": path}
    return subprocess.Popen(
        [sys.executable, "-m", "common.migrate", *args],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(url: str, *args: str) -> tuple[int, str, str]:
    process = _migrate(url, *args)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_two_processes_may_upgrade_at_once(empty_databases: tuple[str, str]) -> None:
    url = empty_databases[0]
    processes = [_migrate(url, "upgrade") for _ in range(3)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in results] == [0, 0, 0], results
    assert _run(url, "current") == (0, f"{head()}\n", "")
    engine = make_engine(url)
    assert set(fingerprint(engine)) == HEAD_TABLES
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "pas une adresse",
        "postgresql+psycopg2://assistant:s3cr3t-pass@127.0.0.1:1/assistant",
        "sqlite:////proc/no/such/folder/assistant.db",
    ],
)
def test_command_explains_a_bad_database_url_in_one_line(url: str) -> None:
    code, out, err = _run(url, "upgrade")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("Erreur : ") and "DATABASE_URL" in err
    assert "Traceback" not in err and "s3cr3t" not in err
