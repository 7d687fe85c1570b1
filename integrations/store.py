"""The gateway's record: conversations (with their owner) and messages in both directions.

Synchronous SQLAlchemy behind a small :class:`Store`; the gateway calls it through
``asyncio.to_thread`` so the event loop never waits on the database. Later issues
(handoff, analytics, admin) build on these two tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

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
    delete,
    exists,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import relationship

from common.db import Base, make_session_factory, session_scope
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
    __table_args__ = (Index("ix_messages_conversation_id_id", "conversation_id", "id"),)

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


TABLES = [Conversation.__table__, Message.__table__]


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


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = make_session_factory(engine)

    def create_tables(self) -> None:
        Base.metadata.create_all(self.engine, tables=TABLES)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("select 1"))

    def record_incoming(self, message: Incoming) -> ConversationRef:
        """Store the user's message, creating its conversation when new."""
        with session_scope(self._sessions) as session:
            conversation = session.execute(
                select(Conversation).where(Conversation.key == message.conversation_key)
            ).scalar_one_or_none()
            if conversation is None:
                conversation = Conversation(
                    key=message.conversation_key,
                    channel=message.channel,
                    chat_id=message.chat_id,
                    user_id=message.user_id,
                    role=str(message.role),
                    locale=message.locale,
                    owner=Owner.BOT.value,
                    created_at=message.received_at,
                )
                session.add(conversation)
            conversation.updated_at = message.received_at
            conversation.locale = message.locale
            session.add(
                Message(
                    conversation=conversation,
                    direction=Direction.IN.value,
                    author=Author.USER.value,
                    channel=message.channel,
                    user_id=message.user_id,
                    text=message.text,
                    platform_message_id=message.platform_message_id,
                    created_at=message.received_at,
                )
            )
            session.flush()
            return _ref(conversation)

    def record_replies(self, conversation_id: int, replies: Sequence[Reply]) -> None:
        if not replies:
            return
        now = utcnow()
        with session_scope(self._sessions) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise LookupError(f"no conversation {conversation_id}")
            conversation.updated_at = now
            for reply in replies:
                session.add(
                    Message(
                        conversation_id=conversation_id,
                        direction=Direction.OUT.value,
                        author=str(reply.author),
                        channel=conversation.channel,
                        text=reply.text,
                        payload=reply.as_record() or None,
                        created_at=now,
                    )
                )

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
            return deleted

    def conversation(self, key: str) -> ConversationRef | None:
        with session_scope(self._sessions) as session:
            found = session.execute(
                select(Conversation).where(Conversation.key == key)
            ).scalar_one_or_none()
            return _ref(found) if found is not None else None

    def messages(self, key: str) -> list[StoredMessage]:
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(Message)
                .join(Conversation)
                .where(Conversation.key == key)
                .order_by(Message.id)
            ).scalars()
            return [
                StoredMessage(
                    direction=Direction(row.direction),
                    author=Author(row.author),
                    channel=row.channel,
                    text=row.text,
                    payload=row.payload,
                    created_at=row.created_at,
                )
                for row in rows
            ]

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
                    return tuple(
                        Button(title=b["title"], payload=b["payload"])
                        for b in message.payload["buttons"]
                    )
            return ()


def _ref(conversation: Conversation) -> ConversationRef:
    return ConversationRef(
        id=conversation.id,
        key=conversation.key,
        channel=conversation.channel,
        chat_id=conversation.chat_id,
        owner=Owner(conversation.owner),
    )
