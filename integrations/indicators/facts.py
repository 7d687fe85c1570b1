"""What each conversation achieved, read from what is stored: the definitions.

A conversation is counted on the day (Europe/Paris) it started, in the commune it
named, on its channel, under its topic:

- **commune**: the last value of Rasa's ``commune`` slot in its tracker events (the
  place search sets it), matched to ``data/communes.csv``; none: ``""``;
- **topic** (``theme``): its first user intent listed in ``data/topics.yml``; none: ``""``;
  a procedure asked about (``ask_procedure``, the ``procedure`` slot: "apa", "rsa"…) is
  its own topic, ``ask_procedure:apa`` (see :func:`topic_label`);
- **messages**: every stored message, both directions; **user_messages**: the person's;
- **fallbacks**: the person's messages Rasa parsed as ``nlu_fallback``;
- **transmise au médiateur** (``mediator``): a mediator took it (a handoff with ``taken_at``);
- **ticket**: the person left a message to be called back (a row of ``tickets``);
- **negative**: a thumbs-down on one of the bot's answers, or « non » to the survey;
- **settled**: nothing happened in it for ``SETTLE_AFTER`` (one hour). Only settled
  conversations get one of the two outcomes below; the others are still under way;
- **abandonnée en attente** (``abandoned``): settled, it asked for a mediator, nobody
  took it and no ticket was left (the person cancelled, or stopped waiting);
- **résolue par l'assistant** (``resolved``): settled, at least one message of the
  person, never handed over (no handoff at all, not even a request), no ticket and no
  negative feedback.

Durations: the **mediator wait** of each taken handoff (``taken_at - requested_at``) and
the **time to close** of each closed ticket (``done_at - created_at``), in seconds.
**Places suggested**: every id in Rasa's ``listed_places`` slot, each time it is set.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, String, Text, case, column, func, inspect, select, table
from sqlalchemy.engine import Connection

from common.config import TIMEZONE
from common.content import ContentError, load_yaml
from common.db import as_utc
from common.nlu import FALLBACK_INTENT
from integrations.admin.inbox import InboxHit, Source
from integrations.indicators.models import SurveyAnswer
from integrations.indicators.territory import Commune, territories
from integrations.messages import Author
from integrations.store import Conversation, Handoff, HandoffKind, Message, Ticket

PARIS = ZoneInfo(TIMEZONE)
SETTLE_AFTER = timedelta(hours=1)
COMMUNE_SLOT = "commune"
PROCEDURE_SLOT = "procedure"
PROCEDURE_TOPIC = "ask_procedure"
PLACES_SLOT = "listed_places"
_CHUNK = 500

# Rasa's SQLTrackerStore table, read only.
EVENTS = table(
    "events",
    column("id", Integer),
    column("sender_id", String),
    column("type_name", String),
    column("timestamp", Float),
    column("intent_name", String),
    column("data", Text),
)


@dataclass
class Facts:
    """One conversation's contribution to the indicators (see the module's definitions)."""

    day: date
    channel: str
    commune: Commune | None = None
    theme: str = ""
    messages: int = 0
    user_messages: int = 0
    fallbacks: int = 0
    handoff_requested: bool = False
    mediator: bool = False
    ticket: bool = False
    waiting_untaken: bool = False
    negative: bool = False
    survey_yes: int = 0
    survey_no: int = 0
    settled: bool = False
    waits: list[float] = field(default_factory=list)
    ticket_closings: list[float] = field(default_factory=list)
    places: Counter[str] = field(default_factory=Counter)

    @property
    def abandoned(self) -> bool:
        return self.settled and self.waiting_untaken and not self.mediator and not self.ticket

    @property
    def resolved(self) -> bool:
        return (
            self.settled
            and self.user_messages > 0
            and not self.handoff_requested
            and not self.ticket
            and not self.negative
        )


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` (Europe/Paris) starts and ends."""
    start = datetime.combine(day, time(), PARIS)
    return start.astimezone(ZoneInfo("UTC")), (start + timedelta(days=1)).astimezone(
        ZoneInfo("UTC")
    )


def local_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(PARIS).date()


def topics() -> dict[str, str]:
    """Intent -> French label of the topics (``data/topics.yml``)."""
    try:
        content = load_yaml("topics.yml")
    except ContentError:
        return {}
    return {str(k): str(v) for k, v in (content or {}).items()}


def topic_label(theme: str, labels: dict[str, str]) -> str:
    """The French label of a topic: ``ask_procedure:transport_scolaire`` ->
    « Une démarche administrative : transport scolaire »."""
    topic, _, procedure = theme.partition(":")
    label = labels.get(topic, topic)
    if not procedure:
        return label
    name = procedure.replace("_", " ")
    return f"{label} : {name.upper() if len(name) <= 4 else name}"


def negative_conversations(connection: Connection) -> set[int]:
    """Conversations with a thumbs-down (the inbox's ``user_down`` sightings)."""
    refs = connection.execute(
        select(InboxHit.ref).where(InboxHit.source == Source.USER_DOWN.value)
    ).scalars()
    ids = [int(ref.split(":", 1)[1]) for ref in refs if ref.startswith("message:")]
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(
            connection.execute(
                select(Message.conversation_id).where(Message.id.in_(chunk))
            ).scalars()
        )
    return found


def period_facts(
    connection: Connection, first: date, last: date, now: datetime, negative: set[int]
) -> Iterator[Facts]:
    """The facts of every conversation started from ``first`` to ``last`` (inclusive)."""
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    conversations = connection.execute(
        select(
            Conversation.id,
            Conversation.key,
            Conversation.channel,
            Conversation.created_at,
            Conversation.updated_at,
        )
        .where(Conversation.created_at >= start, Conversation.created_at < end)
        .order_by(Conversation.id)
    ).all()
    if not conversations:
        return
    of_day = (
        select(Conversation.id)
        .where(Conversation.created_at >= start, Conversation.created_at < end)
        .scalar_subquery()
    )
    facts = {
        c.id: Facts(
            day=local_day(c.created_at),
            channel=c.channel,
            negative=c.id in negative,
            settled=now - as_utc(c.updated_at) >= SETTLE_AFTER,
        )
        for c in conversations
    }
    for conversation_id, total, from_user in connection.execute(
        select(
            Message.conversation_id,
            func.count(),
            func.sum(case((Message.author == Author.USER.value, 1), else_=0)),
        )
        .where(Message.conversation_id.in_(of_day))
        .group_by(Message.conversation_id)
    ):
        facts[conversation_id].messages = total
        facts[conversation_id].user_messages = int(from_user or 0)
    for h in connection.execute(
        select(Handoff.conversation_id, Handoff.kind, Handoff.requested_at, Handoff.taken_at).where(
            Handoff.conversation_id.in_(of_day)
        )
    ):
        f = facts[h.conversation_id]
        f.handoff_requested = True
        if h.taken_at is not None:
            f.mediator = True
            f.waits.append((as_utc(h.taken_at) - as_utc(h.requested_at)).total_seconds())
        elif h.kind == HandoffKind.LIVE.value:
            f.waiting_untaken = True
    for t in connection.execute(
        select(Ticket.conversation_id, Ticket.created_at, Ticket.done_at).where(
            Ticket.conversation_id.in_(of_day)
        )
    ):
        f = facts[t.conversation_id]
        f.ticket = True
        if t.done_at is not None:
            f.ticket_closings.append((as_utc(t.done_at) - as_utc(t.created_at)).total_seconds())
    for conversation_id, helpful in connection.execute(
        select(SurveyAnswer.conversation_id, SurveyAnswer.helpful).where(
            SurveyAnswer.conversation_id.in_(of_day)
        )
    ):
        f = facts[conversation_id]
        if helpful:
            f.survey_yes += 1
        else:
            f.survey_no += 1
            f.negative = True
    _tracker_facts(connection, {c.key: facts[c.id] for c in conversations})
    yield from facts.values()


def _tracker_facts(connection: Connection, by_sender: dict[str, Facts]) -> None:
    """Commune, topic, fallbacks and suggested places from Rasa's tracker events."""
    if not inspect(connection).has_table("events"):
        return
    known = topics()
    places = territories()
    for chunk in _chunks(list(by_sender)):
        rows = connection.execute(
            select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.intent_name, EVENTS.c.data)
            .where(EVENTS.c.sender_id.in_(chunk), EVENTS.c.type_name.in_(("user", "slot")))
            .order_by(EVENTS.c.id)
        )
        for sender, kind, intent, data in rows:
            f = by_sender[sender]
            if kind == "user":
                if intent == FALLBACK_INTENT:
                    f.fallbacks += 1
                elif not f.theme and intent in known:
                    f.theme = intent
                continue
            event = _json(data)
            if event.get("name") == COMMUNE_SLOT:
                f.commune = places.find(event.get("value")) or f.commune
            elif (
                event.get("name") == PROCEDURE_SLOT
                and f.theme == PROCEDURE_TOPIC
                and isinstance(event.get("value"), str)
            ):
                f.theme = f"{PROCEDURE_TOPIC}:{event['value'][:60]}"
            elif event.get("name") == PLACES_SLOT and isinstance(event.get("value"), list):
                f.places.update(str(p)[:200] for p in event["value"] if p)


def _json(data: str | None) -> dict:
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
