"""The outbox: every message for the bot is kept until Rasa has processed it, exactly once.

```mermaid
flowchart LR
  M[user message stored] -->|same transaction| Q[outbox row: pending]
  Q --> D{send to Rasa, key m<id>}
  D -- answered --> A[answers stored + row deleted, one transaction]
  D -- down / timeout --> P[row postponed, backoff] --> N[the person told once]
  P -->|drain task, per conversation in order| D
  D -- too many tries --> F[row failed, the person told to write again]
```

Exactly once: the message's idempotency key (``m<message id>``, in Rasa's metadata as
``message_key``) goes with every attempt. Rasa's gateway channel checks it under the
conversation's lock (``rasa_ext/gateway_channel.py``): a message Rasa already processed
(the gateway timed out, a worker died after saving) is answered from the tracker, never
processed twice. On the gateway's side the answers are stored and the row deleted in one
transaction, so a crash in between sends the message again and Rasa's check answers it.

Order: while a conversation has a pending row, its later messages queue behind it (the
transaction that queues a message tells whether one waits before it: ``Enqueued.behind``);
the drain task delivers each conversation's rows by id, under the gateway's conversation
lock. A row whose conversation no longer belongs to the bot (a mediator took it
meanwhile) is still sent, so the paused tracker records it, and its answers (none from a
paused tracker) are dropped.

``queue_length()`` is what the metrics (``integrations/metrics.py``) report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from common.db import Base, as_utc, make_session_factory, session_scope
from integrations import keys
from integrations.errors import ApiError
from integrations.messages import Author, Incoming, Reply, utcnow
from integrations.store import ConversationRef, Owner, Store
from integrations.tasks import background

log = logging.getLogger(__name__)

PENDING = "pending"
FAILED = "failed"
MESSAGE_KEY = "message_key"
DRAIN_EVERY_S = 1.0
# Telegram stops sending an update again after a day: its id need not be kept longer.
UPDATE_IDS_KEPT = timedelta(days=2)
# A claim on an update not finished after this long was left by a process that died.
UPDATE_TAKEOVER = timedelta(minutes=2)

QUEUED = Reply(
    text=(
        "Désolé, service momentanément indisponible. Votre message est bien reçu : "
        "la réponse vous parviendra ici dès le retour du service, sans que vous ayez "
        "à le renvoyer."
    ),
    author=Author.SYSTEM,
)
GAVE_UP = Reply(
    text=(
        "Désolé, votre message n'a pas pu être traité après plusieurs essais. "
        "Pouvez-vous l'écrire à nouveau ? Vous pouvez aussi appeler l'accueil du Département."
    ),
    author=Author.SYSTEM,
)


class AlreadyAnswered(Exception):
    """The outbox row is gone: another gateway replica stored the answers first."""


class OutboxEntry(Base):
    """A user message for the bot, kept until Rasa processed it (then deleted)."""

    __tablename__ = "outbox"

    message_id = Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # What is sent to Rasa's gateway channel, the key included in the metadata.
    sender = Column(String(300), nullable=False)
    text = Column(Text, nullable=False)
    rasa_metadata = Column(JSON, nullable=False)
    input_channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default=PENDING, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # The person was told that the answer will come (once per outage and conversation).
    notified = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class TelegramUpdate(Base):
    """A Telegram ``update_id`` being taken in (``stored`` false) or taken in: Telegram
    sends an update again until it gets a 2xx, and the same update must not make a
    second message."""

    __tablename__ = "telegram_updates"

    update_id = Column(BigInteger, primary_key=True, autoincrement=False)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    stored = Column(Boolean, nullable=False, default=False)


class Claim(StrEnum):
    """What to do with a Telegram update (:meth:`Outbox.claim_update`)."""

    NEW = "new"  # take it in
    DUPLICATE = "duplicate"  # taken in already: answer 200, nothing more
    BUSY = "busy"  # being taken in right now (by this or another replica): answer 503


TABLES = [OutboxEntry.__table__, TelegramUpdate.__table__]

# The statements of every message's path, built once with bound parameters (Core).
_outbox = OutboxEntry.__table__
INSERT_ENTRY = insert(_outbox)
# An earlier pending row of the conversation (the new one waits behind it).
PENDING_BEFORE = (
    select(_outbox.c.message_id)
    .where(
        _outbox.c.conversation_id == bindparam("conversation_id"),
        _outbox.c.status == PENDING,
        _outbox.c.message_id < bindparam("message_id"),
    )
    .limit(1)
)
DELETE_ENTRY = delete(_outbox).where(_outbox.c.message_id == bindparam("message_id"))


def message_key(message_id: int) -> str:
    """The idempotency key of a stored message: its id and 64 random bits, so that it is
    unique beyond the gateway's database too (Rasa's tracker store may outlive it: a
    database restored, or emptied while Rasa kept its trackers, starts the ids again)."""
    return f"m{message_id}-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Pending:
    """One outbox row, detached: what to send to Rasa again."""

    message_id: int
    conversation_id: int
    sender: str
    text: str
    rasa_metadata: dict[str, Any]
    input_channel: str
    attempts: int
    notified: bool


@dataclass(frozen=True)
class Enqueued:
    """A message just queued for the bot: its row, and whether an earlier row of the
    conversation still waits for Rasa (then it waits behind it)."""

    entry: Pending
    behind: bool


class Enqueuer:
    """What ``Store.record_incoming`` runs in its transaction: a row for the bot's
    messages (owner bot, or closed: it goes back to the bot). Once it ran, ``queued``
    is what the first try needs, read in that transaction (None: not queued)."""

    def __init__(self, message: Incoming) -> None:
        self.message = message
        self.queued: Enqueued | None = None

    def __call__(self, session: Session, conversation: ConversationRef, message_id: int) -> None:
        if conversation.owner not in (Owner.BOT, Owner.CLOSED):
            return
        message = self.message
        entry = Pending(
            message_id=message_id,
            conversation_id=conversation.id,
            sender=message.conversation_key,
            text=message.text,
            rasa_metadata={**message.rasa_metadata(), MESSAGE_KEY: message_key(message_id)},
            input_channel=message.channel,
            attempts=0,
            notified=False,
        )
        session.execute(
            INSERT_ENTRY,
            {
                **dataclasses.asdict(entry),
                "status": PENDING,
                "next_attempt_at": message.received_at,
                "created_at": message.received_at,
            },
        )
        behind = session.execute(
            PENDING_BEFORE, {"conversation_id": conversation.id, "message_id": message_id}
        ).first()
        self.queued = Enqueued(entry, behind is not None)


def backoff(attempts: int, cap_s: float) -> timedelta:
    """The pause after ``attempts`` failed tries: 1, 2, 4 … seconds, at most ``cap_s``."""
    return timedelta(seconds=min(2.0 ** max(attempts - 1, 0), cap_s))


class Outbox:
    """The outbox rows, beside the gateway's :class:`Store` (same database)."""

    def __init__(self, store: Store, max_attempts: int = 60, backoff_cap_s: float = 60.0) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.backoff_cap_s = backoff_cap_s
        self._sessions = make_session_factory(store.engine)

    def enqueuer(self, message: Incoming) -> Enqueuer:
        """What ``Store.record_incoming`` runs to queue ``message`` (see :class:`Enqueuer`)."""
        return Enqueuer(message)

    def done(self, message_id: int) -> Callable[[Session], None]:
        """What ``Store.record_replies`` runs in its transaction: the row is gone."""

        def remove(session: Session) -> None:
            if not _delete(session, message_id):
                raise AlreadyAnswered(message_id)

        return remove

    def finish(self, message_id: int) -> None:
        """Delete a row whose message needs no stored answer."""
        with session_scope(self._sessions) as session:
            _delete(session, message_id)

    def postpone(self, message_id: int) -> bool:
        """One more failed try: the next one later; True when that was the last allowed
        (``max_attempts``): the row is FAILED, kept for inspection, no longer sent."""
        with session_scope(self._sessions) as session:
            row = session.get(OutboxEntry, message_id)
            if row is None:
                return False
            row.attempts += 1
            row.next_attempt_at = utcnow() + backoff(row.attempts, self.backoff_cap_s)
            if row.attempts >= self.max_attempts:
                row.status = FAILED
            return row.status == FAILED

    def claim_notice(self, conversation_id: int) -> bool:
        """True once per outage: when no pending row of the conversation was told yet
        (then they all are)."""
        with session_scope(self._sessions) as session:
            told = session.execute(
                select(OutboxEntry.message_id)
                .where(
                    OutboxEntry.conversation_id == conversation_id,
                    OutboxEntry.status == PENDING,
                    OutboxEntry.notified.is_(True),
                )
                .limit(1)
            ).first()
            session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.conversation_id == conversation_id,
                    OutboxEntry.status == PENDING,
                )
                .values(notified=True)
                .execution_options(synchronize_session=False)
            )
            return told is None

    def due(self, now: datetime | None = None) -> list[tuple[int, str]]:
        """``(conversation id, key)`` of the conversations whose first pending row is due."""
        now = now or utcnow()
        with session_scope(self._sessions) as session:
            first = (
                select(
                    OutboxEntry.conversation_id,
                    func.min(OutboxEntry.message_id).label("first_id"),
                )
                .where(OutboxEntry.status == PENDING)
                .group_by(OutboxEntry.conversation_id)
                .subquery()
            )
            rows = session.execute(
                select(OutboxEntry.conversation_id, OutboxEntry.sender, OutboxEntry.next_attempt_at)
                .join(first, OutboxEntry.message_id == first.c.first_id)
                .order_by(OutboxEntry.message_id)
            ).all()
            return [(cid, sender) for cid, sender, at in rows if as_utc(at) <= now]

    def pending_of(self, conversation_id: int) -> list[Pending]:
        """The conversation's pending rows, oldest first."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(OutboxEntry)
                .where(
                    OutboxEntry.conversation_id == conversation_id,
                    OutboxEntry.status == PENDING,
                )
                .order_by(OutboxEntry.message_id)
            ).scalars()
            return [_pending(row) for row in rows]

    def queue_length(self) -> int:
        """Messages waiting for Rasa (for ``integrations/metrics.py``)."""
        with session_scope(self._sessions) as session:
            return session.execute(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.status == PENDING)
            ).scalar_one()

    # --- Telegram updates ---

    def claim_update(self, update_id: int, now: datetime | None = None) -> Claim:
        """Record that ``update_id`` is being taken in, unless it is or was already; a
        claim older than ``UPDATE_TAKEOVER`` (its process died) is taken over."""
        now = now or utcnow()
        try:
            with session_scope(self._sessions) as session:
                row = session.get(TelegramUpdate, update_id)
                if row is None:
                    session.add(TelegramUpdate(update_id=update_id, received_at=now, stored=False))
                    return Claim.NEW
                if row.stored:
                    return Claim.DUPLICATE
                if now - as_utc(row.received_at) < UPDATE_TAKEOVER:
                    return Claim.BUSY
                row.received_at = now
                return Claim.NEW
        except IntegrityError:  # claimed at the same moment elsewhere
            return Claim.BUSY

    def update_stored(self, update_id: int) -> None:
        """The update's message is stored: a resent copy is a duplicate."""
        with session_scope(self._sessions) as session:
            session.execute(
                update(TelegramUpdate)
                .where(TelegramUpdate.update_id == update_id)
                .values(stored=True)
                .execution_options(synchronize_session=False)
            )

    def forget_update(self, update_id: int) -> None:
        """The update could not be stored: Telegram's next try is not a duplicate."""
        with session_scope(self._sessions) as session:
            session.execute(
                delete(TelegramUpdate)
                .where(TelegramUpdate.update_id == update_id)
                .execution_options(synchronize_session=False)
            )

    def purge_updates(self, before: datetime) -> int:
        """Telegram gives up on an update after a day: older ids need not be kept."""
        with session_scope(self._sessions) as session:
            return session.execute(
                delete(TelegramUpdate)
                .where(TelegramUpdate.received_at < before)
                .execution_options(synchronize_session=False)
            ).rowcount


def _delete(session: Session, message_id: int) -> bool:
    return session.execute(DELETE_ENTRY, {"message_id": message_id}).rowcount == 1


def _pending(row: OutboxEntry) -> Pending:
    return Pending(
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        sender=row.sender,
        text=row.text,
        rasa_metadata=dict(row.rasa_metadata),
        input_channel=row.input_channel,
        attempts=row.attempts,
        notified=row.notified,
    )


# -- wiring (integrations/app.py calls setup) -----------------------------------------


async def drain_forever(gateway: Any, every_s: float = DRAIN_EVERY_S) -> None:
    """``gateway.drain()`` every ``every_s``; a failure is logged and the loop goes on: a
    dependency down (the database, Redis) in one line, anything else with its traceback.
    Old Telegram update ids are purged on the way."""
    outbox: Outbox = gateway.outbox
    purged_at = utcnow() - UPDATE_IDS_KEPT
    while True:
        try:
            answered = await gateway.drain()
            if answered:
                log.info("outbox: %d queued messages answered", answered)
            if utcnow() - purged_at > timedelta(hours=1):
                purged_at = utcnow()
                await asyncio.to_thread(outbox.purge_updates, purged_at - UPDATE_IDS_KEPT)
        except asyncio.CancelledError:
            raise
        except (OperationalError, ApiError) as err:  # the database or Redis is down
            log.warning("outbox drain postponed, a dependency is down: %s", str(err)[:300])
        except Exception:
            log.exception("outbox drain failed; trying again")
        await asyncio.sleep(every_s)


async def drain_ctx(app: web.Application) -> AsyncIterator[None]:
    """The drain task while the app runs (after ``http_ctx``: the gateway exists)."""
    async with background(drain_forever(app[keys.GATEWAY]), "outbox-drain"):
        yield


def setup(app: web.Application) -> None:
    """Queued messages are sent again in the background."""
    app.cleanup_ctx.append(drain_ctx)
