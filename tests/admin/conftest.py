"""Admin fixtures: a copy of the Rasa project to annotate and train, never the repository's."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from integrations.settings import AdminSettings, Settings
from tests import rasa_env
from tests.gateway.conftest import (  # noqa: F401  (fixtures shared with tests/gateway)
    base_settings,
    gateway_client,
)

# A small training for the tests: the same pipeline and data with fewer epochs.
TEST_DIET_EPOCHS = 8
TEST_TED_EPOCHS = 1


def copy_project(target: Path, diet_epochs: int | None = None) -> Path:
    """config.yml, bot/ and nlu_data/ copied into ``target`` (DIET / TED epochs lowered)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "bot", target / "bot")
    shutil.copytree(PROJECT_ROOT / "nlu_data", target / "nlu_data")
    config = (PROJECT_ROOT / "config.yml").read_text(encoding="utf-8")
    if diet_epochs is not None:
        config = set_epochs(config, "DIETClassifier", diet_epochs)
        config = set_epochs(config, "TEDPolicy", TEST_TED_EPOCHS)
    (target / "config.yml").write_text(config, encoding="utf-8")
    return target


def set_epochs(config: str, component: str, epochs: int) -> str:
    """``config`` with the ``epochs`` of ``component`` replaced."""
    pattern = re.compile(rf"(- name: {component}\n(?:\s+\w+:.*\n)*?\s+epochs: )\d+")
    changed, count = pattern.subn(rf"\g<1>{epochs}", config)
    assert count == 1, f"no epochs setting for {component} in config.yml"
    return changed


def without_component(config: str, component: str) -> str:
    """``config`` without the pipeline entry of ``component`` (a one-line entry)."""
    changed, count = re.subn(rf"\n  - name: {re.escape(component)}\n", "\n", config)
    assert count == 1, f"no one-line entry {component} in config.yml"
    return changed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def with_admin(settings: Settings, project: Path, models: Path, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    return dataclasses.replace(
        settings,
        admin=AdminSettings(project_dir=project, models_dir=models, **overrides),
    )


class RasaEvents:
    """Rasa's own SQL tracker store on a test database (in Rasa's environment, through
    tests/rasa_env.py): writes real user events."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def user_says(
        self, sender: str, text: str, intent: str, confidence: float, best: str | None = None
    ) -> None:
        """A user message as Rasa records it; ``best``: the intent under nlu_fallback."""
        await asyncio.to_thread(
            rasa_env.call, "user_says", self.database_url, sender, text, intent, confidence, best
        )


@pytest.fixture
def admin_settings(base_settings: Settings, project: Path, tmp_path: Path) -> Settings:  # noqa: F811
    """The gateway on a fresh database, editing a copy of the project; Rasa is down."""
    return with_admin(base_settings, project, tmp_path / "models")
