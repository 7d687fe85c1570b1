"""Importing digital-help places: national schema, bad rows, Opendatasoft exports, re-import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actions import place_store
from actions.place_import import ImportFailure, Mapping, import_path, main
from common.config import PROJECT_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "places"


@pytest.fixture
def db(tmp_path):
    return place_store.engine(f"sqlite:///{tmp_path / 'places.db'}")


def by_id(db) -> dict[str, place_store.Place]:
    return {p.id: p for p in place_store.all_places(db)}


def test_a_valid_schema_file_is_imported_and_normalised(db):
    report = import_path(FIXTURES / "valid.csv", db)
    assert (report.inserted, report.updated, report.errors) == (3, 0, [])
    places = by_id(db)
    assert places["t-quimper"].telephone == "+33261910302"  # "02 61 91 03 02" in the file
    # v0.1 ";" separator and the schema's unaccented "Comprehension" are accepted.
    assert places["t-quimper"].services == (
        "Maîtrise des outils numériques du quotidien",
        "Compréhension du monde numérique",
    )
    assert places["t-brest"].prise_en_charge_specifique == ("Surdité",)
    assert places["t-lemans"].latitude == pytest.approx(48.0061)


def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_kept(db):
    report = import_path(FIXTURES / "bad_rows.csv", db)
    assert sorted(by_id(db)) == ["b-ok", "b-ok2"]
    problems = {e.where: e.reason for e in report.errors}
    assert set(problems) == {"ligne 3", "ligne 4", "ligne 5", "ligne 6", "ligne 7"}
    assert "code_postal « 2960 »" in problems["ligne 3"]
    assert "opening_hours" in problems["ligne 4"]
    assert "« id » manquant" in problems["ligne 5"]
    assert "hors limites" in problems["ligne 6"]
    assert "Cours de cuisine" in problems["ligne 7"]
    assert str(report.errors[0]).startswith("bad_rows.csv, ligne 3 : ")


def test_an_opendatasoft_json_export_is_mapped_by_configuration(db):
    mapping = Mapping.load(FIXTURES / "opendatasoft_mapping.yml")
    report = import_path(FIXTURES / "opendatasoft_export.json", db, mapping)
    assert report.inserted == 2
    [error] = report.errors
    assert error.where == "enregistrement n° 3" and "date_maj" in error.reason
    landerneau = by_id(db)["ods-epn-001"]
    assert (landerneau.latitude, landerneau.longitude) == (48.4508, -4.2508)
    assert landerneau.code_postal == "29800"  # a number in the export
    assert landerneau.services == (
        "Maîtrise des outils numériques du quotidien",
        "Accès internet et matériel informatique",
    )
    assert by_id(db)["ods-epn-002"].telephone == "+33261910402"


def test_an_opendatasoft_geojson_export_takes_the_point_geometry(db):
    mapping = Mapping.load(FIXTURES / "opendatasoft_mapping.yml")
    report = import_path(FIXTURES / "opendatasoft_export.geojson", db, mapping)
    assert (report.inserted, report.errors) == (1, [])
    place = by_id(db)["ods-epn-001"]
    assert (place.latitude, place.longitude) == (48.4508, -4.2508)


def test_a_reimport_updates_instead_of_duplicating(db, tmp_path):
    import_path(FIXTURES / "valid.csv", db)
    changed = tmp_path / "valid.csv"
    text = (FIXTURES / "valid.csv").read_text(encoding="utf-8")
    changed.write_text(
        text.replace("Lieu test Brest", "Lieu test Brest (rénové)"), encoding="utf-8"
    )
    report = import_path(changed, db)
    assert (report.inserted, report.updated) == (0, 3)
    assert place_store.count(db) == 3
    assert by_id(db)["t-brest"].nom == "Lieu test Brest (rénové)"


def test_a_folder_imports_every_data_file_and_the_shipped_sample_is_valid(db, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(PROJECT_ROOT / "data" / "places", folder)
    shutil.copy(FIXTURES / "valid.csv", folder)
    report = import_path(folder, db)
    assert report.errors == [] and report.failed_files == []
    assert len(report.files) == 2
    departements = {p.departement for p in place_store.all_places(db)}
    assert {"29", "72"} <= departements


def test_an_unreadable_file_is_reported_not_fatal(db, tmp_path):
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    shutil.copy(FIXTURES / "valid.csv", tmp_path)
    report = import_path(tmp_path, db)
    assert report.inserted == 3
    assert report.failed_files and "JSON invalide" in report.failed_files[0]


def test_a_mapping_naming_an_unknown_field_is_refused(tmp_path):
    mapping = tmp_path / "m.yml"
    mapping.write_text("fields:\n  nom_complet: name\n", encoding="utf-8")
    with pytest.raises(ImportFailure, match="nom_complet"):
        Mapping.load(mapping)


def test_command_line_reports_rows_and_strict_mode_fails(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main([str(FIXTURES / "bad_rows.csv"), "--database-url", url]) == 0
    out, err = capsys.readouterr()
    assert "2 lieu(x) valides" in out and "5 ligne(s) rejetée(s)" in out
    assert "Ligne rejetée : bad_rows.csv, ligne 3 :" in err
    assert main([str(FIXTURES / "bad_rows.csv"), "--database-url", url, "--strict"]) == 1
    assert main([str(tmp_path / "missing.csv"), "--database-url", url]) == 2
