"""The dashboard, section by section: a registry of named builders.

    Section(id, title, build)          build(connection, filters) -> list[Table]
    SECTIONS                            the dashboard's sections, in page order
    register(section)                   one more section (e.g. mobility, below)

Every table is drawn as a chart (``chart``: "bar", "line" or "" for a table only) and
given as a data table next to it (RGAA); the CSV export is the same tables. A section
reads the pre-aggregated tables (fast at any volume) or small tables (inbox, bookings).

Adding a section is one entry, e.g. the mobility indicators (``common/mobility_indicators.py``)::

    register(Section("mobilite", "Mobilité des agents", dicts_section(
        "Mobilité par mois et par site", mobility_indicators,
        {"month": "Mois", "site_name": "Site", "trips_avoided": "Trajets évités",
         "km_saved": "km économisés", "co2_saved_kg": "CO₂ évité (kg)"})))
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    column,
    func,
    inspect,
    or_,
    select,
    table,
)
from sqlalchemy.engine import Connection

from common.mobility_indicators import WORKDAY_HOURS, mobility_indicators, workdays
from integrations.admin.inbox import InboxRow, Status
from integrations.admin.redact import redact
from integrations.indicators.facts import topic_label, topics
from integrations.indicators.models import COUNTS, DailyRow, DurationRow, MonthlyRow, PlaceRow
from integrations.indicators.territory import DEPARTEMENT_NAMES, territories

Step = Literal["jour", "semaine", "mois"]
CHANNEL_LABELS = {"web": "Site web", "telegram": "Telegram", "matrix": "Matrix"}
UNKNOWN = "Non précisé"


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    canal: str = ""
    epci: str = ""
    theme: str = ""
    step: Step = "jour"

    def where(self, model: Any) -> list:
        """The period and the filters, on a table with a ``jour`` column."""
        return [model.jour >= self.start, model.jour <= self.end, *self.narrowing(model)]

    def narrowing(self, model: Any) -> list:
        """The filters (channel, EPCI, topic) on any aggregate table."""
        clauses = []
        if self.canal:
            clauses.append(model.canal == self.canal)
        if self.epci:
            clauses.append(model.code_epci == self.epci)
        if self.theme:  # a topic and its procedures (ask_procedure, ask_procedure:apa…)
            clauses.append(or_(model.theme == self.theme, model.theme.startswith(f"{self.theme}:")))
        return clauses


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    columns: Sequence[str]  # the first one names the rows
    rows: Sequence[Sequence[Any]]
    chart: Literal["bar", "line", ""] = "bar"
    note: str = ""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    build: Callable[[Connection, Filters], list[Table]]
    note: str = ""


SECTIONS: list[Section] = []


def register(section: Section) -> Section:
    if any(s.id == section.id for s in SECTIONS):
        raise ValueError(f"section {section.id!r} already registered")
    SECTIONS.append(section)
    return section


def dicts_section(
    caption: str,
    source: Callable[[Connection, date, date], list[dict]],
    columns: dict[str, str],
    chart: Literal["bar", "line", ""] = "bar",
) -> Callable[[Connection, Filters], list[Table]]:
    """A section builder from a function returning one dict per row (key -> label)."""

    def build(connection: Connection, filters: Filters) -> list[Table]:
        rows = source(connection, filters.start, filters.end)
        return [
            Table(
                _slug(caption),
                caption,
                list(columns.values()),
                [[row.get(k) for k in columns] for row in rows],
                chart,
            )
        ]

    return build


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40]


def period_parts(
    start: date, end: date
) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """The days of [start, end] outside whole months, and the whole months (first days)."""
    first_month = start if start.day == 1 else _next_month(start)
    after_end = end + timedelta(days=1)
    last_month_end = after_end.replace(day=1)  # the first day after the last whole month
    if first_month >= last_month_end:
        return [(start, end)], None
    days = []
    if start < first_month:
        days.append((start, first_month - timedelta(days=1)))
    if last_month_end <= end:
        days.append((last_month_end, end))
    last_month = (last_month_end - timedelta(days=1)).replace(day=1)
    return days, (first_month, last_month)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def summed(
    connection: Connection,
    filters: Filters,
    dims: Sequence[str] = (),
    counts: Sequence[str] = COUNTS,
    by_day: bool = False,
) -> dict[tuple, list[int]]:
    """``counts`` summed per ``dims`` over the period: whole months from
    ``indicator_monthly``, the other days from ``indicator_daily``. With ``by_day`` the
    first key is the day (or the month's first day, for whole months)."""
    days, months = period_parts(filters.start, filters.end)
    parts: list[tuple[Any, Any, list]] = [
        (DailyRow, DailyRow.jour, [DailyRow.jour >= a, DailyRow.jour <= b]) for a, b in days
    ]
    if months:
        parts.append(
            (
                MonthlyRow,
                MonthlyRow.mois,
                [MonthlyRow.mois >= months[0], MonthlyRow.mois <= months[1]],
            )
        )
    found: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(counts))
    for model, period, clauses in parts:
        keys = [period] if by_day else []
        keys += [getattr(model, d) for d in dims]
        statement = select(*keys, *(func.sum(getattr(model, c)) for c in counts)).where(
            *clauses, *filters.narrowing(model)
        )
        if keys:
            statement = statement.group_by(*keys)
        for row in connection.execute(statement):
            total = found[tuple(row[: len(keys)])]
            for i, value in enumerate(row[len(keys) :]):
                total[i] += int(value or 0)
    return found


def totals(connection: Connection, filters: Filters) -> dict[str, int]:
    values = summed(connection, filters).get((), [0] * len(COUNTS))
    return dict(zip(COUNTS, values, strict=True))


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _bucket(day: date, step: Step) -> str:
    if step == "mois":
        return f"{day:%Y-%m}"
    if step == "semaine":
        year, week, _ = day.isocalendar()
        return f"{year}-S{week:02d}"
    return day.isoformat()


# --- the sections ----------------------------------------------------------------------


def volumes(connection: Connection, filters: Filters) -> list[Table]:
    pair = ("conversations", "messages")
    if filters.step == "mois":  # whole months come from the monthly table
        per_day = summed(connection, filters, counts=pair, by_day=True)
    else:
        per_day = {
            (day,): [int(n), int(m)]
            for day, n, m in connection.execute(
                select(DailyRow.jour, func.sum(DailyRow.conversations), func.sum(DailyRow.messages))
                .where(*filters.where(DailyRow))
                .group_by(DailyRow.jour)
            )
        }
    buckets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (day,), (conversations, messages) in sorted(per_day.items()):
        bucket = buckets[_bucket(day, filters.step)]
        bucket[0] += conversations
        bucket[1] += messages
    by_channel = sorted(
        (channel, n, m)
        for (channel,), (n, m) in summed(connection, filters, ["canal"], pair).items()
    )
    return [
        Table(
            "volumes-periode",
            f"Conversations et messages par {filters.step}",
            ["Période", "Conversations", "Messages"],
            [[k, *v] for k, v in buckets.items()],
            "line",
        ),
        Table(
            "volumes-canal",
            "Conversations et messages par canal",
            ["Canal", "Conversations", "Messages"],
            [[CHANNEL_LABELS.get(c, c), n, m] for c, n, m in by_channel],
        ),
    ]


def outcomes(connection: Connection, filters: Filters) -> list[Table]:
    t = totals(connection, filters)
    n = t["conversations"]
    under_way = n - t["resolved"] - t["abandoned"] - t["mediator"] - t["tickets"]
    rows = [
        ["Résolues par l'assistant", t["resolved"], _rate(t["resolved"], n)],
        ["Transmises à un médiateur", t["mediator"], _rate(t["mediator"], n)],
        ["Laissées en demande de rappel", t["tickets"], _rate(t["tickets"], n)],
        ["Abandonnées en attente", t["abandoned"], _rate(t["abandoned"], n)],
        ["Autres (en cours, avis négatif…)", max(under_way, 0), _rate(max(under_way, 0), n)],
    ]
    return [
        Table(
            "issues",
            f"Issue des {n} conversations",
            ["Issue", "Conversations", "Part (%)"],
            rows,
            note="Définitions : voir la documentation (résolue = sans médiateur, sans "
            "demande de rappel et sans avis négatif).",
        )
    ]


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def durations(connection: Connection, filters: Filters) -> list[Table]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds in connection.execute(
        select(DurationRow.kind, DurationRow.seconds).where(*filters.where(DurationRow))
    ):
        by_kind[kind].append(seconds)

    def minutes(value: float | None) -> float | None:
        return None if value is None else round(value / 60, 1)

    rows = [
        [
            label,
            len(by_kind[kind]),
            minutes(_quantile(by_kind[kind], 0.5)),
            minutes(_quantile(by_kind[kind], 0.9)),
        ]
        for kind, label in (
            ("attente", "Attente d'un médiateur"),
            ("ticket", "Clôture d'un ticket"),
        )
    ]
    return [
        Table(
            "delais",
            "Délais (minutes)",
            ["Délai", "Nombre", "Médiane (min)", "90e centile (min)"],
            rows,
        )
    ]


def quality(connection: Connection, filters: Filters) -> list[Table]:
    t = totals(connection, filters)
    answered = t["survey_yes"] + t["survey_no"]
    return [
        Table(
            "qualite",
            "Compréhension et satisfaction (%)",
            ["Indicateur", "Valeur (%)", "Sur"],
            [
                [
                    "Messages non compris (repli)",
                    _rate(t["fallbacks"], t["user_messages"]),
                    t["user_messages"],
                ],
                [
                    "Conversations avec un avis négatif",
                    _rate(t["negative"], t["conversations"]),
                    t["conversations"],
                ],
                [
                    "Réponses jugées utiles (questionnaire)",
                    _rate(t["survey_yes"], answered),
                    answered,
                ],
            ],
        )
    ]


def asked_topics(connection: Connection, filters: Filters) -> list[Table]:
    labels = topics()
    rows = sorted(
        (
            (theme, n)
            for (theme,), (n,) in summed(connection, filters, ["theme"], ["conversations"]).items()
        ),
        key=lambda item: (-item[1], item[0]),
    )
    return [
        Table(
            "themes",
            "Conversations par sujet",
            ["Sujet", "Conversations"],
            [[topic_label(theme, labels) if theme else UNKNOWN, int(n)] for theme, n in rows],
        )
    ]


def by_territory(connection: Connection, filters: Filters) -> list[Table]:
    names = territories().epcis()
    found = summed(
        connection,
        filters,
        ["code_departement", "code_epci"],
        ["conversations", "resolved", "mediator"],
    )
    rows = sorted(
        ((dep, epci, *counts) for (dep, epci), counts in found.items()),
        key=lambda row: (-row[2], row[0], row[1]),
    )
    return [
        Table(
            "territoires",
            "Conversations par EPCI",
            [
                "EPCI",
                "Département",
                "Conversations",
                "Résolues par l'assistant",
                "Transmises à un médiateur",
            ],
            [
                [
                    names.get(epci, UNKNOWN) if epci else UNKNOWN,
                    DEPARTEMENT_NAMES.get(dep, dep or UNKNOWN),
                    int(n),
                    int(r),
                    int(m),
                ]
                for dep, epci, n, r, m in rows
            ],
        )
    ]


_DIGITAL_PLACES = table("digital_places", column("id", String), column("nom", String))


def suggested_places(connection: Connection, filters: Filters) -> list[Table]:
    rows = connection.execute(
        select(PlaceRow.place_id, func.sum(PlaceRow.suggestions))
        .where(*filters.where(PlaceRow))
        .group_by(PlaceRow.place_id)
        .order_by(func.sum(PlaceRow.suggestions).desc(), PlaceRow.place_id)
        .limit(20)
    ).all()
    names: dict[str, str] = {}
    if rows and inspect(connection).has_table("digital_places"):
        names = dict(
            connection.execute(
                select(_DIGITAL_PLACES.c.id, _DIGITAL_PLACES.c.nom).where(
                    _DIGITAL_PLACES.c.id.in_([r[0] for r in rows])
                )
            ).all()
        )
    return [
        Table(
            "lieux",
            "Lieux d'aide au numérique les plus proposés",
            ["Lieu", "Fois proposé"],
            [[names.get(pid) or pid, int(n)] for pid, n in rows],
        )
    ]


def unanswered(connection: Connection, filters: Filters) -> list[Table]:
    asked = InboxRow.unsure_count + InboxRow.user_down_count
    rows = connection.execute(
        select(InboxRow.text, asked)
        .where(InboxRow.status == Status.OPEN.value, asked > 0)
        .order_by(asked.desc(), InboxRow.id)
        .limit(10)
    ).all()
    return [
        Table(
            "sans-reponse",
            "Questions sans bonne réponse les plus fréquentes",
            ["Question (anonymisée)", "Fois posée"],
            [[redact(text).text, int(n)] for text, n in rows],
            note="Boîte de réception de l'administration, toutes périodes et tous "
            "territoires ; données personnelles masquées.",
        )
    ]


_SITES = table("booking_sites", column("id", Integer), column("label", String), column("active"))
_ROOMS = table("booking_rooms", column("id", String), column("site_id", Integer), column("active"))
_BOOKINGS = table(
    "bookings",
    column("room_id", String),
    column("start_utc", DateTime),
    column("end_utc", DateTime),
    column("status", String),
)


def bookings(connection: Connection, filters: Filters) -> list[Table]:
    if not inspect(connection).has_table("bookings"):
        return []
    start = datetime.combine(filters.start, time())
    end = datetime.combine(filters.end + timedelta(days=1), time())
    rooms = dict(
        connection.execute(
            select(_SITES.c.label, func.count(_ROOMS.c.id))
            .join(_ROOMS, _ROOMS.c.site_id == _SITES.c.id)
            .where(_ROOMS.c.active.is_(True))
            .group_by(_SITES.c.label)
        ).all()
    )
    booked: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for label, begin, finish in connection.execute(
        select(_SITES.c.label, _BOOKINGS.c.start_utc, _BOOKINGS.c.end_utc)
        .join(_ROOMS, _ROOMS.c.id == _BOOKINGS.c.room_id)
        .join(_SITES, _SITES.c.id == _ROOMS.c.site_id)
        .where(
            _BOOKINGS.c.status == "confirmed",
            _BOOKINGS.c.start_utc >= start,
            _BOOKINGS.c.start_utc < end,
        )
    ):
        booked[label][0] += 1
        booked[label][1] += (finish - begin).total_seconds() / 3600
    open_hours = workdays(filters.start, filters.end) * WORKDAY_HOURS
    rows = [
        [
            label,
            int(booked[label][0]),
            round(booked[label][1], 1),
            _rate(booked[label][1], count * open_hours) if open_hours else None,
        ]
        for label, count in sorted(rooms.items())
    ]
    return [
        Table(
            "reservations",
            "Réservations des salles de visio par site",
            ["Site", "Réservations", "Heures réservées", "Taux d'occupation (%)"],
            rows,
            note=f"Occupation : heures réservées ÷ heures ouvrées (jours ouvrés × "
            f"{WORKDAY_HOURS} h × nombre de salles). Sans filtre de canal ni de territoire.",
        )
    ]


for _section in (
    Section("volumes", "Fréquentation", volumes),
    Section("issues", "Issue des conversations", outcomes),
    Section("delais", "Délais de prise en charge", durations),
    Section("qualite", "Qualité des réponses", quality),
    Section("themes", "Sujets demandés", asked_topics),
    Section("territoires", "Territoires", by_territory),
    Section("lieux", "Lieux proposés", suggested_places),
    Section("sans-reponse", "Sujets sans réponse", unanswered),
    Section("reservations", "Salles de visioconférence", bookings),
    Section(
        "mobilite",
        "Mobilité des agents",
        dicts_section(
            "Trajets évités et véhicules de service, par mois et par site",
            mobility_indicators,
            {
                "month": "Mois",
                "site_name": "Site",
                "trips_avoided": "Trajets évités (visio)",
                "km_saved": "km évités",
                "co2_saved_kg": "CO₂ évité (kg)",
                "vehicle_occupancy": "Occupation des véhicules (0 à 1)",
            },
        ),
    ),
):
    register(_section)


def build_all(connection: Connection, filters: Filters) -> list[tuple[Section, list[Table]]]:
    return [(section, section.build(connection, filters)) for section in SECTIONS]
