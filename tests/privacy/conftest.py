"""Privacy fixtures: every test runs on a fresh SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from common.db import make_engine
from common.migrate import upgrade
from tests import rasa_env
from tests.gateway.conftest import (  # noqa: F401  (fixtures shared with tests/gateway)
    base_settings,
    gateway_client,
)
from tools.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for the test: a SQLite file, or a new PostgreSQL database
    on the session's server (purges delete by age, so nothing may be shared)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'privacy.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url"), "privacy") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The gateway's, the admin area's, Rasa's and the booking tables, all created
    (Rasa's by Rasa's own definition, in Rasa's environment; the others by the migrations)."""
    upgrade(database_url)
    made = make_engine(database_url)
    rasa_env.call("tracker_table", database_url)
    yield made
    made.dispose()
