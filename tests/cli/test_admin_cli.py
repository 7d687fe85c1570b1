"""``assistant admin``: an empty inbox says so; times in Europe/Paris with their zone;
model versions and the audit log newest first; model names are UTC times."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from common.db import make_engine
from integrations.admin.audit import AuditLog
from integrations.admin.registry import Registry
from integrations.admin.views import format_when
from tests.cli.conftest import assistant, closed_port


def test_times_are_paris_time_with_the_zone() -> None:
    assert format_when(datetime(2026, 1, 15, 9, 30, tzinfo=UTC)) == "15/01/2026 10:30 CET"
    assert format_when(datetime(2026, 7, 15, 9, 30, tzinfo=UTC)) == "15/07/2026 11:30 CEST"
    # SQLite gives stored (UTC) moments back naive.
    assert format_when(datetime(2026, 7, 15, 9, 30)) == "15/07/2026 11:30 CEST"


def test_an_empty_inbox_says_so(env: dict[str, str]) -> None:
    # Rasa's tracker table does not exist yet: nothing to collect, an empty inbox.
    result = assistant("admin", "inbox", env=env)
    assert result.returncode == 0, result.stderr
    assert "La boîte de réception est vide" in result.stdout


def test_models_and_audit_newest_first_with_zone(env: dict[str, str], tmp_path: Path) -> None:
    engine = make_engine(env["DATABASE_URL"])
    registry = Registry(engine)
    first = registry.adopt(tmp_path / "20261130-090000-first.tar.gz", "cli:test")
    second = registry.adopt(tmp_path / "20261201-090000-second.tar.gz", "cli:test")
    audit = AuditLog(engine)
    audit.record("cli:test", "model.adopt", model=first.id)
    audit.record("cli:test", "model.adopt", model=second.id)

    models = assistant("admin", "models", env=env)
    assert models.returncode == 0, models.stderr
    ids = re.findall(r"^#(\d+)", models.stdout, flags=re.M)
    assert ids == [str(second.id), str(first.id)]
    assert re.search(r"créé le \d\d/\d\d/\d{4} \d\d:\d\d CES?T par cli:test", models.stdout)

    log = assistant("admin", "audit", env=env)
    assert log.returncode == 0, log.stderr
    lines = [line for line in log.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    assert all(re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d CES?T ", line) for line in lines)
    assert re.search(rf"\b{second.id}\b", lines[0]) and re.search(rf"\b{first.id}\b", lines[1])


def test_status_without_training(env: dict[str, str]) -> None:
    result = assistant("admin", "status", env=env)
    assert result.returncode == 0 and "Aucun entraînement en cours." in result.stdout


def test_rasa_down_is_a_french_line_without_the_token(env: dict[str, str]) -> None:
    result = assistant(
        "admin", "adopt", env={**env, "RASA_URL": f"http://127.0.0.1:{closed_port()}"}
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Erreur : Le serveur Rasa ne répond pas" in result.stderr
    assert env["RASA_TOKEN"] not in result.stderr + result.stdout
