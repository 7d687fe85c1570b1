"""Import digital-help places: national schema (CSV / JSON) and Opendatasoft exports.

    python -m actions.place_import FILE_OR_FOLDER [--mapping MAPPING.yml] [--strict]

Accepted inputs:

- the national schema of digital mediation places (LaMedNum / ANCT,
  ``schema.json`` v1): CSV (``,`` or ``;`` delimiter) or a JSON array of rows;
- Opendatasoft exports: ``/exports/json`` (array of flat records),
  ``/exports/csv`` (``;``), ``/exports/geojson`` (FeatureCollection) and the
  Explore API answer ``{"total_count": …, "results": […]}``.

Source columns that are not named as in the schema are mapped by a YAML file
(``--mapping``), never by names written in this code: see
``data/places/mappings/opendatasoft-example.yml``.

Each invalid row is reported with its line (CSV) or record number (JSON) and the
reason; valid rows are stored. Rows are keyed by ``id``: importing the same file
again updates the places instead of duplicating them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine

from actions import hours, place_store
from common.text import fold

SUFFIXES = (".csv", ".json", ".geojson")
MULTI_VALUED = (
    "typologie", "courriels", "services", "publics_specifiquement_adresses",
    "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux",
    "modalites_acces", "modalites_accompagnement",
)  # fmt: skip
REQUIRED = ("id", "pivot", "nom", "commune", "code_postal", "adresse", "date_maj")
TEXT_FIELDS = (
    "id", "pivot", "nom", "commune", "code_postal", "code_insee", "adresse",
    "complement_adresse", "telephone", "site_web", "horaires", "presentation_resume",
    "fiche_acces_libre", "prise_rdv", "source", "date_maj",
)  # fmt: skip
SCHEMA_FIELDS = (*TEXT_FIELDS, "latitude", "longitude", *MULTI_VALUED)
# Enumeration of ``services`` in schema v1 (compared without accents and case).
SERVICES = (
    "Aide aux démarches administratives",
    "Maîtrise des outils numériques du quotidien",
    "Insertion professionnelle via le numérique",
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
)
_SERVICES_BY_KEY = {fold(s): s for s in SERVICES}
_PIVOT = re.compile(r"^[a-zA-Z0-9]{9,14}$")
_POSTCODE = re.compile(r"^\d{5}$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


class ImportFailure(RuntimeError):
    """A whole file cannot be read (not a row problem)."""


@dataclass(frozen=True)
class RowError:
    file: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, {self.where} : {self.reason}"


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.inserted + self.updated

    def summary(self) -> str:
        return (
            f"{len(self.files)} fichier(s), {self.valid} lieu(x) valides "
            f"({self.inserted} ajouté(s), {self.updated} mis à jour), "
            f"{len(self.errors)} ligne(s) rejetée(s)"
        )


@dataclass(frozen=True)
class Mapping:
    """How a source's columns become schema fields (``fields``: schema -> source names)."""

    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    coordinates: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    id_prefix: str = ""

    @classmethod
    def load(cls, path: Path | None) -> Mapping:
        if path is None:
            return cls()
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ImportFailure(f"fichier de correspondance illisible : {path} ({err})") from err
        fields = {
            name: tuple([sources] if isinstance(sources, str) else sources)
            for name, sources in (raw.get("fields") or {}).items()
        }
        unknown = sorted(set(fields) - set(SCHEMA_FIELDS))
        if unknown:
            raise ImportFailure(f"{path} : champs inconnus du schéma : {', '.join(unknown)}")
        coordinates = raw.get("coordinates") or ()
        return cls(
            fields=fields,
            coordinates=tuple([coordinates] if isinstance(coordinates, str) else coordinates),
            defaults={k: str(v) for k, v in (raw.get("defaults") or {}).items()},
            id_prefix=str(raw.get("id_prefix") or ""),
        )

    def sources(self, name: str) -> tuple[str, ...]:
        return self.fields.get(name, (name,))


# ---------------------------------------------------------------- reading files


def read_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, flat record)`` for every row of a CSV, JSON or GeoJSON file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ImportFailure(f"{path.name} : lecture impossible ({err})") from err
    if path.suffix.lower() == ".csv":
        yield from _csv_records(text)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ImportFailure(f"{path.name} : JSON invalide (ligne {err.lineno})") from err
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        for number, feature in enumerate(data.get("features") or [], start=1):
            yield f"entité n° {number}", _feature_record(feature)
        return
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]
    if not isinstance(data, list):
        raise ImportFailure(f"{path.name} : un tableau d'enregistrements JSON est attendu")
    for number, record in enumerate(data, start=1):
        yield f"enregistrement n° {number}", record if isinstance(record, dict) else {}


def _csv_records(text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = reader.line_num + 2  # header is line 1
    for row in reader:
        yield f"ligne {start}", {k: v for k, v in row.items() if k is not None}
        start = reader.line_num + 1


def _feature_record(feature: Any) -> dict[str, Any]:
    if not isinstance(feature, dict):
        return {}
    record = dict(feature.get("properties") or {})
    geometry = feature.get("geometry") or {}
    if geometry.get("type") == "Point" and len(geometry.get("coordinates") or []) >= 2:
        lon, lat = geometry["coordinates"][:2]
        record.setdefault("__geometry__", {"lon": lon, "lat": lat})
    return record


# ------------------------------------------------------------------ validating


def normalise_record(record: dict[str, Any], mapping: Mapping) -> tuple[dict[str, Any], list[str]]:
    """The schema row built from ``record`` and the list of problems (empty when valid)."""
    row: dict[str, Any] = {}
    problems: list[str] = []
    for name in (*TEXT_FIELDS, *MULTI_VALUED):
        value = _first(record, mapping.sources(name))
        if value is None and name in mapping.defaults:
            value = mapping.defaults[name]
        row[name] = value
    for name in REQUIRED:
        if not row[name]:
            problems.append(f"champ obligatoire « {name} » manquant")
    if row["id"]:
        row["id"] = f"{mapping.id_prefix}{row['id']}"
    _check_pattern(row, "pivot", _PIVOT, "9 à 14 lettres ou chiffres (SIRET/RNA)", problems)
    postcode, insee = row["code_postal"] or "", row["code_insee"] or ""
    if len(postcode) == 4 and postcode.isdigit() and insee.startswith("0" + postcode[0]):
        row["code_postal"] = "0" + postcode  # a spreadsheet dropped the leading 0
    _check_pattern(row, "code_postal", _POSTCODE, "5 chiffres attendus", problems)
    _check_pattern(row, "code_insee", _INSEE, "5 caractères attendus", problems)
    row["date_maj"] = _date(row["date_maj"], problems)
    row["telephone"] = _phone(row["telephone"], problems)
    if row["horaires"] and not hours.is_valid(row["horaires"]):
        problems.append(f"horaires « {row['horaires']} » : format OSM opening_hours invalide")
    row["latitude"], row["longitude"] = _coordinates(record, mapping, problems)
    for name in MULTI_VALUED:
        row[name] = _multi(row[name])
    row["services"] = _services(row["services"], problems)
    return row, problems


def _first(record: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, list):
            value = "|".join(str(v) for v in value if v not in (None, ""))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value not in (None, ""):
            text = str(value).strip()
            if text:
                return text
    return None


def _check_pattern(
    row: dict[str, Any], name: str, pattern: re.Pattern[str], hint: str, problems: list[str]
) -> None:
    if row[name] and not pattern.match(row[name]):
        problems.append(f"{name} « {row[name]} » invalide ({hint})")


def _date(raw: str | None, problems: list[str]) -> str | None:
    if not raw:
        return None
    text = raw.strip()[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", raw.strip()) else raw.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    problems.append(f"date_maj « {raw} » invalide (AAAA-MM-JJ attendu)")
    return None


def _phone(raw: str | None, problems: list[str]) -> str | None:
    """``+33…`` without spaces, as the schema wants; French national numbers are converted."""
    if not raw:
        return None
    digits = re.sub(r"[\s.\-()]", "", raw)
    if re.fullmatch(r"0\d{9}", digits):
        return "+33" + digits[1:]
    if re.fullmatch(r"\+\d{8,15}", digits):
        return digits
    if re.fullmatch(r"\d{4}", digits):  # short numbers such as 3939
        return digits
    problems.append(f"telephone « {raw} » invalide")
    return None


def _coordinates(
    record: dict[str, Any], mapping: Mapping, problems: list[str]
) -> tuple[float | None, float | None]:
    lat = _first(record, mapping.sources("latitude"))
    lon = _first(record, mapping.sources("longitude"))
    if lat is None and lon is None:
        for name in (*mapping.coordinates, "__geometry__"):
            point = record.get(name)
            if isinstance(point, dict) and "lat" in point and "lon" in point:
                lat, lon = point["lat"], point["lon"]
                break
            if isinstance(point, list | tuple) and len(point) == 2:  # Opendatasoft [lat, lon]
                lat, lon = point
                break
            if isinstance(point, str) and "," in point:
                lat, lon = (p.strip() for p in point.split(",", 1))
                break
    if lat is None and lon is None:
        return None, None
    try:
        latitude, longitude = float(str(lat).replace(",", ".")), float(str(lon).replace(",", "."))
    except (TypeError, ValueError):
        problems.append(f"coordonnées « {lat}, {lon} » invalides")
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        problems.append(f"coordonnées « {lat}, {lon} » hors limites")
        return None, None
    return latitude, longitude


def _multi(raw: str | None) -> str | None:
    if not raw:
        return None
    separator = "|" if "|" in raw else ";"  # schema v1 uses "|", v0.1 data uses ";"
    return "|".join(v.strip() for v in raw.split(separator) if v.strip()) or None


def _services(raw: str | None, problems: list[str]) -> str | None:
    if not raw:
        return None
    known = []
    for value in raw.split("|"):
        canonical = _SERVICES_BY_KEY.get(fold(value))
        if canonical is None:
            problems.append(f"service « {value} » inconnu du schéma")
        else:
            known.append(canonical)
    return "|".join(known) or None


# ------------------------------------------------------------------- importing


def files_to_import(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not path.exists():
        raise ImportFailure(f"{path} n'existe pas")
    return [path]


def import_path(
    path: Path, db: Engine | None = None, mapping: Mapping | None = None
) -> ImportReport:
    """Import a file or every CSV / JSON / GeoJSON file of a folder into the database."""
    db = db or place_store.engine()
    mapping = mapping or Mapping()
    report = ImportReport()
    for file in files_to_import(path):
        report.files.append(file.name)
        valid: dict[str, dict[str, Any]] = {}
        try:
            for where, record in read_records(file):
                row, problems = normalise_record(record, mapping)
                if problems:
                    report.errors.append(RowError(file.name, where, " ; ".join(problems)))
                elif row["id"] in valid:
                    report.errors.append(
                        RowError(file.name, where, f"id « {row['id']} » en double dans le fichier")
                    )
                else:
                    valid[row["id"]] = row
        except ImportFailure as err:
            report.failed_files.append(str(err))
            continue
        inserted, updated = place_store.upsert(db, list(valid.values()), file.name)
        report.inserted += inserted
        report.updated += updated
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.place_import",
        description="Importe des lieux de médiation numérique (schéma national, Opendatasoft).",
    )
    parser.add_argument("path", type=Path, help="fichier CSV / JSON / GeoJSON ou dossier")
    parser.add_argument("--mapping", type=Path, help="correspondance des colonnes (YAML)")
    parser.add_argument("--database-url", help="base de données (défaut : DATABASE_URL)")
    parser.add_argument(
        "--strict", action="store_true", help="code de sortie 1 si une ligne est rejetée"
    )
    args = parser.parse_args(argv)
    try:
        mapping = Mapping.load(args.mapping)
        report = import_path(args.path, place_store.engine(args.database_url), mapping)
    except ImportFailure as err:
        print(f"Erreur : {err}", file=sys.stderr)
        return 2
    for problem in report.failed_files:
        print(f"Fichier ignoré : {problem}", file=sys.stderr)
    for error in report.errors:
        print(f"Ligne rejetée : {error}", file=sys.stderr)
    print(report.summary())
    if report.failed_files or (args.strict and report.errors):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
