"""Incremental refresh of the pre-aggregated indicators.

    refresh(engine, now) -> days recomputed

The first run counts every day that has conversations. Later runs recompute only the
days (Europe/Paris) of the conversations where something happened since the last run
(a message, a handoff: ``conversations.updated_at``; a ticket left or closed; a
thumbs-down; a survey answer), looking back ``SETTLE_AFTER`` further so that a
conversation settling between two runs is counted once settled. A day is recomputed
whole (its rows are replaced), every day of a refresh in one transaction.

Days whose conversations retention has already deleted are never dirty again, so
their counts stay (anonymous statistics outlive the conversations).

    ┌ conversations, messages, handoffs, tickets, inbox hits, survey ┐  + Rasa's events
    └──────────────► facts.period_facts (one Facts per conversation) ──┘
                         │ grouped by commune × channel × topic
                         ▼
        indicator_daily · indicator_durations · indicator_places
                         │ per month, per EPCI
                         ▼
                  indicator_monthly
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Date, delete, func, insert, literal, or_, select
from sqlalchemy.engine import Connection, Engine

from common.db import as_utc
from integrations.admin.inbox import InboxHit, Source, StateRow
from integrations.indicators.facts import (
    SETTLE_AFTER,
    Facts,
    local_day,
    negative_conversations,
    period_facts,
)
from integrations.indicators.models import (
    COUNTS,
    DailyRow,
    DurationRow,
    MonthlyRow,
    PlaceRow,
    SurveyAnswer,
)
from integrations.messages import utcnow
from integrations.store import Conversation, Message, Ticket

log = logging.getLogger(__name__)

WATERMARK = "indicators.refreshed_at"
# Consecutive dirty days are recomputed together, a month at most at a time.
RUN_DAYS = 31


def refresh(engine: Engine, now: datetime | None = None) -> list[date]:
    """Recompute the days that changed since the last refresh; the days recomputed."""
    now = as_utc(now or utcnow())
    with engine.connect() as connection:
        watermark = _watermark(connection)
        days = sorted(_dirty_days(connection, watermark))
        negative = negative_conversations(connection) if days else set()
    with engine.begin() as connection:
        for first, last in runs(days):
            _recompute(connection, first, last, now, negative)
        for month in sorted({day.replace(day=1) for day in days}):
            _roll_up(connection, month)
        _set_watermark(connection, now)
    if days:
        log.info("indicators: %d day(s) recomputed (%s … %s)", len(days), days[0], days[-1])
    return days


def _dirty_days(connection: Connection, watermark: datetime | None) -> set[date]:
    if watermark is None:
        first, last = connection.execute(
            select(func.min(Conversation.created_at), func.max(Conversation.created_at))
        ).one()
        if first is None:
            return set()
        start, end = local_day(first), local_day(last)
        return {start + timedelta(days=n) for n in range((end - start).days + 1)}
    since = watermark - SETTLE_AFTER
    created = Conversation.created_at
    queries = [
        select(created).where(Conversation.updated_at >= since),
        select(created)
        .join(Ticket, Ticket.conversation_id == Conversation.id)
        .where(or_(Ticket.created_at >= since, Ticket.done_at >= since)),
        select(created)
        .join(SurveyAnswer, SurveyAnswer.conversation_id == Conversation.id)
        .where(SurveyAnswer.created_at >= since),
    ]
    moments = [m for query in queries for m in connection.execute(query).scalars()]
    refs = connection.execute(
        select(InboxHit.ref).where(InboxHit.source == Source.USER_DOWN.value, InboxHit.at >= since)
    ).scalars()
    ids = [int(r.split(":", 1)[1]) for r in refs if r.startswith("message:")]
    for i in range(0, len(ids), 500):
        moments += connection.execute(
            select(created)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.id.in_(ids[i : i + 500]))
        ).scalars()
    return {local_day(m) for m in moments}


def runs(days: list[date], longest: int = RUN_DAYS) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days (first, last), none longer than ``longest``."""
    found: list[tuple[date, date]] = []
    for day in days:
        if (
            found
            and day - found[-1][1] == timedelta(days=1)
            and (day - found[-1][0]).days < longest
        ):
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def _recompute(
    connection: Connection, first: date, last: date, now: datetime, negative: set[int]
) -> None:
    for model in (DailyRow, DurationRow, PlaceRow):
        connection.execute(delete(model).where(model.jour >= first, model.jour <= last))
    daily: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    places: dict[tuple, int] = defaultdict(int)
    durations: list[dict] = []
    for f in period_facts(connection, first, last, now, negative):
        dims = _dimensions(f)
        counts = daily[tuple(dims.values())]
        for name, value in _counts(f).items():
            counts[name] += value
        durations += [{**dims, "kind": "attente", "seconds": s} for s in f.waits]
        durations += [{**dims, "kind": "ticket", "seconds": s} for s in f.ticket_closings]
        for place, times in f.places.items():
            places[(*dims.values(), place)] += times
    names = ("jour", "code_commune", "canal", "theme", "code_epci", "code_departement")
    _insert(
        connection, DailyRow, [{**dict(zip(names, k, strict=True)), **v} for k, v in daily.items()]
    )
    _insert(connection, DurationRow, durations)
    _insert(
        connection,
        PlaceRow,
        [
            {**dict(zip(names, k[:-1], strict=True)), "place_id": k[-1], "suggestions": n}
            for k, n in places.items()
        ],
    )


def _roll_up(connection: Connection, month: date) -> None:
    """``indicator_monthly``'s rows of ``month``, from the days of ``indicator_daily``."""
    following = (month + timedelta(days=32)).replace(day=1)
    connection.execute(delete(MonthlyRow).where(MonthlyRow.mois == month))
    dims = ("code_epci", "code_departement", "canal", "theme")
    connection.execute(
        insert(MonthlyRow).from_select(
            ["mois", *dims, *COUNTS],
            select(
                literal(month, Date()).label("mois"),
                *(getattr(DailyRow, d) for d in dims),
                *(func.sum(getattr(DailyRow, c)).label(c) for c in COUNTS),
            )
            .where(DailyRow.jour >= month, DailyRow.jour < following)
            .group_by(*(getattr(DailyRow, d) for d in dims)),
        )
    )


def _dimensions(f: Facts) -> dict[str, object]:
    commune = f.commune
    return {
        "jour": f.day,
        "code_commune": commune.code if commune else "",
        "canal": f.channel,
        "theme": f.theme,
        "code_epci": commune.code_epci if commune else "",
        "code_departement": commune.code_departement if commune else "",
    }


def _counts(f: Facts) -> dict[str, int]:
    return {
        "conversations": 1,
        "messages": f.messages,
        "user_messages": f.user_messages,
        "resolved": int(f.resolved),
        "mediator": int(f.mediator),
        "tickets": int(f.ticket),
        "abandoned": int(f.abandoned),
        "fallbacks": f.fallbacks,
        "negative": int(f.negative),
        "survey_yes": f.survey_yes,
        "survey_no": f.survey_no,
    }


def _insert(connection: Connection, model: type, rows: Iterable[dict]) -> None:
    batch = list(rows)
    if batch:
        connection.execute(insert(model), batch)


def _watermark(connection: Connection) -> datetime | None:
    value = connection.execute(
        select(StateRow.value).where(StateRow.name == WATERMARK)
    ).scalar_one_or_none()
    return as_utc(datetime.fromisoformat(value)) if value else None


def _set_watermark(connection: Connection, now: datetime) -> None:
    updated = connection.execute(
        StateRow.__table__.update().where(StateRow.name == WATERMARK).values(value=now.isoformat())
    ).rowcount
    if not updated:
        connection.execute(insert(StateRow).values(name=WATERMARK, value=now.isoformat()))
