"""Digital-help places in the database (SQLAlchemy Core): source rows, merged places, rejects.

Three tables:

- ``digital_place_sources``: every valid row of every imported file, keyed by its
  ``id`` (prefixed per source). Re-importing a file updates its rows instead of adding
  duplicates.
- ``digital_places``: what the assistant answers from, one row per real place. It is
  rebuilt from the source rows after every import by ``actions.place_dedup`` (same
  SIRET, same address, or same name within 50 m are one place); ``member_ids`` lists
  the source rows merged into it. The admin quality page reads this table and the next.
- ``digital_place_rejects``: the rows the last import of each file refused, with line
  and reason.

The tables come from the migrations (``python -m common.migrate upgrade``); an empty
installation is filled from the shipped data (``DATA_DIR/places/``) so it answers at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)  # fmt: skip
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from common.config import data_dir, database_url
from common.db import make_engine
from common.migrate import check_schema

logger = logging.getLogger(__name__)

PLACES_FOLDER = "places"
# Columns of the national schema (v1) the assistant keeps, plus provenance.
TEXT_COLUMNS = (
    "pivot", "nom", "commune", "code_postal", "code_insee", "adresse", "complement_adresse",
    "typologie", "telephone", "courriels", "site_web", "horaires", "horaires_texte",
    "presentation_resume", "services", "publics_specifiquement_adresses",
    "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux",
    "modalites_acces", "modalites_accompagnement", "fiche_acces_libre", "prise_rdv",
    "itinerance", "source", "publisher", "licence", "date_maj", "coord_source",
)  # fmt: skip
COLUMNS = ("id", *TEXT_COLUMNS, "latitude", "longitude")
# ``coord_source``: "source" (the file's coordinates) or "commune" (placed at its commune).
FROM_COMMUNE = "commune"

metadata = MetaData()


def _columns() -> list[Column]:
    columns = [Column("id", String(200), primary_key=True)]
    columns += [Column(name, Text) for name in TEXT_COLUMNS]
    columns += [Column("latitude", Float), Column("longitude", Float)]
    return columns


sources_table = Table(
    "digital_place_sources",
    metadata,
    *_columns(),
    Column("imported_from", Text),
    Column("imported_at", DateTime, nullable=False),
)
places_table = Table(
    "digital_places",
    metadata,
    *_columns(),
    Column("member_ids", Text, nullable=False),  # |-joined source ids, canonical first
    Column("member_count", Integer, nullable=False),
    Column("merge_reasons", Text),  # French, one per merged row, |-joined
    Column("built_at", DateTime, nullable=False),
)
rejects_table = Table(
    "digital_place_rejects",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("file", Text, nullable=False),
    Column("location", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("imported_at", DateTime, nullable=False),
)

_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = Lock()
_seed_lock = Lock()


@dataclass(frozen=True)
class Place:
    """A place as the dialogue needs it (multi-valued fields as tuples)."""

    id: str
    nom: str
    adresse: str
    complement_adresse: str
    code_postal: str
    commune: str
    code_insee: str
    latitude: float | None
    longitude: float | None
    telephone: str
    horaires: str
    services: tuple[str, ...]
    typologie: tuple[str, ...]
    prise_en_charge_specifique: tuple[str, ...]
    fiche_acces_libre: str
    prise_rdv: str
    horaires_texte: str = ""
    labels: tuple[str, ...] = ()  # dispositif_programmes_nationaux
    frais_a_charge: tuple[str, ...] = ()
    modalites_accompagnement: tuple[str, ...] = ()
    courriels: tuple[str, ...] = ()
    site_web: str = ""
    itinerance: str = ""
    source: str = ""
    publisher: str = ""
    licence: str = ""
    date_maj: str = ""
    coord_source: str = ""
    member_ids: tuple[str, ...] = ()

    @property
    def departement(self) -> str:
        return self.code_insee[:2] if self.code_insee else self.code_postal[:2]

    @property
    def approximate_position(self) -> bool:
        """Placed at its commune's centre: no distance should be claimed."""
        return self.coord_source == FROM_COMMUNE or self.latitude is None

    @property
    def itinerant(self) -> bool:
        return self.itinerance == "Itinérant"


def split_values(raw: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (raw or "").split("|") if v.strip())


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default ``DATABASE_URL``), once its schema is checked."""
    url = url or database_url()
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        created = _engines[url]
        if url not in _ready:
            check_schema(created)
            _ready.add(url)
    return created


# ---------------------------------------------------------------- writing


def upsert(db: Engine, rows: list[dict[str, Any]], origin: str) -> tuple[int, int]:
    """Insert or update source ``rows`` (validated schema dicts): ``(inserted, updated)``."""
    inserted = updated = 0
    now = _now()
    with db.begin() as connection:
        existing = set(connection.execute(select(sources_table.c.id)).scalars())
        for row in rows:
            values = {name: row.get(name) for name in COLUMNS}
            values.update(imported_from=origin, imported_at=now)
            if values["id"] in existing:
                connection.execute(
                    update(sources_table).where(sources_table.c.id == values["id"]).values(values)
                )
                updated += 1
            else:
                connection.execute(insert(sources_table).values(values))
                existing.add(values["id"])
                inserted += 1
    return inserted, updated


def replace_rejects(db: Engine, file: str, rejects: list[tuple[str, str]]) -> None:
    """The rejected rows of the latest import of ``file``: ``(location, reason)``."""
    now = _now()
    with db.begin() as connection:
        connection.execute(delete(rejects_table).where(rejects_table.c.file == file))
        for location, reason in rejects:
            connection.execute(
                insert(rejects_table).values(
                    file=file, location=location, reason=reason, imported_at=now
                )
            )


def source_rows(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(sources_table))]


def replace_places(db: Engine, merged: list[dict[str, Any]]) -> None:
    """Rebuild ``digital_places`` from merged rows (one transaction)."""
    now = _now()
    with db.begin() as connection:
        _replace_places(connection, merged, now)


def _replace_places(connection: Connection, merged: list[dict[str, Any]], now: datetime) -> None:
    connection.execute(delete(places_table))
    for row in merged:
        values = {name: row.get(name) for name in COLUMNS}
        values.update(
            member_ids=row["member_ids"],
            member_count=row["member_count"],
            merge_reasons=row.get("merge_reasons"),
            built_at=now,
        )
        connection.execute(insert(places_table).values(values))


# ---------------------------------------------------------------- reading


def count(db: Engine) -> int:
    """Number of places the assistant answers from (after merging)."""
    with db.connect() as connection:
        return connection.execute(select(func.count()).select_from(places_table)).scalar_one()


def source_count(db: Engine) -> int:
    with db.connect() as connection:
        return connection.execute(select(func.count()).select_from(sources_table)).scalar_one()


def all_places(db: Engine) -> list[Place]:
    """Every place, in id order; read again only when the table was rebuilt since the
    last read (a rebuild, the only way it changes, stamps every row's ``built_at``: the
    number of rows and the latest stamp tell). Reading and building the places at every
    request was a third of the action server's CPU under ``bench.scale``'s load."""
    with db.connect() as connection:
        version = tuple(connection.execute(_version_query).one())
        kept = _read.get(db)
        if kept is not None and kept[0] == version:
            return list(kept[1])
        rows = connection.execute(select(places_table).order_by(places_table.c.id))
        places = [place_from_row(dict(r._mapping)) for r in rows]
    # Rows rebuilt between the two queries are kept with the older version: read again
    # at the next call, never the other way round.
    _read[db] = (version, places)
    return list(places)


def rejects(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as connection:
        rows = connection.execute(
            select(rejects_table).order_by(rejects_table.c.file, rejects_table.c.number)
        )
        return [dict(r._mapping) for r in rows]


_version_query = select(func.count(), func.max(places_table.c.built_at)).select_from(places_table)
# The places last read, by engine: (the table's version then, the places).
_read: WeakKeyDictionary[Engine, tuple[tuple[Any, ...], list[Place]]] = WeakKeyDictionary()


def place_from_row(r: dict[str, Any]) -> Place:
    return Place(
        id=r["id"],
        nom=r["nom"],
        adresse=r["adresse"] or "",
        complement_adresse=r["complement_adresse"] or "",
        code_postal=r["code_postal"] or "",
        commune=r["commune"] or "",
        code_insee=r["code_insee"] or "",
        latitude=r["latitude"],
        longitude=r["longitude"],
        telephone=r["telephone"] or "",
        horaires=r["horaires"] or "",
        services=split_values(r["services"]),
        typologie=split_values(r["typologie"]),
        prise_en_charge_specifique=split_values(r["prise_en_charge_specifique"]),
        fiche_acces_libre=r["fiche_acces_libre"] or "",
        prise_rdv=r["prise_rdv"] or "",
        horaires_texte=r["horaires_texte"] or "",
        labels=split_values(r["dispositif_programmes_nationaux"]),
        frais_a_charge=split_values(r["frais_a_charge"]),
        modalites_accompagnement=split_values(r["modalites_accompagnement"]),
        courriels=split_values(r["courriels"]),
        site_web=r["site_web"] or "",
        itinerance=r["itinerance"] or "",
        source=r["source"] or "",
        publisher=r["publisher"] or "",
        licence=r["licence"] or "",
        date_maj=r["date_maj"] or "",
        coord_source=r["coord_source"] or "",
        member_ids=split_values(r.get("member_ids")) or (r["id"],),
    )


def places_with_seed(url: str | None = None, seed: Path | None = None) -> list[Place]:
    """Every place; an empty installation is first filled from the shipped data."""
    db = engine(url)
    with _seed_lock:
        if source_count(db) == 0:
            folder = seed or data_dir() / PLACES_FOLDER
            if folder.is_dir():
                from actions.place_import import import_path  # the importer uses this module

                try:
                    report = import_path(folder, db)
                except IntegrityError:  # another replica seeded at the same time
                    logger.info("places table seeded concurrently; using its content")
                else:
                    logger.info("empty places table filled from %s: %s", folder, report.summary())
    return all_places(db)
