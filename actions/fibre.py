"""Share of premises eligible to fibre (FttH), from Arcep's "Ma connexion internet" statistics.

The figures live in ``DATA_DIR/fibre/arcep_fibre.csv`` (one row per commune or
département, see ``data/README.md``); the file is re-read when it changes.
:func:`fibre_figure` gives the commune's figure when the file has one, else its
département's; :func:`describe` says it in French.

A council refreshes the figures each quarter from Arcep's per-commune file::

    python -m actions.fibre import commune_techno.csv      # or: make import-fibre FILE=…

``commune_techno.csv`` (data.arcep.fr/fixe/maconnexioninternet/statistiques/last/commune/)
is read with these columns (``;`` or ``,`` separated, other columns ignored):

- ``code_insee`` — the commune's INSEE code (required);
- ``nbr`` — number of premises (« locaux ») of the commune (required);
- ``elig_ftth`` — premises eligible to fibre (required);
- ``date`` — the statistics' date, ``AAAA-MM-JJ`` (required unless ``--date`` is given);
- ``nom_com`` — the commune's name (optional: the commune table's name is used);
- ``type`` — when present, only rows whose type is ``all`` are read.

Only communes of the commune table (Finistère and Sarthe) are kept; each
département's figure is the sum of its communes in the file.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from threading import Lock

from actions import geo
from common.config import data_dir

FIBRE_FILE = "fibre/arcep_fibre.csv"
COLUMNS = ("niveau", "code", "nom", "locaux", "locaux_fibre", "part_fibre", "date", "source")
SOURCE = "Arcep, Ma connexion internet"
REQUIRED = ("code_insee", "nbr", "elig_ftth")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
# How a département is named inside a sentence (« dans le Finistère »).
DEPARTEMENTS = {"29": ("Finistère", "dans le Finistère"), "72": ("Sarthe", "dans la Sarthe")}

_cache: dict[Path, tuple[float, dict[tuple[str, str], FibreFigure]]] = {}
_lock = Lock()


class FibreImportError(ValueError):
    """The Arcep file cannot be used (missing column, no usable row)."""


@dataclass(frozen=True)
class FibreFigure:
    """Arcep's share of premises eligible to fibre for a commune or a département."""

    scope: str  # "commune" | "departement"
    name: str
    share: float  # 0..1
    date: str  # ISO date of the statistics
    source: str
    code: str = ""  # INSEE code of the commune, or the département's number
    premises: int | None = None


def _path() -> Path:
    return data_dir() / FIBRE_FILE


def read_figures(path: Path | None = None) -> dict[tuple[str, str], FibreFigure]:
    """Every figure of the file keyed by ``(scope, code)``, cached until the file changes."""
    path = path or _path()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    figures: dict[tuple[str, str], FibreFigure] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            premises, eligible = row.get("locaux"), row.get("locaux_fibre")
            share = (
                int(eligible) / int(premises) if premises and eligible else float(row["part_fibre"])
            )
            figure = FibreFigure(
                scope=row["niveau"].strip(),
                name=row["nom"].strip(),
                share=share,
                date=row["date"].strip(),
                source=row["source"].strip() or SOURCE,
                code=row["code"].strip(),
                premises=int(row["locaux"]) if row.get("locaux") else None,
            )
            figures[(figure.scope, figure.code)] = figure
    with _lock:
        _cache[path] = (mtime, figures)
    return figures


def fibre_figure(commune: str | None) -> FibreFigure | None:
    """The figure for ``commune`` (a name or an INSEE code), else for its département.

    ``None`` when no commune is given, when the commune is unknown, or when the
    file has neither figure.
    """
    if not commune or not commune.strip():
        return None
    found = geo.communes().get(commune)
    if found is None:
        return None
    figures = read_figures()
    return figures.get(("commune", found.code_insee)) or figures.get(
        ("departement", found.departement)
    )


def french_percent(share: float) -> str:
    """``0.976`` -> ``97,6 %``; ``0.97`` -> ``97 %``; below 100 % never rounds to 100."""
    value = round(share * 100, 1)
    if value >= 100 and share < 1:
        value = 99.9
    text = f"{value:.1f}".replace(".", ",").removesuffix(",0")
    return f"{text}\u00a0%"


def french_date(iso: str) -> str:
    """``2026-06-30`` -> ``30 juin 2026``."""
    day = date.fromisoformat(iso)
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def at_commune(name: str) -> str:
    """« À Brest », « Au Mans », « Aux Rairies » (the article contracts with « à »)."""
    if name.startswith("Le "):
        return "Au " + name[3:]
    if name.startswith("Les "):
        return "Aux " + name[4:]
    return "À " + name


def describe(figure: FibreFigure) -> str:
    """« À Brest, 97,6 % des locaux sont raccordables à la fibre (Arcep, 30 juin 2026). »"""
    if figure.scope == "commune":
        where = at_commune(figure.name)
    else:
        where = DEPARTEMENTS.get(figure.code, ("", f"dans le département {figure.name}"))[1]
        where = where[:1].upper() + where[1:]
    return (
        f"{where}, {french_percent(figure.share)} des locaux sont raccordables à la fibre "
        f"(Arcep, {french_date(figure.date)})."
    )


# ------------------------------------------------------------------- importing


@dataclass
class FibreImport:
    communes: int = 0
    departements: int = 0
    skipped: int = 0  # communes outside the commune table
    errors: list[str] | None = None


def import_commune_file(
    source: Path, target: Path | None = None, index: geo.CommuneIndex | None = None,
    when: str | None = None,
) -> FibreImport:  # fmt: skip
    """Replace the figures file with those of Arcep's per-commune ``source`` file."""
    target = target or _path()
    index = index or geo.communes()
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise FibreImportError(f"{source.name} : lecture impossible ({err})") from err
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = set(reader.fieldnames or ())
    missing = [c for c in REQUIRED if c not in columns]
    if when is None and "date" not in columns:
        missing.append("date")
    if missing:
        raise FibreImportError(f"{source.name} : colonne(s) manquante(s) : {', '.join(missing)}")
    by_code = {c.code_insee: c for c in index.communes}
    result = FibreImport(errors=[])
    rows: list[dict[str, str]] = []
    totals: dict[str, list[int | str]] = {}
    for line, record in enumerate(reader, start=2):
        if record.get("type") and record["type"].strip() != "all":
            continue
        code = (record.get("code_insee") or "").strip().zfill(5)
        commune = by_code.get(code)
        if commune is None:
            result.skipped += 1
            continue
        try:
            premises, eligible = int(record["nbr"]), int(record["elig_ftth"])
            stated = when or date.fromisoformat(record["date"].strip()[:10]).isoformat()
        except (TypeError, ValueError):
            result.errors.append(f"{source.name}, ligne {line} : nombre ou date invalide")
            continue
        if premises <= 0 or not 0 <= eligible <= premises:
            result.errors.append(f"{source.name}, ligne {line} : locaux éligibles incohérents")
            continue
        rows.append(_row("commune", code, commune.nom, premises, eligible, stated))
        total = totals.setdefault(commune.departement, [0, 0, stated])
        total[0] += premises  # type: ignore[operator]
        total[1] += eligible  # type: ignore[operator]
        total[2] = max(str(total[2]), stated)
    if not rows:
        raise FibreImportError(f"{source.name} : aucune commune du Finistère ou de la Sarthe")
    for code, (premises, eligible, stated) in sorted(totals.items()):
        name = DEPARTEMENTS.get(code, (code, ""))[0]
        rows.append(_row("departement", code, name, int(premises), int(eligible), str(stated)))
    result.communes = len(rows) - len(totals)
    result.departements = len(totals)
    write_figures(target, rows)
    return result


def _row(scope: str, code: str, name: str, premises: int, eligible: int, when: str) -> dict:
    return {
        "niveau": scope, "code": code, "nom": name, "locaux": str(premises),
        "locaux_fibre": str(eligible), "part_fibre": f"{eligible / premises:.4f}",
        "date": when, "source": SOURCE,
    }  # fmt: skip


def write_figures(target: Path, rows: list[dict[str, str]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.fibre",
        description="Chiffres de la fibre (Arcep, « Ma connexion internet »).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="importe commune_techno.csv de l'Arcep")
    load.add_argument("file", type=Path, help="fichier par commune de l'Arcep (CSV)")
    load.add_argument("--date", help="date des statistiques (AAAA-MM-JJ) si le fichier n'en a pas")
    show = commands.add_parser("show", help="affiche le chiffre d'une commune")
    show.add_argument("commune")
    args = parser.parse_args(argv)
    if args.command == "show":
        figure = fibre_figure(args.commune)
        print(describe(figure) if figure else f"Aucun chiffre pour « {args.commune} ».")
        return 0 if figure else 1
    try:
        when = date.fromisoformat(args.date).isoformat() if args.date else None
        result = import_commune_file(args.file, when=when)
    except (FibreImportError, ValueError) as err:
        print(f"Erreur : {err}", file=sys.stderr)
        return 2
    for error in result.errors or ():
        print(f"Ligne rejetée : {error}", file=sys.stderr)
    print(
        f"{result.communes} commune(s) et {result.departements} département(s) enregistrés "
        f"dans {_path()} ; {result.skipped} commune(s) hors du territoire ignorée(s), "
        f"{len(result.errors or ())} ligne(s) rejetée(s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
