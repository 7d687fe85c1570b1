"""Fibre figures: Arcep's share of premises eligible to fibre, by commune or département."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actions import fibre
from common.config import PROJECT_ROOT

FIXTURE = Path(__file__).parent / "fixtures" / "fibre" / "commune_techno.csv"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", folder)
    monkeypatch.setenv("DATA_DIR", str(folder))
    return folder


def test_a_commune_with_its_own_figure(data_dir):
    figure = fibre.fibre_figure("Brest")
    assert figure == fibre.FibreFigure(
        scope="commune", name="Brest", share=0.976, date="2026-06-30",
        source="Arcep, Ma connexion internet", code="29019", premises=99899,
    )  # fmt: skip
    assert fibre.describe(figure) == (
        "À Brest, 97,6\u00a0% des locaux sont raccordables à la fibre (Arcep, 30 juin 2026)."
    )
    assert fibre.fibre_figure("29019") == figure  # an INSEE code works too
    assert fibre.describe(fibre.fibre_figure("le mans")).startswith("Au Mans, 97,8\u00a0%")


def test_a_commune_without_its_own_figure_gets_its_departement(data_dir):
    finistere = fibre.fibre_figure("Quimper")
    assert (finistere.scope, finistere.name, finistere.share) == ("departement", "Finistère", 0.888)
    assert fibre.describe(finistere) == (
        "Dans le Finistère, 88,8\u00a0% des locaux sont raccordables à la fibre "
        "(Arcep, 30 juin 2026)."
    )
    sarthe = fibre.fibre_figure("Mamers")
    assert fibre.describe(sarthe).startswith("Dans la Sarthe, 96,5\u00a0% des locaux")


def test_an_unknown_or_missing_commune_has_no_figure(data_dir):
    assert fibre.fibre_figure("Zzyzx") is None
    assert fibre.fibre_figure("Paris") is None  # not in the territory's commune table
    assert fibre.fibre_figure(None) is None and fibre.fibre_figure("  ") is None


def test_percentages_below_the_whole_never_round_up_to_100():
    assert fibre.french_percent(0.9996) == "99,9\u00a0%"
    assert fibre.french_percent(1.0) == "100\u00a0%"
    assert fibre.french_percent(0.97) == "97\u00a0%"
    assert fibre.french_date("2026-07-01") == "1er juillet 2026"


def test_the_arcep_commune_file_replaces_the_figures(data_dir, capsys):
    assert fibre.main(["import", str(FIXTURE)]) == 0
    out, err = capsys.readouterr()
    assert "4 commune(s) et 2 département(s)" in out and "1 commune(s) hors du territoire" in out
    figures = fibre.read_figures()
    quimper = fibre.fibre_figure("Quimper")
    assert (quimper.scope, quimper.share, quimper.date) == ("commune", 0.9, "2026-09-30")
    assert fibre.fibre_figure("Ouessant").share == 0.0
    finistere = figures[("departement", "29")]
    assert finistere.premises == 141000 and finistere.share == pytest.approx(134000 / 141000)
    sarthe = figures[("departement", "72")]
    assert sarthe.premises == 97000  # only the "all" row of Le Mans; the bad row is refused
    assert "ligne 8 : nombre ou date invalide" in err
    assert ("commune", "75056") not in figures  # Paris is outside the territory
    # A commune absent from the new file falls back on its département.
    assert fibre.fibre_figure("Morlaix").scope == "departement"


def test_a_file_without_the_expected_columns_is_refused(data_dir, tmp_path, capsys):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code_commune;nb_locaux\n29019;100\n", encoding="utf-8")
    before = (data_dir / fibre.FIBRE_FILE).read_text(encoding="utf-8")
    assert fibre.main(["import", str(wrong)]) == 2
    assert "colonne(s) manquante(s) : code_insee, nbr, elig_ftth, date" in capsys.readouterr().err
    assert (data_dir / fibre.FIBRE_FILE).read_text(encoding="utf-8") == before


def test_a_date_can_be_given_when_the_file_has_none(data_dir, tmp_path):
    undated = tmp_path / "undated.csv"
    undated.write_text("code_insee,nbr,elig_ftth\n29019,200,150\n", encoding="utf-8")
    assert fibre.main(["import", str(undated), "--date", "2026-12-31"]) == 0
    assert fibre.fibre_figure("Brest").date == "2026-12-31"
    assert fibre.fibre_figure("Brest").share == 0.75
