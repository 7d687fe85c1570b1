"""Privacy fixtures: every test runs on a fresh SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from common.db import make_engine
from tests import rasa_env
from tests.gateway.conftest import (  # noqa: F401  (fixtures shared with tests/gateway)
    base_settings,
    gateway_client,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for the test: a SQLite file, or a new PostgreSQL database
    on the session's server (purges delete by age, so nothing may be shared)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'privacy.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"privacy_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The gateway's, the admin area's, Rasa's and the booking tables, all created."""
    from integrations.admin.service import Admin
    from integrations.store import Store

    made = make_engine(database_url)
    Store(made).create_tables()
    Admin.create_tables(made)
    rasa_env.call("booking_schema", database_url)
    rasa_env.call("tracker_table", database_url)
    yield made
    made.dispose()
