"""Data quality report of the places: the command and the admin page read the same tables."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from actions import place_quality, place_store
from actions.place_import import import_path
from common.config import PROJECT_ROOT
from common.migrate import upgrade
from common.place_quality import build, months_before

FIXTURES = Path(__file__).parent / "fixtures" / "places"
TODAY = date(2026, 12, 1)


def imported(url: str) -> None:
    upgrade(url)
    db = place_store.engine(url)
    import_path(PROJECT_ROOT / "data" / "places", db)
    import_path(FIXTURES / "bad_rows.csv", db)


def test_the_report_lists_what_a_data_editor_must_fix(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    imported(url)
    report = build(place_store.engine(url), months=24, today=TODAY)
    assert report.imported and report.cutoff == "2024-12-01"
    assert report.places == 289 + 3 and report.source_rows == 356 + 3
    assert {f["file"]: (f["rows"], f["rejected"]) for f in report.files}["bad_rows.csv"] == (3, 5)
    first = report.rejected[0]
    assert (first["location"], first["file"]) == ("ligne 3", "bad_rows.csv")
    lists = ("without_hours", "hours_as_text", "without_phone", "older", "placed_at_commune")
    ids = {name: {p["id"] for p in getattr(report, name)} for name in lists}
    assert "b-ok2" in ids["placed_at_commune"] and "b-ok2" not in ids["without_phone"]
    assert "b-ok" in ids["without_phone"] and "b-ok" not in ids["without_hours"]
    assert "fs-1875" not in ids["without_hours"]  # itinerant: its programme is its schedule
    assert "cnfs-62b035078255a806e299e151" in ids["hours_as_text"]  # « Mo 18:00 » kept as text
    assert "b-ok" not in ids["older"] and "fs-169" in ids["older"]  # 2026-11 vs 2024-08
    assert len(report.merged) == 58
    chateaulin = next(p for p in report.merged if p["id"] == "fs-172")
    assert chateaulin["members"][0] == "fs-172" and len(chateaulin["reasons"]) == 2
    recent = build(place_store.engine(url), months=48, today=TODAY)
    assert "fs-169" not in {p["id"] for p in recent.older}


def test_an_empty_database_says_nothing_was_imported(tmp_path):
    from common.db import make_engine

    report = build(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert not report.imported
    assert place_quality.text(report).startswith("Aucun lieu importé")


def test_months_before_keeps_a_valid_day():
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 12, 1), 24) == date(2024, 12, 1)


def test_the_command_prints_every_section_and_writes_json(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    imported(url)
    target = tmp_path / "rapport.json"
    assert place_quality.main(["--database-url", url, "--json", str(target)]) == 0
    out = capsys.readouterr().out
    for title in (
        "sans horaires",
        "sans téléphone",
        "non mis à jour depuis 24 mois",
        "doublons regroupés",
        "ligne(s) rejetée(s) à la dernière importation",
    ):
        assert title in out  # fmt: skip
    assert "bad_rows.csv, ligne 3 : code_postal « 2960 » invalide" in out
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["places"] == 292 and len(saved["rejected"]) == 5
