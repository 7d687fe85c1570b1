"""Digital-help places in the database (SQLAlchemy), keyed by the schema's ``id``.

Re-importing a place with the same ``id`` updates it instead of adding a
duplicate. The table is created on first use; an empty table is filled from the
shipped sample (``DATA_DIR/places/``) so a fresh installation answers at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock
from typing import Any

from sqlalchemy import Column, DateTime, Float, String, Text, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from common.config import data_dir, database_url
from common.db import Base, make_engine, make_session_factory, session_scope

logger = logging.getLogger(__name__)

PLACES_FOLDER = "places"
_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = Lock()
_seed_lock = Lock()


class PlaceRecord(Base):
    """One place of the national schema (fields the assistant uses, plus provenance)."""

    __tablename__ = "digital_places"

    id = Column(String(200), primary_key=True)
    pivot = Column(String(14), nullable=False)
    nom = Column(String(300), nullable=False)
    commune = Column(String(200), nullable=False)
    code_postal = Column(String(5), nullable=False, index=True)
    code_insee = Column(String(5), index=True)
    adresse = Column(String(300), nullable=False)
    complement_adresse = Column(String(300))
    latitude = Column(Float)
    longitude = Column(Float)
    typologie = Column(String(300))
    telephone = Column(String(30))
    courriels = Column(Text)
    site_web = Column(Text)
    horaires = Column(Text)
    presentation_resume = Column(Text)
    services = Column(Text)
    publics_specifiquement_adresses = Column(Text)
    prise_en_charge_specifique = Column(Text)
    frais_a_charge = Column(Text)
    dispositif_programmes_nationaux = Column(Text)
    modalites_acces = Column(Text)
    modalites_accompagnement = Column(Text)
    fiche_acces_libre = Column(Text)
    prise_rdv = Column(Text)
    source = Column(Text)
    date_maj = Column(String(10), nullable=False)
    imported_from = Column(Text)
    imported_at = Column(DateTime, nullable=False)


COLUMNS = tuple(c.name for c in PlaceRecord.__table__.columns if c.name not in {"imported_at"})


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

    @property
    def departement(self) -> str:
        return self.code_insee[:2] if self.code_insee else self.code_postal[:2]


def split_values(raw: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (raw or "").split("|") if v.strip())


def engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default ``DATABASE_URL``), with the places table created."""
    url = url or database_url()
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        created = _engines[url]
        if url not in _ready:
            Base.metadata.create_all(created, tables=[PlaceRecord.__table__])
            _ready.add(url)
    return created


def upsert(db: Engine, rows: list[dict[str, Any]], origin: str) -> tuple[int, int]:
    """Insert or update ``rows`` (validated schema dicts); returns ``(inserted, updated)``."""
    inserted = updated = 0
    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(make_session_factory(db)) as session:
        for row in rows:
            values = {name: row.get(name) for name in COLUMNS if name != "imported_from"}
            record = session.get(PlaceRecord, values["id"])
            if record is None:
                session.add(PlaceRecord(**values, imported_from=origin, imported_at=now))
                inserted += 1
            else:
                for name, value in values.items():
                    setattr(record, name, value)
                record.imported_from, record.imported_at = origin, now
                updated += 1
    return inserted, updated


def count(db: Engine) -> int:
    with session_scope(make_session_factory(db)) as session:
        return session.execute(select(func.count()).select_from(PlaceRecord)).scalar_one()


def all_places(db: Engine) -> list[Place]:
    with session_scope(make_session_factory(db)) as session:
        records = session.execute(select(PlaceRecord)).scalars().all()
        return [_place(r) for r in records]


def _place(r: PlaceRecord) -> Place:
    return Place(
        id=r.id,
        nom=r.nom,
        adresse=r.adresse,
        complement_adresse=r.complement_adresse or "",
        code_postal=r.code_postal,
        commune=r.commune,
        code_insee=r.code_insee or "",
        latitude=r.latitude,
        longitude=r.longitude,
        telephone=r.telephone or "",
        horaires=r.horaires or "",
        services=split_values(r.services),
        typologie=split_values(r.typologie),
        prise_en_charge_specifique=split_values(r.prise_en_charge_specifique),
        fiche_acces_libre=r.fiche_acces_libre or "",
        prise_rdv=r.prise_rdv or "",
    )


def places_with_seed(url: str | None = None, seed: Path | None = None) -> list[Place]:
    """Every stored place; an empty table is first filled from the shipped sample."""
    db = engine(url)
    with _seed_lock:
        if count(db) == 0:
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
