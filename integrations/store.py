"""The gateway's record: conversations (with their owner) and messages in both directions.

Synchronous SQLAlchemy behind a small :class:`Store`; the gateway calls it through
``asyncio.to_thread`` so the event loop never waits on the database. Later issues
(analytics, admin) build on these tables. The handoff tables (``handoffs``,
``handoff_notes``, ``tickets``) are defined here, next to the conversation they belong
to; their queries and transitions are in ``integrations/handoff/store.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, relationship

from common.db import Base, as_utc, make_session_factory, session_scope
from integrations.messages import Author, Button, Incoming, Reply, utcnow


class Owner(StrEnum):
    """Who answers the user: the bot, nobody yet (queued), a mediator, or nobody (closed)."""

    BOT = "bot"
    WAITING = "waiting"
    MEDIATOR = "mediator"
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(
            "owner in ('bot', 'waiting', 'mediator', 'closed')", name="ck_conversations_owner"
        ),
    )

    id = Column(Integer, primary_key=True)
    # "<channel>:<chat id>", also the Rasa sender id.
    key = Column(String(300), nullable=False, unique=True)
    channel = Column(String(32), nullable=False)
    chat_id = Column(String(255), nullable=False)
    user_id = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    locale = Column(String(16), nullable=False, default="fr")
    owner = Column(String(16), nullable=False, default=Owner.BOT.value)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    messages = relationship("Message", back_populates="conversation", order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"
    # AUTOINCREMENT on SQLite: ids are never reused after a deletion, so a client that
    # replays "everything after id n" never misses a message.
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    direction = Column(String(3), nullable=False)  # in | out
    author = Column(String(16), nullable=False)  # user | bot | mediator | system
    channel = Column(String(32), nullable=False)
    user_id = Column(String(255), nullable=True)  # the sender for incoming messages
    text = Column(Text, nullable=False, default="")
    # Buttons, image, custom payload of outgoing messages.
    payload = Column(JSON, nullable=True)
    platform_message_id = Column(String(255), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    conversation = relationship("Conversation", back_populates="messages")


class HandoffStatus(StrEnum):
    WAITING = "waiting"  # in the queue (or leaving a message when nobody is available)
    ACTIVE = "active"  # a mediator has it
    ENDED = "ended"


class HandoffKind(StrEnum):
    LIVE = "live"  # waits for a mediator in the queue
    MESSAGE = "message"  # nobody available: the person leaves a message (a ticket)


class Handoff(Base):
    """One episode of a conversation away from the bot: requested, taken, ended."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_status", "status"),
        Index("ix_handoffs_conversation_id", "conversation_id"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    kind = Column(String(16), nullable=False, default=HandoffKind.LIVE.value)
    # request_human | fallback | mediator (taken proactively) | ...
    reason = Column(String(64), nullable=False)
    status = Column(String(16), nullable=False, default=HandoffStatus.WAITING.value)
    # handed_back | closed | ticket | cancelled | deleted
    outcome = Column(String(16), nullable=True)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    taken_at = Column(DateTime(timezone=True), nullable=True)
    ended_at = Column(DateTime(timezone=True), nullable=True)
    # Set when a mediator's conversation went back to the queue (the mediator left): such
    # handoffs come first in the queue, in the order they came back.
    requeued_at = Column(DateTime(timezone=True), nullable=True)
    # The console's staff account (integrations/console/auth.py) and the first name
    # the person sees.
    mediator_id = Column(Integer, nullable=True)
    mediator_name = Column(String(120), nullable=True)


class HandoffNote(Base):
    """A mediator's private note on a conversation, never shown to the person."""

    __tablename__ = "handoff_notes"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    author_id = Column(Integer, nullable=True)
    author_name = Column(String(120), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Ticket(Base):
    """A message left when no mediator was available, with how to call the person back; or
    a visio room's fault report (``integrations/fault_reports.py``)."""

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    # Kept when the conversation is deleted (the person asked to be called back).
    conversation_id = Column(
        Integer, ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
    )
    channel = Column(String(32), nullable=False)
    contact = Column(String(255), nullable=False)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default="open")  # open | done
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True), nullable=True)
    done_by = Column(String(120), nullable=True)
    # The bot message it was filed from (``fault:<message id>:<n>``): one ticket each.
    source = Column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("source", name="uq_tickets_source"),)


class WebConversationKey(Base):
    """The key of a web conversation, issued by the gateway (``POST /webhooks/web/conversations``).

    Only the SHA-256 of the key is kept (the key itself is 256 random bits: a leaked table
    gives no access). ``owner_login`` ties the conversation to a staff account (an agent's
    own conversation): then the account's session is needed as well as the key.
    """

    __tablename__ = "web_conversation_keys"

    key_hash = Column(String(64), primary_key=True)
    sender = Column(String(128), nullable=False, index=True)
    owner_login = Column(String(255), nullable=True, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


TABLES = [
    Conversation.__table__,
    Message.__table__,
    Handoff.__table__,
    HandoffNote.__table__,
    Ticket.__table__,
    WebConversationKey.__table__,
]


@dataclass(frozen=True)
class ConversationState:
    """What the person's client is told about ownership (the web ``state`` frame)."""

    owner: Owner
    queue_position: int | None = None
    mediator: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "owner": str(self.owner),
            "queue_position": self.queue_position,
            "mediator": self.mediator,
        }


@dataclass(frozen=True)
class IssuedKey:
    """What a conversation key opens: a web sender, and the account owning it, if any."""

    sender: str
    owner_login: str | None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ConversationRef:
    """What the gateway needs of a conversation, detached from any session."""

    id: int
    key: str
    channel: str
    chat_id: str
    owner: Owner


@dataclass(frozen=True)
class StoredMessage:
    direction: Direction
    author: Author
    channel: str
    text: str
    payload: dict[str, Any] | None
    created_at: datetime
    id: int = 0

    def reply(self) -> Reply:
        """The message as the gateway sends it to clients (see ``Reply.as_frame``)."""
        return reply_of(self.id, self.author, self.text, self.payload, self.created_at)


def reply_of(
    id_: int,
    author: Author | str,
    text_: str,
    payload: dict[str, Any] | None,
    at: datetime | None = None,
) -> Reply:
    payload = payload or {}
    return Reply(
        text=text_,
        buttons=_buttons(payload),
        image=payload.get("image"),
        custom=payload.get("custom"),
        author=Author(author),
        id=id_,
        client_id=payload.get("client_id"),
        at=as_utc(at) if at is not None else None,
    )


def _buttons(payload: dict[str, Any]) -> tuple[Button, ...]:
    return tuple(
        Button(title=b["title"], payload=b["payload"]) for b in payload.get("buttons") or ()
    )


T = TypeVar("T")


def detached(cls: type[T], source: Any, **values: Any) -> T:
    """The frozen dataclass ``cls`` of a database row (or of a richer such dataclass),
    usable once the session is closed.

    Fields named like an attribute of ``source`` are copied; ``values`` gives the others
    (enums, computed fields).
    """
    names = [f.name for f in dataclasses.fields(cls) if f.name not in values]  # type: ignore[arg-type]
    return cls(**{name: getattr(source, name) for name in names}, **values)


def conversation_by_key(session: Session, key: str) -> Conversation | None:
    return session.execute(select(Conversation).where(Conversation.key == key)).scalar_one_or_none()


# The statements of every message's path, built once with bound parameters on the
# tables (Core): no statement to build, no ORM step and no ORM object per message.
_conversations = Conversation.__table__
_messages = Message.__table__
_keys = WebConversationKey.__table__
# The columns of a ConversationRef, of the conversation ``key``.
REF_BY_KEY = select(*(_conversations.c[f.name] for f in dataclasses.fields(ConversationRef))).where(
    _conversations.c.key == bindparam("key")
)
CHANNEL_BY_ID = select(_conversations.c.channel).where(
    _conversations.c.id == bindparam("conversation_id")
)
# Executed with the new values of the columns (updated_at, locale...).
UPDATE_CONVERSATION = update(_conversations).where(
    _conversations.c.id == bindparam("conversation_id")
)
INSERT_CONVERSATION = insert(_conversations)
INSERT_MESSAGE = insert(_messages)
SENDER_HAS_KEYS = select(_keys.c.key_hash).where(_keys.c.sender == bindparam("sender")).limit(1)
ISSUED_KEY = select(_keys.c.sender, _keys.c.owner_login).where(
    _keys.c.key_hash == bindparam("key_hash")
)


def ref_by_key(session: Session, key: str) -> ConversationRef | None:
    """The conversation ``key``, read as a :class:`ConversationRef` (no ORM object)."""
    found = session.execute(REF_BY_KEY, {"key": key}).first()
    return _ref(found) if found is not None else None


def _insert_message(session: Session, **values: Any) -> int:
    """Insert one message row; its id."""
    return session.execute(INSERT_MESSAGE, values).inserted_primary_key[0]


def move_owner(
    session: Session, conversation_id: int, from_owners: tuple[Owner, ...], to: Owner
) -> bool:
    """The atomic step of every owner change: change it only if it still is one of
    ``from_owners`` (one conditional UPDATE: of two concurrent changes, one wins)."""
    changed = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.owner.in_([o.value for o in from_owners]),
        )
        .values(owner=to.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return changed == 1


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = make_session_factory(engine)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("select 1"))

    def record_incoming(
        self,
        message: Incoming,
        in_transaction: Callable[[Session, ConversationRef, int], None] | None = None,
    ) -> tuple[ConversationRef, Reply]:
        """Store the user's message, creating its conversation when new.

        Returns the conversation and the stored message (with its id) as a reply frame.
        ``in_transaction`` runs before the commit with the conversation and the message's
        id (the outbox queues the message there).
        """
        with session_scope(self._sessions) as session:
            conversation = _touch(session, message) or _create(session, message)
            payload = {"client_id": message.client_id} if message.client_id else None
            message_id = _insert_message(
                session,
                conversation_id=conversation.id,
                direction=Direction.IN.value,
                author=Author.USER.value,
                channel=message.channel,
                user_id=message.user_id,
                text=message.text,
                payload=payload,
                platform_message_id=message.platform_message_id,
                created_at=message.received_at,
            )
            if in_transaction is not None:
                in_transaction(session, conversation, message_id)
            return conversation, reply_of(
                message_id, Author.USER, message.text, payload, message.received_at
            )

    def record_replies(
        self,
        conversation_id: int,
        replies: Sequence[Reply],
        in_transaction: Callable[[Session], None] | None = None,
    ) -> list[Reply]:
        """Store answers in order; the same answers with their ids. ``in_transaction``
        runs before the commit (the outbox deletes the answered message's row there)."""
        if not replies and in_transaction is None:
            return []
        now = utcnow()
        with session_scope(self._sessions) as session:
            channel = session.execute(
                CHANNEL_BY_ID, {"conversation_id": conversation_id}
            ).scalar_one_or_none()
            if channel is None:
                raise LookupError(f"no conversation {conversation_id}")
            session.execute(
                UPDATE_CONVERSATION, {"conversation_id": conversation_id, "updated_at": now}
            )
            # One INSERT after the other: the ids follow the answers' order.
            ids = [
                _insert_message(
                    session,
                    conversation_id=conversation_id,
                    direction=Direction.OUT.value,
                    author=str(reply.author),
                    channel=channel,
                    text=reply.text,
                    payload=reply.as_record() or None,
                    created_at=now,
                )
                for reply in replies
            ]
            if in_transaction is not None:
                in_transaction(session)
            return [
                dataclasses.replace(reply, id=id_, at=now)
                for reply, id_ in zip(replies, ids, strict=True)
            ]

    # --- web conversation keys ---

    def add_key(self, sender: str, key: str, owner_login: str | None = None) -> None:
        with session_scope(self._sessions) as session:
            session.add(
                WebConversationKey(key_hash=key_hash(key), sender=sender, owner_login=owner_login)
            )

    def issued_key(self, key: str) -> IssuedKey | None:
        """The sender (and owning account) ``key`` was issued for; None for a wrong key.
        Read on a plain connection: asked for every web message sent with a key."""
        with self.engine.connect() as connection:
            row = connection.execute(ISSUED_KEY, {"key_hash": key_hash(key)}).first()
            return IssuedKey(row.sender, row.owner_login) if row is not None else None

    def has_keys(self, sender: str) -> bool:
        """Whether the gateway issued ``sender`` (then nobody writes to it without a key).
        Read on a plain connection: asked for every web message sent without a key."""
        with self.engine.connect() as connection:
            return connection.execute(SENDER_HAS_KEYS, {"sender": sender}).first() is not None

    def sender_of_account(self, login: str) -> str | None:
        """The web sender of the agent conversation tied to a staff account, if any."""
        with session_scope(self._sessions) as session:
            return session.execute(
                select(WebConversationKey.sender)
                .where(WebConversationKey.owner_login == login)
                .order_by(WebConversationKey.created_at)
                .limit(1)
            ).scalar_one_or_none()

    def delete_keys(self, sender: str) -> int:
        with session_scope(self._sessions) as session:
            return session.execute(
                delete(WebConversationKey)
                .where(WebConversationKey.sender == sender)
                .execution_options(synchronize_session=False)
            ).rowcount

    def purge_before(self, cutoff: datetime) -> int:
        """Delete messages older than ``cutoff`` and conversations left with none (retention).

        Returns how many messages were deleted.
        """
        with session_scope(self._sessions) as session:
            deleted = session.execute(
                delete(Message)
                .where(Message.created_at < cutoff)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.execute(
                delete(Conversation)
                .where(
                    Conversation.updated_at < cutoff,
                    ~exists().where(Message.conversation_id == Conversation.id),
                )
                .execution_options(synchronize_session=False)
            )
            # Keys of conversations that no longer exist (never used, erased, expired).
            session.execute(
                delete(WebConversationKey)
                .where(
                    WebConversationKey.created_at < cutoff,
                    ~exists().where(
                        Conversation.key == literal("web:") + WebConversationKey.sender
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            return deleted

    def conversation(self, key: str) -> ConversationRef | None:
        with session_scope(self._sessions) as session:
            return ref_by_key(session, key)

    def conversation_id(self, key: str) -> int | None:
        """The id of the conversation ``key`` (it routes it to a Rasa worker)."""
        found = self.conversation(key)
        return found.id if found is not None else None

    def messages(self, key: str, after: int = 0) -> list[StoredMessage]:
        """The conversation's messages with an id above ``after``, in order."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(Message)
                .join(Conversation)
                .where(Conversation.key == key, Message.id > after)
                .order_by(Message.id)
            ).scalars()
            return [_stored(row) for row in rows]

    def messages_of(self, conversation_id: int, after: int = 0) -> list[StoredMessage]:
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.id > after)
                .order_by(Message.id)
            ).scalars()
            return [_stored(row) for row in rows]

    def reopen(self, conversation_id: int) -> bool:
        """A closed conversation goes back to the bot (the person wrote again)."""
        with session_scope(self._sessions) as session:
            return move_owner(session, conversation_id, (Owner.CLOSED,), Owner.BOT)

    def delete_conversation(self, key: str) -> int | None:
        """Delete a conversation with its messages and handoffs; its former id, if any."""
        with session_scope(self._sessions) as session:
            found = session.execute(
                select(Conversation.id).where(Conversation.key == key)
            ).scalar_one_or_none()
            if found is None:
                return None
            # Explicit deletes: SQLite only cascades with foreign keys on, and bulk
            # deletes skip ORM cascades.
            for table in (Message, Handoff, HandoffNote):
                session.execute(
                    delete(table)
                    .where(table.conversation_id == found)
                    .execution_options(synchronize_session=False)
                )
            session.execute(
                update(Ticket)
                .where(Ticket.conversation_id == found)
                .values(conversation_id=None)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                delete(Conversation)
                .where(Conversation.id == found)
                .execution_options(synchronize_session=False)
            )
            return found

    def last_buttons(self, key: str) -> tuple[Button, ...]:
        """Buttons of the bot's latest answer, unless the user has written since."""
        with session_scope(self._sessions) as session:
            latest = session.execute(
                select(Message)
                .join(Conversation)
                .where(Conversation.key == key)
                .order_by(Message.id.desc())
                .limit(10)
            ).scalars()
            for message in latest:
                if message.direction == Direction.IN.value:
                    return ()
                if message.payload and message.payload.get("buttons"):
                    return _buttons(message.payload)
            return ()


def _stored(row: Message) -> StoredMessage:
    return detached(
        StoredMessage, row, direction=Direction(row.direction), author=Author(row.author)
    )


def _ref(conversation: Any) -> ConversationRef:
    """A row of :data:`REF_BY_KEY`, detached."""
    return detached(ConversationRef, conversation, owner=Owner(conversation.owner))


def _touch(session: Session, message: Incoming) -> ConversationRef | None:
    """The conversation of ``message``, its last activity and locale brought up to date;
    None when it is new."""
    found = ref_by_key(session, message.conversation_key)
    if found is not None:
        session.execute(
            UPDATE_CONVERSATION,
            {
                "conversation_id": found.id,
                "updated_at": message.received_at,
                "locale": message.locale,
            },
        )
    return found


def _create(session: Session, message: Incoming) -> ConversationRef:
    """A new conversation for ``message``, owned by the bot."""
    values = {
        "key": message.conversation_key,
        "channel": message.channel,
        "chat_id": message.chat_id,
        "user_id": message.user_id or "",
        "role": str(message.role),
        "locale": message.locale,
        "owner": Owner.BOT.value,
        "created_at": message.received_at,
        "updated_at": message.received_at,
    }
    conversation_id = session.execute(INSERT_CONVERSATION, values).inserted_primary_key[0]
    return ConversationRef(
        id=conversation_id,
        key=message.conversation_key,
        channel=message.channel,
        chat_id=message.chat_id,
        owner=Owner.BOT,
    )
