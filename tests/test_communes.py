"""The commune table: coverage of both départements, positions, and how gaps are filled."""

from __future__ import annotations

import csv

from common.config import PROJECT_ROOT
from tools.build_communes import _fill_by_group


def communes() -> list[dict[str, str]]:
    with (PROJECT_ROOT / "data" / "communes.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_commune_of_both_departements_has_a_code_and_a_position():
    rows = communes()
    by_dep = {d: [r for r in rows if r["departement"] == d] for d in ("29", "72")}
    assert len(by_dep["29"]) >= 270 and len(by_dep["72"]) >= 340
    assert len({r["code_insee"] for r in rows}) == len(rows)
    for row in rows:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        assert 47.0 < lat < 49.0 and -5.2 < lon < 1.0, row


def test_known_positions_are_where_the_towns_are():
    rows = {r["nom"]: r for r in communes()}
    brest, le_mans = rows["Brest"], rows["Le Mans"]
    assert (
        abs(float(brest["latitude"]) - 48.39) < 0.05
        and abs(float(brest["longitude"]) + 4.49) < 0.05
    )
    assert (
        abs(float(le_mans["latitude"]) - 48.0) < 0.05
        and abs(float(le_mans["longitude"]) - 0.2) < 0.05
    )
    assert rows["Carhaix-Plouguer"]["coord_source"] == "geonames"


def test_unlocated_communes_take_the_mean_position_of_their_group():
    rows = [
        {
            "code_insee": "1",
            "latitude": 48.0,
            "longitude": -4.0,
            "coord_source": "geonames",
            "cp": "a",
        },
        {
            "code_insee": "2",
            "latitude": 48.2,
            "longitude": -4.2,
            "coord_source": "geonames",
            "cp": "a",
        },
        {"code_insee": "3", "latitude": None, "longitude": None, "coord_source": "", "cp": "a"},
        {"code_insee": "4", "latitude": None, "longitude": None, "coord_source": "", "cp": "b"},
    ]
    _fill_by_group(rows, lambda r: [r["cp"]], "postal_code")
    assert (rows[2]["latitude"], rows[2]["longitude"], rows[2]["coord_source"]) == (
        48.1,
        -4.1,
        "postal_code",
    )
    assert rows[3]["latitude"] is None and rows[3]["coord_source"] == ""
