"""Handoff persistence: ownership transitions, the queue, notes, tickets.

Every transition is one transaction that starts with a conditional ``UPDATE`` of
``conversations.owner`` (``move_owner``: ``... WHERE owner = 'waiting'``): the database
lets exactly one of two concurrent mediators change the row, the other one sees 0 rows
and loses. No ``SELECT ... FOR UPDATE``, no SQLite-only SQL: the same code is atomic on
PostgreSQL. The tables themselves are in ``integrations/store.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.db import make_session_factory, session_scope
from integrations.messages import utcnow
from integrations.store import (
    Conversation,
    ConversationState,
    Handoff,
    HandoffKind,
    HandoffNote,
    HandoffStatus,
    Message,
    Owner,
    Ticket,
    conversation_by_key,
    detached,
    move_owner,
)


@dataclass(frozen=True)
class Mediator:
    """Who acts in the console: the staff account's id and the first name people see."""

    id: int
    name: str
    admin: bool = False


@dataclass(frozen=True)
class HandoffRef:
    id: int
    conversation_id: int
    kind: HandoffKind
    reason: str
    status: HandoffStatus
    outcome: str | None
    requested_at: datetime
    taken_at: datetime | None
    ended_at: datetime | None
    mediator_id: int | None
    mediator_name: str | None
    requeued_at: datetime | None


@dataclass(frozen=True)
class ConversationInfo:
    """A conversation as the console lists it."""

    id: int
    key: str
    channel: str
    chat_id: str
    user_id: str
    owner: Owner
    created_at: datetime
    updated_at: datetime
    handoff: HandoffRef | None
    position: int | None = None


@dataclass(frozen=True)
class NoteRef:
    id: int
    author_name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class TicketRef:
    id: int
    conversation_id: int | None
    channel: str
    contact: str
    text: str
    status: str
    created_at: datetime
    done_by: str | None
    done_at: datetime | None


# The queue's order: conversations a departed mediator left come first (in the order
# they came back), then the others, first come first.
QUEUE_ORDER = (Handoff.requeued_at.is_(None), Handoff.requeued_at, Handoff.id)


class HandoffStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = make_session_factory(engine)

    # -- transitions -----------------------------------------------------------------

    def request(self, conversation_id: int, reason: str, kind: HandoffKind) -> HandoffRef | None:
        """bot (or closed) -> waiting; None when the conversation is not the bot's."""
        with session_scope(self._sessions) as session:
            if not move_owner(session, conversation_id, (Owner.BOT, Owner.CLOSED), Owner.WAITING):
                return None
            row = Handoff(
                conversation_id=conversation_id,
                kind=kind.value,
                reason=reason,
                status=HandoffStatus.WAITING.value,
                requested_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _handoff(row)

    def take(self, conversation_id: int, mediator: Mediator) -> HandoffRef | None:
        """waiting -> mediator, or bot -> mediator (taken proactively); None when lost."""
        now = utcnow()
        with session_scope(self._sessions) as session:
            if move_owner(session, conversation_id, (Owner.WAITING,), Owner.MEDIATOR):
                row = _open_handoff(session, conversation_id)
                if row is None:  # an inconsistent row: repair rather than fail
                    row = Handoff(conversation_id=conversation_id, reason="request_human")
                    session.add(row)
            elif move_owner(session, conversation_id, (Owner.BOT, Owner.CLOSED), Owner.MEDIATOR):
                row = Handoff(
                    conversation_id=conversation_id,
                    kind=HandoffKind.LIVE.value,
                    reason="mediator",
                    requested_at=now,
                )
                session.add(row)
            else:
                return None
            row.status = HandoffStatus.ACTIVE.value
            row.taken_at = now
            row.mediator_id = mediator.id
            row.mediator_name = mediator.name
            session.flush()
            return _handoff(row)

    def end(
        self,
        conversation_id: int,
        outcome: str,
        new_owner: Owner,
        from_owners: tuple[Owner, ...],
        mediator_id: int | None = None,
    ) -> HandoffRef | None:
        """End the open handoff (hand back, close, ticket, cancel); None when not allowed.

        With ``mediator_id``, only the mediator who holds the conversation may end it.
        """
        with session_scope(self._sessions) as session:
            if mediator_id is not None:
                held = _open_handoff(session, conversation_id)
                if held is None or held.mediator_id != mediator_id:
                    return None
            if not move_owner(session, conversation_id, from_owners, new_owner):
                return None
            row = _open_handoff(session, conversation_id)
            if row is None:
                return None
            row.status = HandoffStatus.ENDED.value
            row.outcome = outcome
            row.ended_at = utcnow()
            session.flush()
            return _handoff(row)

    def requeue(self, conversation_id: int, mediator_id: int) -> HandoffRef | None:
        """mediator -> waiting, at the head of the queue, when the mediator who holds it
        left; None when someone else holds it (or nobody)."""
        with session_scope(self._sessions) as session:
            row = _open_handoff(session, conversation_id)
            if (
                row is None
                or row.status != HandoffStatus.ACTIVE.value
                or row.mediator_id != mediator_id
            ):
                return None
            if not move_owner(session, conversation_id, (Owner.MEDIATOR,), Owner.WAITING):
                return None
            row.status = HandoffStatus.WAITING.value
            row.kind = HandoffKind.LIVE.value
            row.requeued_at = utcnow()
            row.taken_at = None
            row.mediator_id = None
            row.mediator_name = None
            session.flush()
            return _handoff(row)

    def transfer(
        self, conversation_id: int, to: Mediator, from_id: int | None
    ) -> HandoffRef | None:
        """The mediator of an active handoff becomes ``to``; with ``from_id``, only if
        that mediator still holds it. One conditional UPDATE: of two transfers, one wins."""
        with session_scope(self._sessions) as session:
            row = _open_handoff(session, conversation_id)
            if row is None or row.status != HandoffStatus.ACTIVE.value:
                return None
            holder = row.mediator_id if from_id is None else from_id
            changed = session.execute(
                update(Handoff)
                .where(
                    Handoff.id == row.id,
                    Handoff.status == HandoffStatus.ACTIVE.value,
                    Handoff.mediator_id == holder,
                )
                .values(mediator_id=to.id, mediator_name=to.name)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed != 1:
                return None
            session.refresh(row)
            return _handoff(row)

    def offer_message(self, conversation_id: int) -> HandoffRef | None:
        """A live handoff nobody took becomes a message to leave (the queue is left)."""
        with session_scope(self._sessions) as session:
            conversation = session.get(Conversation, conversation_id)
            row = _open_handoff(session, conversation_id)
            if (
                conversation is None
                or conversation.owner != Owner.WAITING.value
                or row is None
                or row.status != HandoffStatus.WAITING.value
                or row.kind != HandoffKind.LIVE.value
            ):
                return None
            row.kind = HandoffKind.MESSAGE.value
            session.flush()
            return _handoff(row)

    # -- reading ---------------------------------------------------------------------

    def current(self, conversation_id: int) -> HandoffRef | None:
        with session_scope(self._sessions) as session:
            row = _open_handoff(session, conversation_id)
            return _handoff(row) if row is not None else None

    def state(self, key: str) -> ConversationState | None:
        with session_scope(self._sessions) as session:
            conversation = conversation_by_key(session, key)
            if conversation is None:
                return None
            owner = Owner(conversation.owner)
            row = _open_handoff(session, conversation.id)
            if owner is Owner.WAITING and row is not None and row.kind == HandoffKind.LIVE:
                return ConversationState(owner, queue_position=_position(session, row.id))
            if owner is Owner.MEDIATOR and row is not None:
                return ConversationState(owner, mediator=row.mediator_name)
            return ConversationState(owner)

    def info(self, conversation_id: int) -> ConversationInfo | None:
        with session_scope(self._sessions) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            return self._info(session, conversation)

    def _info(self, session: Session, conversation: Conversation) -> ConversationInfo:
        row = _open_handoff(session, conversation.id)
        if row is None and conversation.owner == Owner.CLOSED:
            row = _last_handoff(session, conversation.id)
        position = None
        if row is not None and row.status == HandoffStatus.WAITING and row.kind == "live":
            position = _position(session, row.id)
        return detached(
            ConversationInfo,
            conversation,
            owner=Owner(conversation.owner),
            handoff=_handoff(row) if row is not None else None,
            position=position,
        )

    def queue(self) -> list[ConversationInfo]:
        """Conversations waiting for a mediator, first come first."""
        return self._with_open_handoffs(Owner.WAITING, HandoffKind.LIVE)

    def leaving_message(self, since: timedelta) -> list[ConversationInfo]:
        """People offered to leave a message this recently (others have gone, mostly)."""
        return self._with_open_handoffs(Owner.WAITING, HandoffKind.MESSAGE, utcnow() - since)

    def with_mediators(self) -> list[ConversationInfo]:
        return self._with_open_handoffs(Owner.MEDIATOR, None)

    def held_by(self, mediator_id: int) -> list[int]:
        """The conversations ``mediator_id`` holds (active handoffs)."""
        with session_scope(self._sessions) as session:
            return list(
                session.execute(
                    select(Handoff.conversation_id).where(
                        Handoff.status == HandoffStatus.ACTIVE.value,
                        Handoff.mediator_id == mediator_id,
                    )
                ).scalars()
            )

    def holders(self) -> dict[int, int]:
        """Mediators holding conversations: their id and how many they hold."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(Handoff.mediator_id, func.count(Handoff.id))
                .where(
                    Handoff.status == HandoffStatus.ACTIVE.value,
                    Handoff.mediator_id.is_not(None),
                )
                .group_by(Handoff.mediator_id)
            ).all()
            return {mediator_id: count for mediator_id, count in rows}

    def _with_open_handoffs(
        self, owner: Owner, kind: HandoffKind | None, since: datetime | None = None
    ) -> list[ConversationInfo]:
        with session_scope(self._sessions) as session:
            query = (
                select(Conversation)
                .join(Handoff, Handoff.conversation_id == Conversation.id)
                .where(
                    Conversation.owner == owner.value,
                    Handoff.status != HandoffStatus.ENDED.value,
                )
                .order_by(*QUEUE_ORDER)
            )
            if since is not None:
                query = query.where(Handoff.requested_at >= since)
            if kind is not None:
                query = query.where(Handoff.kind == kind.value)
            rows = session.execute(query).scalars().unique().all()
            return [self._info(session, row) for row in rows]

    def with_bot(self, since: timedelta, limit: int = 30) -> list[ConversationInfo]:
        """Recent conversations the bot answers, for a mediator to take proactively."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(Conversation)
                .where(
                    Conversation.owner == Owner.BOT.value,
                    Conversation.updated_at >= utcnow() - since,
                )
                .order_by(Conversation.updated_at.desc())
                .limit(limit)
            ).scalars()
            return [self._info(session, row) for row in rows]

    def ended(self, search: str = "", limit: int = 50) -> list[ConversationInfo]:
        """Conversations whose last handoff is over, newest first; ``search`` in messages."""
        with session_scope(self._sessions) as session:
            last_end = (
                select(Handoff.conversation_id, func.max(Handoff.ended_at).label("ended_at"))
                .where(Handoff.status == HandoffStatus.ENDED.value)
                .group_by(Handoff.conversation_id)
                .subquery()
            )
            query = (
                select(Conversation)
                .join(last_end, last_end.c.conversation_id == Conversation.id)
                .where(Conversation.owner.in_((Owner.BOT.value, Owner.CLOSED.value)))
                .order_by(last_end.c.ended_at.desc())
                .limit(limit)
            )
            if search.strip():
                pattern = f"%{_escape_like(search.strip())}%"
                matching = select(Message.conversation_id).where(
                    Message.text.ilike(pattern, escape="\\")
                )
                query = query.where(
                    or_(
                        Conversation.id.in_(matching),
                        Conversation.key.ilike(pattern, escape="\\"),
                    )
                )
            rows = session.execute(query).scalars().all()
            return [self._info(session, row) for row in rows]

    def last_ended(self, conversation_id: int) -> HandoffRef | None:
        with session_scope(self._sessions) as session:
            row = _last_handoff(session, conversation_id)
            return _handoff(row) if row is not None else None

    # -- notes and tickets -------------------------------------------------------------

    def add_note(self, conversation_id: int, mediator: Mediator, text: str) -> NoteRef:
        with session_scope(self._sessions) as session:
            row = HandoffNote(
                conversation_id=conversation_id,
                author_id=mediator.id,
                author_name=mediator.name,
                text=text,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return detached(NoteRef, row)

    def notes(self, conversation_id: int) -> list[NoteRef]:
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(HandoffNote)
                .where(HandoffNote.conversation_id == conversation_id)
                .order_by(HandoffNote.id)
            ).scalars()
            return [detached(NoteRef, r) for r in rows]

    def add_ticket(
        self, conversation_id: int, channel: str, contact: str, text: str, source: str | None = None
    ) -> int:
        """A new ticket's id; with ``source``, the id of the ticket already filed from it,
        if any (filed once, whoever comes second)."""
        try:
            with session_scope(self._sessions) as session:
                row = Ticket(
                    conversation_id=conversation_id,
                    channel=channel,
                    contact=contact,
                    text=text,
                    status="open",
                    created_at=utcnow(),
                    source=source,
                )
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            if source is not None:
                with session_scope(self._sessions) as session:
                    query = select(Ticket.id).where(Ticket.source == source)
                    found = session.execute(query).scalar_one_or_none()
                if found is not None:
                    return found
            raise

    def tickets(self, status: str = "open", limit: int = 100) -> list[TicketRef]:
        """Open tickets first come first; handled ones (``done``) last handled first."""
        order = Ticket.id if status == "open" else Ticket.done_at.desc()
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(Ticket).where(Ticket.status == status).order_by(order).limit(limit)
            ).scalars()
            return [detached(TicketRef, r) for r in rows]

    def purge_tickets_before(self, cutoff: datetime) -> int:
        """Delete tickets closed before ``cutoff``, or still open but created before it
        (retention: the contact details have served their purpose); how many went."""
        with session_scope(self._sessions) as session:
            return session.execute(
                delete(Ticket)
                .where(func.coalesce(Ticket.done_at, Ticket.created_at) < cutoff)
                .execution_options(synchronize_session=False)
            ).rowcount

    def close_ticket(self, ticket_id: int, mediator: Mediator) -> bool:
        with session_scope(self._sessions) as session:
            return (
                session.execute(
                    update(Ticket)
                    .where(Ticket.id == ticket_id, Ticket.status == "open")
                    .values(status="done", done_at=utcnow(), done_by=mediator.name)
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )


def _position(session: Session, handoff_id: int) -> int:
    """Place in the queue (``QUEUE_ORDER``) of a live handoff still waiting."""
    queue = (
        session.execute(
            select(Handoff.id)
            .where(
                Handoff.status == HandoffStatus.WAITING.value,
                Handoff.kind == HandoffKind.LIVE.value,
            )
            .order_by(*QUEUE_ORDER)
        )
        .scalars()
        .all()
    )
    return queue.index(handoff_id) + 1 if handoff_id in queue else 1


def _last_handoff(
    session: Session, conversation_id: int, open_only: bool = False
) -> Handoff | None:
    query = select(Handoff).where(Handoff.conversation_id == conversation_id)
    if open_only:
        query = query.where(Handoff.status != HandoffStatus.ENDED.value)
    return session.execute(query.order_by(Handoff.id.desc()).limit(1)).scalar_one_or_none()


def _open_handoff(session: Session, conversation_id: int) -> Handoff | None:
    return _last_handoff(session, conversation_id, open_only=True)


def _handoff(row: Handoff) -> HandoffRef:
    return detached(HandoffRef, row, kind=HandoffKind(row.kind), status=HandoffStatus(row.status))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
