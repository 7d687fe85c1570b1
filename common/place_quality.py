"""Data quality of the digital-help places: the lists a council's data editor works from.

Read with SQLAlchemy Core from the tables the importer writes (``actions.place_store``):
``digital_places`` (merged places), ``digital_place_sources`` (rows as imported) and
``digital_place_rejects``. It lives in ``common`` because two processes use it without
importing each other: the command ``python -m actions.place_quality`` (action server
side) and the admin page ``/console/admin/places-quality`` (gateway side, which must not
import ``actions``). Reading the database rather than a report file keeps the page
current after every import, whichever process or machine ran it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import DateTime, Integer, column, func, inspect, select, table
from sqlalchemy.engine import Engine

DEFAULT_MONTHS = 24
_FIELDS = (
    "id", "nom", "commune", "code_postal", "telephone", "horaires", "horaires_texte",
    "itinerance", "date_maj", "publisher", "coord_source", "member_ids", "member_count",
    "merge_reasons",
)  # fmt: skip
PLACES = table(
    "digital_places",
    *(column(name, Integer) if name == "member_count" else column(name) for name in _FIELDS),
)
SOURCES = table(
    "digital_place_sources", column("id"), column("imported_from"),
    column("imported_at", DateTime),
)  # fmt: skip
REJECTS = table(
    "digital_place_rejects", column("number", Integer), column("file"), column("location"),
    column("reason"), column("imported_at", DateTime),
)  # fmt: skip


@dataclass(frozen=True)
class Report:
    """Every list of the quality page; places are dicts of ``_FIELDS``."""

    months: int
    cutoff: str
    imported: bool
    places: int = 0
    source_rows: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    without_hours: list[dict[str, Any]] = field(default_factory=list)
    hours_as_text: list[dict[str, Any]] = field(default_factory=list)
    without_phone: list[dict[str, Any]] = field(default_factory=list)
    older: list[dict[str, Any]] = field(default_factory=list)
    placed_at_commune: list[dict[str, Any]] = field(default_factory=list)
    merged: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the 28th at most in short months)."""
    total = day.year * 12 + day.month - 1 - months
    return date(total // 12, total % 12 + 1, min(day.day, 28))


def _merged(place: dict[str, Any]) -> dict[str, Any]:
    reasons = [r for r in (place["merge_reasons"] or "").split("|") if r]
    return {**place, "members": (place["member_ids"] or "").split("|"), "reasons": reasons}


def build(db: Engine, months: int = DEFAULT_MONTHS, today: date | None = None) -> Report:
    """The quality report of the places now in the database."""
    cutoff = months_before(today or date.today(), months).isoformat()
    names = set(inspect(db).get_table_names())
    if not {"digital_places", "digital_place_sources", "digital_place_rejects"} <= names:
        return Report(months=months, cutoff=cutoff, imported=False)
    with db.connect() as connection:
        places = [
            dict(row._mapping)
            for row in connection.execute(select(PLACES).order_by(PLACES.c.commune, PLACES.c.nom))
        ]
        files = [
            {"file": file, "rows": rows, "imported_at": when}
            for file, rows, when in connection.execute(
                select(
                    SOURCES.c.imported_from,
                    func.count(),
                    func.max(SOURCES.c.imported_at),
                )
                .group_by(SOURCES.c.imported_from)
                .order_by(SOURCES.c.imported_from)
            )
        ]
        rejected = [
            dict(row._mapping)
            for row in connection.execute(
                select(REJECTS).order_by(REJECTS.c.file, REJECTS.c.number)
            )
        ]
    rejects_by_file: dict[str, int] = {}
    for reject in rejected:
        rejects_by_file[reject["file"]] = rejects_by_file.get(reject["file"], 0) + 1
    for entry in files:
        entry["rejected"] = rejects_by_file.pop(entry["file"], 0)
    files += [
        {"file": f, "rows": 0, "imported_at": None, "rejected": n}
        for f, n in rejects_by_file.items()
    ]
    fixed = [p for p in places if p["itinerance"] != "Itinérant"]
    return Report(
        months=months,
        cutoff=cutoff,
        imported=True,
        places=len(places),
        source_rows=sum(f["rows"] for f in files),
        files=files,
        without_hours=[p for p in fixed if not p["horaires"] and not p["horaires_texte"]],
        hours_as_text=[p for p in fixed if not p["horaires"] and p["horaires_texte"]],
        without_phone=[p for p in places if not p["telephone"]],
        older=sorted(
            (p for p in places if (p["date_maj"] or "") < cutoff), key=lambda p: p["date_maj"] or ""
        ),
        placed_at_commune=[p for p in places if p["coord_source"] == "commune"],
        merged=[_merged(p) for p in places if (p["member_count"] or 1) > 1],
        rejected=rejected,
    )
