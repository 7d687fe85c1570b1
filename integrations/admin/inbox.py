"""The NLU inbox: user messages the assistant should learn from, redacted and grouped.

Three sources feed it:

- Rasa's SQL tracker store (``events`` table, same database): user messages parsed
  as ``nlu_fallback`` or below a confidence threshold, collected incrementally from
  the last processed event id;
- a user's thumbs-down on a bot answer (the user message that answer replied to);
- a mediator flagging a user message from the console.

Only the redacted text is stored (``redact.py``); identical messages (same words,
whatever the case, accents or punctuation) are one item with counts per source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    column,
    delete,
    inspect,
    select,
    table,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from common.db import Base, make_session_factory, session_scope
from common.nlu import FALLBACK_INTENT
from common.text import key as text_key
from integrations.admin.redact import redact
from integrations.messages import Author, utcnow
from integrations.store import Conversation, Message, detached

EVENTS_CURSOR = "inbox.events_cursor"
_BATCH = 500

# Rasa's SQLTrackerStore table, read only.
_EVENTS = table(
    "events",
    column("id", Integer),
    column("sender_id", String),
    column("type_name", String),
    column("data", Text),
)


class Source(StrEnum):
    UNSURE = "unsure"  # low confidence or fallback
    USER_DOWN = "user_down"  # thumbs-down of the user on the answer
    MEDIATOR = "mediator"  # flagged by a mediator


class Status(StrEnum):
    OPEN = "open"
    ANNOTATED = "annotated"
    OUT_OF_SCOPE = "out_of_scope"
    IGNORED = "ignored"


class InboxRow(Base):
    __tablename__ = "admin_inbox_items"

    id = Column(Integer, primary_key=True)
    # Grouping key: the redacted text's folded words ("Bonjour ?" and "bonjour" meet).
    key = Column(String(500), nullable=False, unique=True)
    text = Column(Text, nullable=False)  # redacted, never the original
    count = Column(Integer, nullable=False, default=0)
    unsure_count = Column(Integer, nullable=False, default=0)
    user_down_count = Column(Integer, nullable=False, default=0)
    mediator_count = Column(Integer, nullable=False, default=0)
    predicted_intent = Column(String(100), nullable=True)
    confidence = Column(Float, nullable=True)
    status = Column(String(16), nullable=False, default=Status.OPEN.value)
    resolution = Column(String(100), nullable=True)  # the intent given by the annotation
    resolved_by = Column(String(255), nullable=True)
    resolved_at = Column(DateTime(timezone=True), nullable=True)
    first_seen = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_seen = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class InboxHit(Base):
    """One sighting of an item; the unique (source, ref) makes collecting idempotent."""

    __tablename__ = "admin_inbox_hits"
    __table_args__ = (UniqueConstraint("source", "ref", name="uq_admin_inbox_hits_source_ref"),)

    id = Column(Integer, primary_key=True)
    item_id = Column(
        Integer, ForeignKey("admin_inbox_items.id", ondelete="CASCADE"), nullable=False
    )
    source = Column(String(16), nullable=False)
    ref = Column(String(120), nullable=False)  # "event:<id>" or "message:<id>"
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class StateRow(Base):
    """Small named values of the admin area (the events cursor)."""

    __tablename__ = "admin_state"

    name = Column(String(64), primary_key=True)
    value = Column(String(255), nullable=False)


@dataclass(frozen=True)
class InboxItem:
    id: int
    text: str
    count: int
    unsure_count: int
    user_down_count: int
    mediator_count: int
    predicted_intent: str | None
    confidence: float | None
    status: Status
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    last_seen: datetime


@dataclass(frozen=True)
class Parse:
    """What Rasa understood of a message: best real intent and its confidence."""

    intent: str | None
    confidence: float | None
    fallback: bool


class MessageNotFound(LookupError):
    """The message does not exist, or is not of the expected kind / conversation."""


def parse_of(parse_data: dict[str, Any] | None) -> Parse:
    """The best intent other than ``nlu_fallback`` (what the model would have guessed)."""
    parse_data = parse_data or {}
    intent = parse_data.get("intent") or {}
    name = intent.get("name")
    fallback = name == FALLBACK_INTENT
    if fallback:
        ranking = [r for r in parse_data.get("intent_ranking") or [] if r.get("name")]
        best = next((r for r in ranking if r["name"] != FALLBACK_INTENT), None)
        if best is not None:
            return Parse(best["name"], float(best.get("confidence") or 0.0), True)
    confidence = intent.get("confidence")
    return Parse(name, float(confidence) if confidence is not None else None, fallback)


def is_unsure(parse: Parse, threshold: float) -> bool:
    return parse.fallback or parse.intent is None or (parse.confidence or 0.0) < threshold


class Inbox:
    def __init__(self, engine: Engine, threshold: float = 0.6) -> None:
        self.engine = engine
        self.threshold = threshold
        self._sessions = make_session_factory(engine)

    # --- collecting -------------------------------------------------------------------

    def collect(self) -> int:
        """Add the unsure user messages Rasa recorded since the last call; returns how many."""
        if not inspect(self.engine).has_table("events"):
            return 0  # Rasa has not written anything to this database yet
        added = 0
        while True:
            with session_scope(self._sessions) as session:
                cursor = int(_state(session, EVENTS_CURSOR) or 0)
                rows = session.execute(
                    select(_EVENTS.c.id, _EVENTS.c.sender_id, _EVENTS.c.data)
                    .where(_EVENTS.c.type_name == "user", _EVENTS.c.id > cursor)
                    .order_by(_EVENTS.c.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    return added
                for event_id, _sender, data in rows:
                    event = _json(data)
                    text = (event.get("text") or "").strip()
                    if not text or text.startswith("/"):
                        continue  # button payloads are intents, not language
                    parse = parse_of(event.get("parse_data"))
                    if is_unsure(parse, self.threshold):
                        added += self._hit(session, text, Source.UNSURE, f"event:{event_id}", parse)
                _set_state(session, EVENTS_CURSOR, str(rows[-1][0]))

    def flag_user_message(self, message_id: int) -> InboxItem:
        """A mediator flags a user message (``integrations.store.Message.id``)."""
        with session_scope(self._sessions) as session:
            message = session.get(Message, message_id)
            if message is None or message.author != Author.USER.value:
                raise MessageNotFound(message_id)
            return self._flag(session, message, Source.MEDIATOR)

    def user_feedback(self, conversation_key: str, bot_message_id: int) -> InboxItem | None:
        """Thumbs-down on a bot answer: the user message it answered goes to the inbox.

        Raises :class:`MessageNotFound` when ``bot_message_id`` is not a bot answer of
        that conversation; returns None when the answer replied to no user message
        (a welcome message).
        """
        with session_scope(self._sessions) as session:
            answer = session.get(Message, bot_message_id)
            conversation = (
                session.get(Conversation, answer.conversation_id) if answer is not None else None
            )
            if (
                answer is None
                or conversation is None
                or conversation.key != conversation_key
                or answer.author != Author.BOT.value
            ):
                raise MessageNotFound(bot_message_id)
            question = session.execute(
                select(Message)
                .where(
                    Message.conversation_id == answer.conversation_id,
                    Message.id < answer.id,
                    Message.author == Author.USER.value,
                )
                .order_by(Message.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if question is None or question.text.startswith("/"):
                return None
            return self._flag(session, question, Source.USER_DOWN)

    def _flag(self, session: Session, message: Message, source: Source) -> InboxItem:
        conversation = session.get(Conversation, message.conversation_id)
        parse = _rasa_parse(session, conversation.key if conversation else None, message.text)
        self._hit(session, message.text, source, f"message:{message.id}", parse)
        row = session.execute(
            select(InboxRow).where(InboxRow.key == _group_key(redact(message.text).text))
        ).scalar_one()
        return _item(row)

    def _hit(self, session: Session, text: str, source: Source, ref: str, parse: Parse) -> int:
        """Count one sighting of ``text``; 0 when this (source, ref) was already counted."""
        redacted = redact(text).text
        group = _group_key(redacted)
        if not group:
            return 0
        if session.execute(
            select(InboxHit.id).where(InboxHit.source == source.value, InboxHit.ref == ref)
        ).first():
            return 0
        row = session.execute(select(InboxRow).where(InboxRow.key == group)).scalar_one_or_none()
        now = utcnow()
        if row is None:
            row = InboxRow(
                key=group,
                text=redacted,
                count=0,
                unsure_count=0,
                user_down_count=0,
                mediator_count=0,
                status=Status.OPEN.value,
                first_seen=now,
            )
            session.add(row)
        row.count += 1
        if source is Source.UNSURE:
            row.unsure_count += 1
        elif source is Source.USER_DOWN:
            row.user_down_count += 1
        else:
            row.mediator_count += 1
        if parse.intent is not None:
            row.predicted_intent = parse.intent
            row.confidence = parse.confidence
        row.last_seen = now
        session.flush()
        # A concurrent collector counting the same hit makes this transaction fail on the
        # unique (source, ref): nothing is counted twice.
        session.add(InboxHit(item_id=row.id, source=source.value, ref=ref, at=now))
        return 1

    # --- reading and resolving -----------------------------------------------------------

    def items(self, status: Status | None = Status.OPEN, limit: int = 200) -> list[InboxItem]:
        """Items, the most frequent first."""
        with session_scope(self._sessions) as session:
            query = select(InboxRow)
            if status is not None:
                query = query.where(InboxRow.status == status.value)
            rows = session.execute(
                query.order_by(InboxRow.count.desc(), InboxRow.last_seen.desc(), InboxRow.id).limit(
                    limit
                )
            ).scalars()
            return [_item(row) for row in rows]

    def get(self, item_id: int) -> InboxItem | None:
        with session_scope(self._sessions) as session:
            row = session.get(InboxRow, item_id)
            return _item(row) if row is not None else None

    def resolve(self, item_id: int, status: Status, actor: str, intent: str | None) -> None:
        with session_scope(self._sessions) as session:
            row = session.get(InboxRow, item_id)
            if row is None:
                raise LookupError(item_id)
            row.status = status.value
            row.resolution = intent
            row.resolved_by = actor
            row.resolved_at = utcnow()


def purge_inbox_before(engine: Engine, cutoff: datetime) -> int:
    """Delete the items last seen before ``cutoff``, with their sightings (retention).

    0 while the admin tables do not exist yet.
    """
    if not inspect(engine).has_table(InboxRow.__tablename__):
        return 0
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:
        old = select(InboxRow.id).where(InboxRow.last_seen < cutoff)
        session.execute(
            delete(InboxHit)
            .where(InboxHit.item_id.in_(old))
            .execution_options(synchronize_session=False)
        )
        return session.execute(
            delete(InboxRow)
            .where(InboxRow.last_seen < cutoff)
            .execution_options(synchronize_session=False)
        ).rowcount


def _group_key(redacted: str) -> str:
    return text_key(redacted)[:500]


def _json(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _rasa_parse(session: Session, sender: str | None, text: str) -> Parse:
    """What Rasa understood of this message, from its tracker events, when still there."""
    if sender is None or not inspect(session.get_bind()).has_table("events"):
        return Parse(None, None, False)
    rows = session.execute(
        select(_EVENTS.c.data)
        .where(_EVENTS.c.sender_id == sender, _EVENTS.c.type_name == "user")
        .order_by(_EVENTS.c.id.desc())
        .limit(50)
    ).scalars()
    for data in rows:
        event = _json(data)
        if (event.get("text") or "").strip() == text.strip():
            return parse_of(event.get("parse_data"))
    return Parse(None, None, False)


def _state(session: Session, name: str) -> str | None:
    row = session.get(StateRow, name)
    return row.value if row is not None else None


def _set_state(session: Session, name: str, value: str) -> None:
    row = session.get(StateRow, name)
    if row is None:
        session.add(StateRow(name=name, value=value))
    else:
        row.value = value


def _item(row: InboxRow) -> InboxItem:
    return detached(InboxItem, row, status=Status(row.status))


TABLES = [InboxRow.__table__, InboxHit.__table__, StateRow.__table__]
