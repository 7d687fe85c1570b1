"""The action server's table definitions are what the migrations build (the gateway's:
tests/gateway/test_schema_models.py), and it refuses a database not migrated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions.booking_store import TABLES as BOOKING_TABLES
from actions.place_store import metadata as places_metadata
from common.config import PROJECT_ROOT
from tests.migrations.schema import BACKENDS, empty_databases, migrated_like_models
from tools.stack import free_port

TABLES = [*BOOKING_TABLES, *places_metadata.tables.values()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_action_server_models_match_the_migrations(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with empty_databases(backend, request, tmp_path) as urls:
        created, migrated = migrated_like_models(TABLES, urls)
    assert set(created) == {t.name for t in TABLES}
    # 0006: pool vehicles, their bookings and slots, and the trips avoided.
    assert {"booking_vehicles", "vehicle_bookings", "vehicle_slots", "mobility_choices"} <= set(
        created
    )
    assert created == migrated


def test_the_action_server_refuses_a_database_not_migrated(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.db'}",
        "ACTIONS_PORT": str(free_port()),
        "ACTIONS_SECRET": "s" * 32,
    }
    result = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "lancez « python -m common.migrate upgrade »" in result.stderr
