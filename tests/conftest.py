"""Session fixtures: the model is trained once per run and the servers start once.

``MODEL_DIR`` (default ``models/``) chooses where the model is trained, so that
several checkouts or developers do not train into the same folder at once.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT, database_url
from common.migrate import upgrade
from tools.stack import Stack, running_stack, train

os.environ.setdefault("TZ", "Europe/Paris")
time.tzset()  # the C library reads TZ once: without this, local times stay the old zone
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# Required by the gateway's settings; scripts/test.sh (env.sh) sets it, a bare pytest not.
os.environ.setdefault("GATEWAY_CHANNEL_SECRET", secrets.token_hex(24))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked ``long`` first (in their order), then the others: with several
    workers (scripts/test.sh) one worker starts on the retraining while another runs the
    quick modules, instead of the longest module starting last."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> None:
    """DATABASE_URL (the checkout's var/assistant.db under scripts/test.sh), migrated as
    scripts/run.sh does: tests that run actions in-process use it."""
    upgrade(database_url())


@pytest.fixture(scope="session")
def test_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model trained from the current config and data (trained at most once)."""
    model_dir = Path(os.environ.get("MODEL_DIR", PROJECT_ROOT / "models"))
    return train(model_dir, PROJECT_ROOT / "var" / "log" / "train-tests.log")


@pytest.fixture(scope="session")
def rasa_stack(trained_model: Path, test_run_dir: Path) -> Iterator[Stack]:
    """The real Rasa server and action server, on a fresh SQLite database."""
    database_url = f"sqlite:///{test_run_dir / 'assistant.db'}"
    with running_stack(trained_model, database_url, test_run_dir / "logs") as stack:
        yield stack


@pytest.fixture
async def browser():  # type: ignore[no-untyped-def]
    """Headless chromium (tests/browser.py), one per test."""
    from tests.browser import chromium

    async with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server on loopback (installed by scripts/postgres.sh if missing)."""
    from tools.postgres import running_postgres

    with running_postgres() as url:
        yield url


@pytest.fixture(scope="module")
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database of each test module's own on the session's PostgreSQL server."""
    from tools.postgres import fresh_database

    with fresh_database(postgres_server, request.module.__name__) as url:
        yield url
