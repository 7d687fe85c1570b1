"""``assistant places|content|rooms``: Rasa's environment as a child process, on a real
database; an import with rejected rows exits 1 (0 with --accept-rejects)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from common.config import PROJECT_ROOT
from common.db import make_engine
from tests.cli.conftest import assistant

NATIONAL = (
    PROJECT_ROOT / "data" / "places"
    / "data-inclusion_lieux_mediation_numerique_mednum-cli_20230206_dep29_72.json"
)  # fmt: skip


@pytest.fixture
def places_file(tmp_path: Path) -> Path:
    """Two valid places of the national schema and one without name nor commune."""
    rows = json.loads(NATIONAL.read_text(encoding="utf-8"))[:2]
    rows.append({"id": "999", "pivot": "00000000000000", "date_maj": rows[0]["date_maj"]})
    path = tmp_path / "lieux.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def test_an_import_with_rejected_rows_exits_1(env: dict[str, str], places_file: Path) -> None:
    result = assistant("places", "import", str(places_file), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 rejetée(s)" in result.stdout and "Ligne rejetée" in result.stderr
    assert "Traceback" not in result.stderr
    with make_engine(env["DATABASE_URL"]).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM digital_place_sources")).scalar() == 2
    accepted = assistant("places", "import", str(places_file), "--accept-rejects", env=env)
    assert accepted.returncode == 0, accepted.stderr


def test_the_quality_report_names_the_rejects(env: dict[str, str], places_file: Path) -> None:
    assistant("places", "import", str(places_file), env=env)
    report = assistant("places", "quality", "--months", "24", env=env)
    assert report.returncode == 0, report.stderr
    assert "1 ligne(s) rejetée(s) à la dernière importation" in report.stdout


def test_content_stale_and_rooms_seed(env: dict[str, str]) -> None:
    stale = assistant("content", "stale", "--months", "6", env=env)
    assert stale.returncode == 0, stale.stderr
    assert "fiche(s) à relire." in stale.stdout
    seeded = assistant("rooms", "seed", env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert " rooms" in seeded.stdout and " agents" in seeded.stdout
    shown = assistant("rooms", "show", env=env)
    assert shown.returncode == 0 and "pl.)" in shown.stdout


def test_a_missing_rasa_environment_is_named(env: dict[str, str], tmp_path: Path) -> None:
    result = assistant("rooms", "show", env={**env, "RASA_VENV": str(tmp_path / "nulle-part")})
    assert result.returncode == 2 and "RASA_VENV" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_has_french_help(env: dict[str, str]) -> None:
    for command in (
        [], ["staff"], ["admin"], ["places"], ["places", "import"], ["content", "stale"],
        ["rooms"], ["chat"], ["check"],
    ):  # fmt: skip
        shown = assistant(*command, "--help", env=env)
        assert shown.returncode == 0, command
        assert "utilisation : assistant" in shown.stdout and "afficher cette aide" in shown.stdout
        assert "usage:" not in shown.stdout and "show this help" not in shown.stdout
