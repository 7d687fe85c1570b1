"""Every migration test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.migrations.schema import BACKENDS
from tests.migrations.schema import empty_databases as _empty_databases


@pytest.fixture(params=BACKENDS)
def empty_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of the test's own, on the backend of the parameter."""
    with _empty_databases(request.param, request, tmp_path) as urls:
        yield urls
