"""Importing digital-help places: national schema, bad rows, Opendatasoft exports, re-import,
and the real open data shipped in data/places/."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from actions import place_store
from actions.place_import import ImportFailure, Mapping, import_path, main
from common.config import PROJECT_ROOT
from common.migrate import upgrade
from tests.rasa.counting import Counted

FIXTURES = Path(__file__).parent / "fixtures" / "places"


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'places.db'}"
    upgrade(url)
    return place_store.engine(url)


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
    assert sorted(by_id(db)) == ["b-hours", "b-ok", "b-ok2"]
    problems = {e.where: e.reason for e in report.errors}
    assert set(problems) == {"ligne 3", "ligne 5", "ligne 6", "ligne 7", "ligne 9"}
    assert "code_postal « 2960 »" in problems["ligne 3"]
    assert "« id » manquant" in problems["ligne 5"]
    assert "hors limites" in problems["ligne 6"]
    assert "Cours de cuisine" in problems["ligne 7"]
    assert "pas de coordonnées" in problems["ligne 9"] and "Nulle-Part" in problems["ligne 9"]
    assert str(report.errors[0]).startswith("bad_rows.csv, ligne 3 : ")
    # « lundi 9h-12h » is regular French: converted, not rejected.
    assert by_id(db)["b-hours"].horaires == "Mo 09:00-12:00"
    # Without coordinates, placed at its commune and said to be so.
    brest = by_id(db)["b-ok2"]
    assert brest.coord_source == "commune" and brest.approximate_position
    # The rejects are kept for the quality page, and replaced at the next import.
    stored = place_store.rejects(db)
    assert (stored[0]["file"], stored[0]["location"]) == ("bad_rows.csv", "ligne 3")
    assert len(stored) == 5
    import_path(FIXTURES / "bad_rows.csv", db)
    assert len(place_store.rejects(db)) == 5


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


def test_places_are_read_again_only_after_a_rebuild_even_of_as_many_rows(db, tmp_path, monkeypatch):
    import_path(FIXTURES / "valid.csv", db)
    built = Counted(place_store.place_from_row)
    monkeypatch.setattr(place_store, "place_from_row", built)
    assert by_id(db)["t-brest"].nom == "Lieu test Brest"
    assert built.calls == 3
    place_store.all_places(db).clear()  # the caller's list, not the kept one
    assert by_id(db)["t-brest"].nom == "Lieu test Brest" and built.calls == 3
    changed = tmp_path / "valid.csv"
    text = (FIXTURES / "valid.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("Lieu test Brest", "Lieu test Brest (rénové)"), "utf-8")
    import_path(changed, db)
    assert by_id(db)["t-brest"].nom == "Lieu test Brest (rénové)" and built.calls == 6


def test_a_folder_imports_every_data_file_with_its_own_mapping(db, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(PROJECT_ROOT / "data" / "places", folder)
    shutil.copy(FIXTURES / "valid.csv", folder)
    report = import_path(folder, db)
    assert report.errors == [] and report.failed_files == []
    assert len(report.files) == 4
    assert report.per_file["valid.csv"].valid == 3
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
    assert "3 lieu(x) valides" in out and "5 ligne(s) rejetée(s)" in out
    assert "Ligne rejetée : bad_rows.csv, ligne 3 :" in err
    assert main([str(FIXTURES / "bad_rows.csv"), "--database-url", url, "--strict"]) == 1
    assert main([str(tmp_path / "missing.csv"), "--database-url", url]) == 2


# ------------------------------------------------------------------ the real open data

REAL = PROJECT_ROOT / "data" / "places"
FRANCE_SERVICES = "france_services_anct_20240801_dep29_72.csv"
ADVISERS = "conseillers_numeriques_lieux_activite_mednum-cli_20221202_dep29_72.json"
INCLUSION = "data-inclusion_lieux_mediation_numerique_mednum-cli_20230206_dep29_72.json"


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('real') / 'places.db'}"
    upgrade(url)
    db = place_store.engine(url)
    return db, import_path(REAL, db)


def sources(db) -> dict[str, dict]:
    return {r["id"]: r for r in place_store.source_rows(db)}


def test_each_real_file_imports_with_the_expected_counts(real):
    db, report = real
    counts = {
        name: (c.read, c.valid, c.rejected, c.placed_at_commune, c.hours_as_text)
        for name, c in report.per_file.items()
    }
    assert counts == {
        FRANCE_SERVICES: (59, 59, 0, 2, 0),
        ADVISERS: (128, 128, 0, 3, 1),
        INCLUSION: (169, 169, 0, 119, 22),
    }
    assert report.errors == [] and report.failed_files == [] and place_store.rejects(db) == []
    # Coordinates far from their commune (a head office's point) are replaced and reported.
    far = report.per_file[ADVISERS].far_coordinates
    assert any(f.startswith("cnfs-62add85a8255a806e299ddc9 Médiathèque Elliant") for f in far)
    assert place_store.source_count(db) == 356
    assert (report.places, len(report.merges)) == (289, 58)
    assert place_store.count(db) == 289


def test_every_record_says_who_published_it_under_which_licence_and_when(real):
    db, _ = real
    for row in sources(db).values():
        assert row["publisher"] and row["licence"] == "Licence Ouverte 2.0"
        assert row["source"] and row["date_maj"]
    fs = sources(db)["fs-169"]
    assert fs["publisher"].startswith("ANCT") and fs["date_maj"] == "2024-08-01"
    assert "anct-carto/france_services" in fs["source"]


def test_france_services_hours_labels_and_itinerant_sites(real):
    db, _ = real
    rows = sources(db)
    assert rows["fs-169"]["horaires"] == (
        "Mo,Fr 09:00-12:00,14:00-17:00; Tu-Th 09:00-12:00,14:00-16:30; Sa 09:00-12:00; PH off"
    )
    assert rows["fs-169"]["telephone"] == "+33229021651"
    assert rows["fs-169"]["dispositif_programmes_nationaux"] == "France Services"
    assert rows["fs-169"]["prise_rdv"] is None  # « Non » is not an appointment link
    bus = rows["fs-1875"]
    assert bus["itinerance"] == "Itinérant"
    assert bus["horaires_texte"].startswith("Itinérance sur les 9 communes")


def test_first_version_schema_rows_are_converted_to_v1(real):
    db, _ = real
    glazik = sources(db)["cnfs-6267db2d3a929e0790b16905"]
    assert glazik["services"] == (
        "Maîtrise des outils numériques du quotidien|Compréhension du monde numérique"
    )
    assert glazik["dispositif_programmes_nationaux"] == "Conseillers numériques"
    assert glazik["frais_a_charge"] == "Gratuit" and glazik["courriels"] == "accueil@glazik.bzh"
    assert glazik["commune"] == "Briec" and glazik["code_insee"] == "29020"  # was « BRIEC »
    tarmac = sources(db)["di-100"]
    assert tarmac["publics_specifiquement_adresses"] == "Familles et/ou enfants|Jeunes|Seniors"
    assert "Surdité" in tarmac["prise_en_charge_specifique"].split("|")
    assert tarmac["modalites_accompagnement"] == (
        "Dans un atelier collectif|Accompagnement individuel|En autonomie"
    )


def test_rows_without_coordinates_are_placed_at_their_commune(real):
    db, _ = real
    tarmac = sources(db)["di-100"]  # « Sarge Le Mans », no coordinates in the file
    assert tarmac["coord_source"] == "commune" and tarmac["commune"] == "Sargé-lès-le-Mans"
    assert tarmac["horaires"] == "Mo-Fr 09:00-12:00,14:00-17:00"  # converted from French
    cedex = [r for r in sources(db).values() if "cedex" in (r["commune"] or "").lower()]
    assert cedex == []  # « Le Mans Cedex 2 » is the commune Le Mans


def test_free_text_hours_that_are_not_regular_are_kept_as_written(real):
    db, _ = real
    variable = next(r for r in sources(db).values() if r["horaires_texte"] == "Très variables")
    assert variable["horaires"] is None


def test_sources_describing_one_place_are_merged_with_their_labels(real):
    db, report = real
    places = by_id(db)
    chateaulin = places["fs-172"]
    assert chateaulin.member_ids == (
        "fs-172", "cnfs-62ac88638255a806e299d98a", "di-62ac88638255a806e299d98a"
    )  # fmt: skip
    assert chateaulin.labels == ("France Services", "Conseillers numériques")
    assert "Maîtrise des outils numériques du quotidien" in chateaulin.services
    assert chateaulin.horaires.endswith("PH off")  # the France services hours, of 2024
    merge = next(m for m in report.merges if m.place_id == "fs-172")
    assert "France services Châteaulin" in str(merge) and "même adresse" in str(merge)
    # The Brest fixed and itinerant France services share an address but stay apart.
    assert {"fs-173", "fs-1874"} <= set(places)


def test_a_reimport_of_the_real_data_updates_and_does_not_duplicate(real, tmp_path):
    url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade(url)
    db = place_store.engine(url)
    first = import_path(REAL, db)
    again = import_path(REAL, db)
    assert (again.inserted, again.updated) == (0, first.inserted)
    assert place_store.source_count(db) == 356 and place_store.count(db) == first.places


def test_a_table_of_the_previous_version_is_rebuilt_from_the_shipped_data(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the single table of the fictional-sample era
        old.execute("CREATE TABLE digital_places (id VARCHAR(200) PRIMARY KEY, nom TEXT)")
        old.execute("INSERT INTO digital_places VALUES ('exemple-carhaix', 'EPN (exemple)')")
    monkeypatch.setenv("DATA_DIR", str(PROJECT_ROOT / "data"))
    upgrade(f"sqlite:///{path}")  # recreates it at the current shape (revision 0002)
    places = place_store.places_with_seed(f"sqlite:///{path}")
    assert len(places) == 289 and "exemple-carhaix" not in {p.id for p in places}
