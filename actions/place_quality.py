"""The data quality report of the digital-help places, for the council's data editors.

    python -m actions.place_quality [--months 24] [--json rapport.json]
    make places-quality MONTHS=24

Lists places without hours, with hours only as free text, without phone, not updated
for ``--months`` months, placed at their commune's centre, the duplicates merged and
the rows rejected at the last import of each file. The same lists are on the admin page
``/console/admin/places-quality``; both read the database (``common.place_quality``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from actions import place_store
from common.config import database_url
from common.migrate import upgrade
from common.place_quality import DEFAULT_MONTHS, Report, build


def _place(p: dict[str, Any]) -> str:
    return f"  - {p['nom']} ({p['code_postal']} {p['commune']}) [{p['id']}], {p['date_maj']}"


def text(report: Report) -> str:
    """The report in French, one section per list."""
    if not report.imported:
        return "Aucun lieu importé : lancez « make import-places »."
    lines = [
        f"{report.places} lieu(x) proposés par l'assistant, issus de {report.source_rows} "
        "ligne(s) importée(s) :"
    ]
    lines += [
        f"  - {f['file']} : {f['rows']} ligne(s) valide(s), {f['rejected']} rejetée(s)"
        for f in report.files
    ]
    sections = [
        ("sans horaires", report.without_hours),
        ("avec des horaires en texte libre (pas de « ouvert en ce moment »)", report.hours_as_text),
        ("sans téléphone", report.without_phone),
        (f"non mis à jour depuis {report.months} mois (avant le {report.cutoff})", report.older),
        ("placés au centre de leur commune (pas de coordonnées fiables)", report.placed_at_commune),
    ]
    for title, places in sections:
        lines.append(f"\n{len(places)} lieu(x) {title} :")
        lines += [_place(p) for p in places]
    lines.append(f"\n{len(report.merged)} lieu(x) issus de doublons regroupés :")
    for place in report.merged:
        lines.append(_place(place))
        lines += [f"      ← {reason}" for reason in place["reasons"]]
    lines.append(f"\n{len(report.rejected)} ligne(s) rejetée(s) à la dernière importation :")
    lines += [f"  - {r['file']}, {r['location']} : {r['reason']}" for r in report.rejected]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.place_quality",
        description="Qualité des données des lieux d'aide au numérique.",
    )
    parser.add_argument(
        "--months", type=int, default=DEFAULT_MONTHS,
        help=f"ancienneté à signaler, en mois (défaut : {DEFAULT_MONTHS})",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="écrit aussi le rapport dans ce fichier JSON")
    parser.add_argument("--database-url", help="base de données (défaut : DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.months < 1:
        parser.error("--months doit être au moins 1")
    upgrade(args.database_url or database_url())
    report = build(place_store.engine(args.database_url), args.months)
    print(text(report))
    if args.json:
        args.json.write_text(
            json.dumps(report.as_dict(), ensure_ascii=False, indent=1, default=str),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
