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

The files of ``data/places/`` are described by ``data/places/sources.yml``
(publisher, licence, source, date, id prefix and mapping of each file): every place
carries them. Rows of the first version of the schema (mednum-cli, 2022–2023:
``courriel``, ``labels_nationaux``, ``conditions_acces``, ``publics_accueillis`` and
its services vocabulary) are read as they are and converted to schema v1.

Hours: OSM ``opening_hours`` are kept; one column per weekday (France services) and
regular free French text are converted (``actions.hours_convert``); other text is kept
in ``horaires_texte`` and shown as written. A row without coordinates is placed at
its commune (``data/communes.csv``) and marked ``coord_source = commune``.

Each invalid row is reported with its file, line (CSV) or record number (JSON) and
the reason, and stored for the quality page; valid rows are stored. Rows are keyed by
``id``: importing the same file again updates the places instead of duplicating
them. After each import the places are deduplicated (``actions.place_dedup``) and
the merges reported.
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

from actions import geo, hours_convert, place_dedup, place_store
from common import hours
from common.config import database_url
from common.migrate import upgrade
from common.text import fold

SUFFIXES = (".csv", ".json", ".geojson")
SOURCES_FILE = "sources.yml"
MULTI_VALUED = (
    "typologie", "courriels", "services", "publics_specifiquement_adresses",
    "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux",
    "modalites_acces", "modalites_accompagnement",
)  # fmt: skip
REQUIRED = ("id", "pivot", "nom", "commune", "code_postal", "adresse", "date_maj")
TEXT_FIELDS = (
    "id", "pivot", "nom", "commune", "code_postal", "code_insee", "adresse",
    "complement_adresse", "telephone", "site_web", "horaires", "horaires_texte",
    "presentation_resume", "fiche_acces_libre", "prise_rdv", "itinerance", "source",
    "date_maj",
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
# Columns of the first version of the schema (mednum-cli), read when the v1 one is absent.
V0_COLUMNS = {
    "courriels": ("courriel",),
    "frais_a_charge": ("conditions_acces", "conditions_access"),
    "dispositif_programmes_nationaux": ("labels_nationaux",),
    "publics_specifiquement_adresses": ("publics_accueillis",),
    "prise_en_charge_specifique": ("publics_accueillis",),
}
_MAINTRISE, _COMPREHENSION = SERVICES[1], SERVICES[6]
_DEMARCHES, _ACCES = SERVICES[0], SERVICES[7]
# First-version values (the words before « : », folded) -> schema v1 values; None drops.
V0_VALUES: dict[str, dict[str, str | None]] = {
    "services": {
        "prendre en main un smartphone ou une tablette": _MAINTRISE,
        "prendre en main un ordinateur": _MAINTRISE,
        "utiliser le numerique au quotidien": _MAINTRISE,
        "approfondir ma culture numerique": _COMPREHENSION,
        "promouvoir la citoyennete numerique": _COMPREHENSION,
        "acceder a une connexion internet": _ACCES,
        "acceder a du materiel": _ACCES,
        "accompagner les demarches de sante": _DEMARCHES,
        "devenir autonome dans les demarches administratives": _DEMARCHES,
        "realiser des demarches administratives avec un accompagnement": _DEMARCHES,
        "creer avec le numerique": SERVICES[5],
        "favoriser mon insertion professionnelle": SERVICES[2],
        "creer et developper mon entreprise": SERVICES[2],
        "equiper en materiel informatique": SERVICES[8],
        "s'equiper en materiel informatique": SERVICES[8],
        "soutenir la parentalite et l'education avec le numerique": SERVICES[4],
    },
    "frais_a_charge": {
        "gratuit": "Gratuit",
        "gratuit sous condition": "Gratuit sous condition",
        "payant": "Payant",
        "adhesion": "Payant",
        "accepte le pass numerique": "Pass numérique",
        "pass numerique": "Pass numérique",
    },
    "dispositif_programmes_nationaux": {
        "cnfs": "Conseillers numériques",
        "conseillers numeriques": "Conseillers numériques",
        "france services": "France Services",
        "aidants connect": "Aidants Connect",
        "aptic": "Pass numérique",
        "pass numerique": "Pass numérique",
        "point numerique caf": "Point d'accès numérique CAF",
        "campus connecte": None,
    },
    "publics_specifiquement_adresses": {
        "jeunes (16-26 ans)": "Jeunes",
        "jeunes": "Jeunes",
        "etudiants": "Étudiants",
        "familles/enfants": "Familles et/ou enfants",
        "seniors (+ 65 ans)": "Seniors",
        "seniors": "Seniors",
        "femmes": "Femmes",
    },
    "prise_en_charge_specifique": {
        "surdite": "Surdité",
        "handicaps moteurs": "Handicaps moteurs",
        "handicaps mentaux": "Handicaps mentaux",
        "personnes en situation d'illettrisme": "Illettrisme",
        "illettrisme": "Illettrisme",
        "public langues etrangeres": "Langues étrangères (autres)",
        "deficience visuelle": "Déficience visuelle",
    },
    "modalites_accompagnement": {
        "dans un atelier": "Dans un atelier collectif",
        "avec de l'aide": "Accompagnement individuel",
        "seul": "En autonomie",
        "a ma place": "Accompagnement individuel",
    },
}
# Coordinates farther than this from their commune's position are not trusted (the
# commune table's positions are themselves approximate by a few kilometres).
FAR_FROM_COMMUNE_KM = 12.0
_CEDEX = re.compile(r"\s+cedex(\s*\d+)?\s*$", re.IGNORECASE)
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
class FileReport:
    name: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    placed_at_commune: int = 0
    hours_as_text: int = 0
    far_coordinates: list[str] = field(default_factory=list)  # "id (X km)", placed at commune

    @property
    def valid(self) -> int:
        return self.inserted + self.updated


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)
    per_file: dict[str, FileReport] = field(default_factory=dict)
    merges: list[place_dedup.Merge] = field(default_factory=list)
    places: int = 0  # after merging

    @property
    def valid(self) -> int:
        return self.inserted + self.updated

    def summary(self) -> str:
        return (
            f"{len(self.files)} fichier(s), {self.valid} lieu(x) valides "
            f"({self.inserted} ajouté(s), {self.updated} mis à jour), "
            f"{len(self.errors)} ligne(s) rejetée(s) ; "
            f"{self.places} lieu(x) après {len(self.merges)} regroupement(s) de doublons"
        )


@dataclass(frozen=True)
class Mapping:
    """How a source's columns become schema fields (``fields``: schema -> source names).

    ``weekday_hours`` names one column per weekday (``lundi: h_lundi``…) converted to
    OSM hours, followed by ``hours_suffix`` (e.g. ``PH off``); ``values`` translates a
    field's values (``itinerance: {Bus_équivalent: Itinérant}``).
    """

    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    coordinates: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    id_prefix: str = ""
    weekday_hours: dict[int, str] = field(default_factory=dict)
    hours_suffix: str = ""
    values: dict[str, dict[str, str]] = field(default_factory=dict)

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
        values = {
            str(k): {str(a): str(b) for a, b in (v or {}).items()}
            for k, v in (raw.get("values") or {}).items()
        }
        unknown = sorted((set(fields) | set(values)) - set(SCHEMA_FIELDS))
        if unknown:
            raise ImportFailure(f"{path} : champs inconnus du schéma : {', '.join(unknown)}")
        days = {}
        for day, column in (raw.get("weekday_hours") or {}).items():
            if day not in hours.WEEKDAYS:
                raise ImportFailure(f"{path} : jour inconnu dans weekday_hours : {day}")
            days[hours.WEEKDAYS.index(day)] = str(column)
        coordinates = raw.get("coordinates") or ()
        return cls(
            fields=fields,
            coordinates=tuple([coordinates] if isinstance(coordinates, str) else coordinates),
            defaults={k: str(v) for k, v in (raw.get("defaults") or {}).items()},
            id_prefix=str(raw.get("id_prefix") or ""),
            weekday_hours=days,
            hours_suffix=str(raw.get("hours_suffix") or ""),
            values=values,
        )

    def sources(self, name: str) -> tuple[str, ...]:
        return self.fields.get(name, (name,))


@dataclass(frozen=True)
class SourceInfo:
    """Provenance of one file, from ``sources.yml`` beside it."""

    publisher: str = ""
    licence: str = ""
    source: str = ""
    date: str = ""
    id_prefix: str = ""
    mapping: Path | None = None


def source_info(file: Path) -> SourceInfo:
    """The ``sources.yml`` entry of ``file`` (an empty one when there is none)."""
    described = file.parent / SOURCES_FILE
    if not described.exists():
        return SourceInfo()
    try:
        raw = yaml.safe_load(described.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ImportFailure(f"{described} illisible ({err})") from err
    entry = (raw.get("files") or {}).get(file.name) or {}
    mapping = entry.get("mapping")
    return SourceInfo(
        publisher=str(entry.get("publisher") or ""),
        licence=str(entry.get("licence") or ""),
        source=str(entry.get("source") or ""),
        date=str(entry.get("date") or ""),
        id_prefix=str(entry.get("id_prefix") or ""),
        mapping=file.parent / mapping if mapping else None,
    )


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


def normalise_record(
    record: dict[str, Any],
    mapping: Mapping,
    info: SourceInfo | None = None,
    index: geo.CommuneIndex | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The schema row built from ``record`` and the list of problems (empty when valid)."""
    info = info or SourceInfo()
    row: dict[str, Any] = {}
    first_version: set[str] = set()
    problems: list[str] = []
    for name in (*TEXT_FIELDS, *MULTI_VALUED):
        value = _first(record, mapping.sources(name))
        if value is None and name in V0_COLUMNS and name not in mapping.fields:
            value = _first(record, V0_COLUMNS[name])
            if value is not None:
                first_version.add(name)
        if value is None and name in mapping.defaults:
            value = mapping.defaults[name]
        if value is not None and name in mapping.values:
            value = mapping.values[name].get(value, value)
        row[name] = value
    if mapping.weekday_hours and not row["horaires"]:
        columns = {day: _first(record, (column,)) for day, column in mapping.weekday_hours.items()}
        row["horaires"] = hours_convert.from_weekdays(columns, mapping.hours_suffix)
        if row["itinerance"] == "Itinérant" and not row["horaires_texte"]:
            row["horaires_texte"] = hours_convert.weekdays_text(columns) or None
    if not row["date_maj"] and info.date:
        row["date_maj"] = info.date
    for name in REQUIRED:
        if not row[name]:
            problems.append(f"champ obligatoire « {name} » manquant")
    if row["id"]:
        row["id"] = f"{info.id_prefix or mapping.id_prefix}{row['id']}"
    _check_pattern(row, "pivot", _PIVOT, "9 à 14 lettres ou chiffres (SIRET/RNA)", problems)
    postcode, insee = row["code_postal"] or "", row["code_insee"] or ""
    if len(postcode) == 4 and postcode.isdigit() and insee.startswith("0" + postcode[0]):
        row["code_postal"] = "0" + postcode  # a spreadsheet dropped the leading 0
    _check_pattern(row, "code_postal", _POSTCODE, "5 chiffres attendus", problems)
    _check_pattern(row, "code_insee", _INSEE, "5 caractères attendus", problems)
    row["date_maj"] = _date(row["date_maj"], problems)
    row["telephone"] = _phone(row["telephone"], problems)
    _hours(row)
    row["latitude"], row["longitude"] = _coordinates(record, mapping, problems)
    for name in MULTI_VALUED:
        row[name] = _multi(row[name])
        if name in V0_VALUES and name != "services":
            row[name] = _translate(name, row[name], strict=name in first_version)
    row["services"] = _services(row["services"], problems)
    row["publisher"], row["licence"] = info.publisher or None, info.licence or None
    if info.source:
        own = row["source"]
        row["source"] = f"{info.source} (origine : {own})" if own else info.source
    if not problems:
        _place_in_commune(row, index, problems)
    return row, problems


def _hours(row: dict[str, Any]) -> None:
    """OSM hours kept; regular French text converted; other text kept as written."""
    given = row["horaires"]
    if not given or hours.is_valid(given):
        return
    converted = hours_convert.from_french(given)
    if converted is not None and hours.is_valid(converted):
        row["horaires"] = converted
        return
    row["horaires"] = None
    text = hours_convert.plain_text(given)
    comment = row["horaires_texte"]
    row["horaires_texte"] = f"{text}\n{comment}" if comment else text


def _place_in_commune(
    row: dict[str, Any], index: geo.CommuneIndex | None, problems: list[str]
) -> None:
    """Canonical commune name and INSEE code; the commune's position when the row has none."""
    commune = _find_commune(row, index) if index is not None else None
    if commune is not None:
        row["commune"], row["code_insee"] = commune.nom, commune.code_insee
    if row["latitude"] is not None:
        row["coord_source"] = "source"
        if commune is None or not commune.has_coordinates:
            return
        km = geo.haversine_km(
            commune.latitude, commune.longitude, row["latitude"], row["longitude"]
        )  # type: ignore[arg-type]
        if km <= FAR_FROM_COMMUNE_KM:
            return
        # The file's point is in another commune (a structure's head office…): not trusted.
        row["far_from_commune_km"] = round(km, 1)
    if commune is None or not commune.has_coordinates:
        problems.append(
            f"pas de coordonnées et commune « {row['commune']} » ({row['code_postal']}) "
            "introuvable dans la table des communes"
        )
        return
    row["latitude"], row["longitude"] = commune.latitude, commune.longitude
    row["coord_source"] = place_store.FROM_COMMUNE


def _find_commune(row: dict[str, Any], index: geo.CommuneIndex) -> geo.Commune | None:
    if row["code_insee"]:
        found = index.get(row["code_insee"])
        if found is not None:
            return found
    name = _CEDEX.sub("", row["commune"] or "")
    found = index.get(name)
    if found is not None and (
        not row["code_postal"] or row["code_postal"][:2] == found.departement
    ):
        return found
    same_postcode = [c for c in index.communes if row["code_postal"] in c.codes_postaux]
    return same_postcode[0] if len(same_postcode) == 1 else None


def _translate(name: str, raw: str | None, strict: bool) -> str | None:
    """First-version values to schema v1; unknown values kept, or dropped when ``strict``."""
    if not raw:
        return None
    table = V0_VALUES[name]
    values: list[str] = []
    for value in raw.split("|"):
        key = fold(value.split(" : ", 1)[0].strip())
        if key in table:
            mapped = table[key]
        else:
            mapped = None if strict else value
        if mapped and mapped not in values:
            values.append(mapped)
    return "|".join(values) or None


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
    known: list[str] = []
    for value in raw.split("|"):
        canonical = _SERVICES_BY_KEY.get(fold(value)) or V0_VALUES["services"].get(fold(value))
        if canonical is None:
            problems.append(f"service « {value} » inconnu du schéma")
        elif canonical not in known:
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
    path: Path,
    db: Engine | None = None,
    mapping: Mapping | None = None,
    index: geo.CommuneIndex | None = None,
) -> ImportReport:
    """Import a file or every CSV / JSON / GeoJSON file of a folder, then deduplicate.

    Without ``mapping``, each file uses the mapping its ``sources.yml`` entry names
    (or none: the national schema).
    """
    db = db or place_store.engine()
    index = index or geo.communes()
    report = ImportReport()
    for file in files_to_import(path):
        report.files.append(file.name)
        counts = report.per_file.setdefault(file.name, FileReport(file.name))
        valid: dict[str, dict[str, Any]] = {}
        rejected: list[RowError] = []
        try:
            info = source_info(file)
            used = mapping or Mapping.load(info.mapping)
            for where, record in read_records(file):
                counts.read += 1
                row, problems = normalise_record(record, used, info, index)
                if problems:
                    rejected.append(RowError(file.name, where, " ; ".join(problems)))
                elif row["id"] in valid:
                    rejected.append(
                        RowError(file.name, where, f"id « {row['id']} » en double dans le fichier")
                    )
                else:
                    valid[row["id"]] = row
        except ImportFailure as err:
            report.failed_files.append(str(err))
            continue
        inserted, updated = place_store.upsert(db, list(valid.values()), file.name)
        place_store.replace_rejects(db, file.name, [(e.where, e.reason) for e in rejected])
        report.errors += rejected
        report.inserted += inserted
        report.updated += updated
        counts.inserted, counts.updated, counts.rejected = inserted, updated, len(rejected)
        counts.placed_at_commune = sum(
            1 for r in valid.values() if r.get("coord_source") == place_store.FROM_COMMUNE
        )
        counts.far_coordinates = [
            f"{r['id']} {r['nom']} ({r['far_from_commune_km']} km)"
            for r in valid.values()
            if r.get("far_from_commune_km")
        ]
        counts.hours_as_text = sum(
            1 for r in valid.values() if r["horaires_texte"] and not r["horaires"]
        )
    report.places, report.merges = rebuild(db)
    return report


def rebuild(db: Engine) -> tuple[int, list[place_dedup.Merge]]:
    """Recompute the merged places from every source row; ``(places, merges)``."""
    places, merges = place_dedup.deduplicate(place_store.source_rows(db))
    place_store.replace_places(db, places)
    return len(places), merges


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
        mapping = Mapping.load(args.mapping) if args.mapping else None
        upgrade(args.database_url or database_url())
        report = import_path(args.path, place_store.engine(args.database_url), mapping)
    except ImportFailure as err:
        print(f"Erreur : {err}", file=sys.stderr)
        return 2
    for problem in report.failed_files:
        print(f"Fichier ignoré : {problem}", file=sys.stderr)
    for error in report.errors:
        print(f"Ligne rejetée : {error}", file=sys.stderr)
    for name, counts in report.per_file.items():
        print(
            f"{name} : {counts.read} ligne(s) lue(s), {counts.valid} valide(s), "
            f"{counts.rejected} rejetée(s), {counts.placed_at_commune} placée(s) au centre "
            f"de leur commune, {counts.hours_as_text} avec des horaires en texte libre"
        )
        for far in counts.far_coordinates:
            print(f"  coordonnées loin de la commune, lieu placé au centre de sa commune : {far}")
    for merge in report.merges:
        print(f"Doublons regroupés : {merge}")
    print(report.summary())
    if report.failed_files or (args.strict and report.errors):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
