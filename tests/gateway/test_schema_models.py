"""The gateway's table definitions are what the migrations build: a model changed
without its alembic revision fails here (the action server's: tests/test_schema_models.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.admin.service import TABLES as ADMIN_TABLES
from integrations.console.auth import TABLES as STAFF_TABLES
from integrations.indicators.models import TABLES as INDICATOR_TABLES
from integrations.outbox import TABLES as OUTBOX_TABLES
from integrations.store import TABLES as STORE_TABLES
from tests.migrations.schema import BACKENDS, empty_databases, migrated_like_models

TABLES = [*STORE_TABLES, *STAFF_TABLES, *ADMIN_TABLES, *INDICATOR_TABLES, *OUTBOX_TABLES]


@pytest.mark.parametrize("backend", BACKENDS)
def test_gateway_models_match_the_migrations(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with empty_databases(backend, request, tmp_path) as urls:
        created, migrated = migrated_like_models(TABLES, urls)
    assert set(created) == {t.name for t in TABLES}
    assert created == migrated
