"""The handoff state machine, as the gateway and the console drive it.

```mermaid
stateDiagram-v2
  bot --> waiting: request_human / button / fallback offer accepted
  bot --> mediator: a mediator takes it proactively
  waiting --> mediator: take (atomic: one mediator wins)
  waiting --> waiting: closed unanswered (confirmed): live becomes "leave a message"
  waiting --> bot: message left (ticket) or cancelled
  mediator --> mediator: transfer to another online mediator (with a note)
  mediator --> waiting: the mediator's consoles gone for HANDOFF_PRESENCE_TIMEOUT (head of queue)
  mediator --> bot: hand back (tracker resumed, short bot message)
  mediator --> closed: close
  closed --> bot: the person writes again
```

Each transition tells the person one message, which says what happens next (with the
council's phone number whenever a phone is mentioned).

Every step is one conditional UPDATE in the database (``HandoffStore``), then the Rasa
tracker is paused or resumed, then what the person is told is stored and delivered
under the conversation's lock (``Gateway.post``), then consoles are told.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.hours import availability, describe
from common.text import fold
from integrations.errors import ApiError
from integrations.gateway import Gateway
from integrations.handoff import texts
from integrations.handoff.contact import find_contact
from integrations.handoff.relay import ConsoleHub, message_frame
from integrations.handoff.store import (
    ConversationInfo,
    HandoffRef,
    HandoffStore,
    Mediator,
)
from integrations.handoff.transcript import is_payload, labels
from integrations.messages import Author, Incoming, Reply, utcnow
from integrations.store import (
    ConversationRef,
    ConversationState,
    HandoffKind,
    HandoffStatus,
    Owner,
    detached,
)
from integrations.widget.config import Council, load_council

log = logging.getLogger(__name__)

# A typing frame at most this often per conversation and direction.
TYPING_EVERY_S = 1.0


@dataclass(frozen=True)
class Availability:
    available: bool
    outside_hours: bool
    hours: str  # French sentence on the hours ("Fermé en ce moment. Ouvre lundi à 9 h.")


def _ref(info: ConversationInfo) -> ConversationRef:
    return detached(ConversationRef, info)


class HandoffService:
    def __init__(
        self,
        gateway: Gateway,
        store: HandoffStore,
        consoles: ConsoleHub,
        mediator_hours: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.consoles = consoles
        self.mediator_hours = mediator_hours
        self.clock = clock
        self._typing: dict[tuple[str, int | None], float] = {}

    # -- called by the gateway (under the conversation's lock) ------------------------

    def availability(self) -> Availability:
        now = self.clock()
        open_now = availability(self.mediator_hours, now).open_now
        hours = describe(self.mediator_hours, now)
        return Availability(
            available=open_now and self.consoles.online() > 0,
            outside_hours=not open_now,
            hours=hours.rstrip("."),
        )

    async def start(self, conversation: ConversationRef, reason: str) -> list[Reply]:
        """The bot was asked for a human: queue the conversation, or offer to leave a message."""
        now = self.availability()
        kind = HandoffKind.LIVE if now.available else HandoffKind.MESSAGE
        handoff = await asyncio.to_thread(self.store.request, conversation.id, reason, kind)
        if handoff is None:
            return []
        log.info("handoff %s of %s (%s, %s)", handoff.id, conversation.key, reason, kind)
        await self.gateway.pause(conversation, paused=True)
        if kind is HandoffKind.LIVE:
            state = await asyncio.to_thread(self.store.state, conversation.key)
            position = (state.queue_position if state else None) or 1
            told = texts.waiting(position)
        else:
            told = texts.no_mediator(now.outside_hours, now.hours, await _council())
        stored = await self.gateway.post(conversation, [told], deliver=False)
        await self.gateway.push_state(conversation)
        await self.queue_changed()
        return stored

    async def on_user_message(
        self, conversation: ConversationRef, message: Incoming
    ) -> list[Reply]:
        """A message while waiting or with a mediator: the paused tracker records it."""
        await self.gateway.record_in_tracker(message)
        handoff = await asyncio.to_thread(self.store.current, conversation.id)
        if (
            handoff is not None
            and handoff.kind is HandoffKind.MESSAGE
            and handoff.status is HandoffStatus.WAITING
        ):
            return await self._leave_message(conversation, message)
        return []

    async def state(self, key: str) -> dict[str, Any]:
        state = await asyncio.to_thread(self.store.state, key)
        return (state or ConversationState(Owner.BOT)).as_dict()

    async def forgotten(self, conversation_id: int) -> None:
        await self.consoles.to_watchers(
            conversation_id,
            {"type": "conversation", "conversation_id": conversation_id, "owner": "deleted"},
        )
        await self.queue_changed()

    async def _leave_message(self, conversation: ConversationRef, message: Incoming) -> list[Reply]:
        if fold(message.text.strip()).strip(" .!") in texts.CANCEL_WORDS:
            return await self._back_to_bot(conversation, "cancelled", texts.message_cancelled())
        left = await asyncio.to_thread(self._message_left, conversation.id)
        contact = find_contact(left)
        if contact is None:
            return await self.gateway.post(conversation, [texts.contact_needed()], deliver=False)
        ticket_id = await self.file_ticket(conversation, contact, left)
        return await self._back_to_bot(
            conversation, "ticket", texts.ticket_created(contact, ticket_id)
        )

    async def file_ticket(
        self, conversation: ConversationRef, contact: str, text: str, source: str | None = None
    ) -> int:
        """A ticket of the mediators' console (a message left, a room fault reported); the
        consoles reload their tickets. Its id (with ``source``, the ticket already filed
        from it, if any: ``HandoffStore.add_ticket``)."""
        ticket_id = await asyncio.to_thread(
            self.store.add_ticket, conversation.id, conversation.channel, contact, text, source
        )
        log.info("ticket %s filed in %s", ticket_id, conversation.key)
        await self.consoles.broadcast({"type": "tickets"})
        return ticket_id

    def _message_left(self, conversation_id: int) -> str:
        """The person's messages since they were offered to leave one."""
        messages = self.gateway.store.messages_of(conversation_id)
        start = max(
            (
                i
                for i, m in enumerate(messages)
                if (m.payload or {}).get("custom", {}).get("event") == "no_mediator"
            ),
            default=-1,
        )
        return "\n".join(m.text for m in messages[start + 1 :] if m.author is Author.USER)

    async def _back_to_bot(
        self, conversation: ConversationRef, outcome: str, told: Reply
    ) -> list[Reply]:
        ended = await asyncio.to_thread(
            self.store.end, conversation.id, outcome, Owner.BOT, (Owner.WAITING,)
        )
        if ended is None:
            return []
        await self.gateway.pause(conversation, paused=False)
        stored = await self.gateway.post(conversation, [told], deliver=False)
        await self.gateway.tell_tracker(conversation, told)
        await self.gateway.push_state(conversation)
        await self.queue_changed()
        return stored

    # -- called by the console ----------------------------------------------------------

    async def conversation(self, conversation_id: int) -> ConversationInfo:
        info = await asyncio.to_thread(self.store.info, conversation_id)
        if info is None:
            raise ApiError(404, "not_found", "Conversation introuvable.")
        return info

    async def take(self, conversation_id: int, mediator: Mediator) -> HandoffRef:
        """Take a waiting (or a bot's) conversation; 409 when someone else was faster."""
        info = await self.conversation(conversation_id)
        conversation = _ref(info)
        async with self.gateway.lock(info.key):
            handoff = await asyncio.to_thread(self.store.take, conversation_id, mediator)
            if handoff is None:
                raise ApiError(409, "already_taken", "Cette conversation est déjà prise en charge.")
            log.info("%s takes %s", mediator.name, info.key)
            await self.gateway.pause(conversation, paused=True)
            await self.gateway.post(conversation, [texts.mediator_joined(mediator.name)])
            await self.gateway.push_state(conversation)
        await self._owner_changed(conversation_id)
        return handoff

    async def send(
        self, conversation_id: int, mediator: Mediator, text: str, client_id: str | None = None
    ) -> Reply:
        """A mediator's message: stored, delivered on the person's channel, in the tracker."""
        text = text.strip()
        if not text:
            raise ApiError(400, "empty_message", "Le message est vide.")
        if len(text) > 4000:
            raise ApiError(
                413, "payload_too_large", "Message trop long (4 000 caractères au plus)."
            )
        info = await self.conversation(conversation_id)
        conversation = _ref(info)
        async with self.gateway.lock(info.key):
            handoff = await asyncio.to_thread(self.store.current, conversation_id)
            owner = await asyncio.to_thread(self.gateway.store.conversation, info.key)
            if (
                owner is None
                or owner.owner is not Owner.MEDIATOR
                or handoff is None
                or (handoff.mediator_id != mediator.id and not mediator.admin)
            ):
                raise ApiError(
                    409,
                    "not_yours",
                    "Prenez d'abord la conversation en charge pour écrire à la personne.",
                )
            reply = Reply(
                text=text,
                author=Author.MEDIATOR,
                custom={"mediator": mediator.name},
                client_id=client_id,
            )
            [stored] = await self.gateway.post(conversation, [reply])
            await self.gateway.tell_tracker(conversation, stored, mediator=mediator.name)
        return stored

    async def hand_back(self, conversation_id: int, mediator: Mediator) -> None:
        """The bot answers again, with a short message; the tracker is resumed."""
        await self._release(conversation_id, mediator, Owner.BOT)

    async def close(
        self, conversation_id: int, mediator: Mediator, confirmed: bool = False
    ) -> None:
        """Close a conversation. Nobody joined yet: only ``confirmed``; then the person is
        told why and may leave a message (or call) instead of being dropped."""
        info = await self.conversation(conversation_id)
        if info.owner is Owner.WAITING:
            if not confirmed:
                raise ApiError(
                    409,
                    "confirmation_needed",
                    "Personne n'a encore répondu à cette personne : confirmez la clôture.",
                )
            await self._close_unanswered(info, mediator)
            return
        await self._release(conversation_id, mediator, Owner.CLOSED)

    async def _close_unanswered(self, info: ConversationInfo, mediator: Mediator) -> None:
        conversation = _ref(info)
        council = await _council()
        async with self.gateway.lock(info.key):
            offered = await asyncio.to_thread(self.store.offer_message, info.id)
            if offered is not None:
                told = texts.unanswered(council)
            else:  # leaving a message already: nobody will call back unless they call
                ended = await asyncio.to_thread(
                    self.store.end, info.id, "closed", Owner.CLOSED, (Owner.WAITING,)
                )
                if ended is None:
                    raise ApiError(409, "not_waiting", "Cette conversation n'attend plus.")
                told = texts.closed_without_message(council)
                await self.gateway.pause(conversation, paused=False)
            log.info("%s closes the unanswered %s", mediator.name, info.key)
            await self.gateway.post(conversation, [told])
            await self.gateway.push_state(conversation)
        await self._owner_changed(info.id)

    async def _release(self, conversation_id: int, mediator: Mediator, to: Owner) -> None:
        info = await self.conversation(conversation_id)
        conversation = _ref(info)
        async with self.gateway.lock(info.key):
            current = await asyncio.to_thread(self.store.current, conversation_id)
            only = None
            if (
                current is not None
                and current.status is HandoffStatus.ACTIVE
                and not mediator.admin
            ):
                only = mediator.id
            outcome = "handed_back" if to is Owner.BOT else "closed"
            ended = await asyncio.to_thread(
                self.store.end, conversation_id, outcome, to, (Owner.MEDIATOR,), only
            )
            if ended is None:
                raise ApiError(409, "not_yours", "Cette conversation n'est pas (ou plus) la vôtre.")
            log.info("%s: %s %s", mediator.name, outcome, info.key)
            if to is Owner.BOT:
                await self.gateway.pause(conversation, paused=False)
                told = texts.handed_back(ended.mediator_name)
            else:
                told = texts.closed(ended.mediator_name)
            stored = await self.gateway.post(conversation, [told])
            if to is Owner.BOT:
                await self.gateway.tell_tracker(conversation, stored[-1])
            await self.gateway.push_state(conversation)
        await self._owner_changed(conversation_id)

    async def transfer(
        self, conversation_id: int, mediator: Mediator, to_id: int, note: str = ""
    ) -> HandoffRef:
        """Give a conversation one holds (an admin: any) to another online mediator."""
        note = note.strip()
        if len(note) > 4000:
            raise ApiError(413, "payload_too_large", "Note trop longue (4 000 caractères au plus).")
        to_name = self.consoles.online_users().get(to_id)
        if to_name is None:
            raise ApiError(
                409, "not_online", "Ce médiateur n'est plus en ligne : choisissez-en un autre."
            )
        info = await self.conversation(conversation_id)
        conversation = _ref(info)
        to = Mediator(id=to_id, name=to_name)
        async with self.gateway.lock(info.key):
            current = await asyncio.to_thread(self.store.current, conversation_id)
            if current is not None and current.mediator_id == to_id:
                raise ApiError(409, "same_mediator", f"{to_name} a déjà cette conversation.")
            from_id = None if mediator.admin else mediator.id
            moved = await asyncio.to_thread(self.store.transfer, conversation_id, to, from_id)
            if moved is None or current is None:
                raise ApiError(409, "not_yours", "Cette conversation n'est pas (ou plus) la vôtre.")
            log.info("%s transfers %s to %s", mediator.name, info.key, to_name)
            written = f"Transmise à {to_name}" + (f" : {note}" if note else ".")
            await asyncio.to_thread(self.store.add_note, conversation_id, mediator, written)
            await self.gateway.post(
                conversation, [texts.transferred(current.mediator_name or mediator.name, to_name)]
            )
            await self.gateway.push_state(conversation)
        await self.consoles.to_user(
            to_id,
            {
                "type": "transferred",
                "conversation_id": conversation_id,
                "from": mediator.name,
                "note": note,
            },
        )
        await self._owner_changed(conversation_id)
        return moved

    async def release_absent(self, mediator_id: int) -> None:
        """Presence timeout: the conversations of a mediator gone too long go back to the
        head of the queue; each person is told; the other mediators are alerted."""
        gone: list[int] = []
        name = ""
        for conversation_id in await asyncio.to_thread(self.store.held_by, mediator_id):
            info = await asyncio.to_thread(self.store.info, conversation_id)
            if info is None or info.handoff is None:
                continue
            conversation = _ref(info)
            async with self.gateway.lock(info.key):
                name = info.handoff.mediator_name or ""
                back = await asyncio.to_thread(self.store.requeue, conversation_id, mediator_id)
                if back is None:
                    continue
                await self.gateway.post(conversation, [texts.mediator_gone(name)])
                await self.gateway.push_state(conversation)
            gone.append(conversation_id)
            await self._owner_changed(conversation_id)
        if gone:
            log.info("%d conversation(s) of %s back in the queue", len(gone), name)
            await self.consoles.broadcast(
                {"type": "requeued", "mediator": name, "conversations": gone}
            )

    # -- typing indicators ----------------------------------------------------------------

    def _typing_due(self, key: str, who: int | None) -> bool:
        now = time.monotonic()
        if now - self._typing.get((key, who), 0.0) < TYPING_EVERY_S:
            return False
        self._typing[(key, who)] = now
        if len(self._typing) > 10_000:  # forget the old ones now and then
            self._typing = {k: t for k, t in self._typing.items() if now - t < 60}
        return True

    async def person_typing(self, key: str) -> None:
        """The person types while waiting or with a mediator: the consoles showing it hear."""
        if not self._typing_due(key, None):
            return
        conversation = await asyncio.to_thread(self.gateway.store.conversation, key)
        if conversation is None or conversation.owner not in (Owner.WAITING, Owner.MEDIATOR):
            return
        await self.consoles.to_watchers(
            conversation.id, {"type": "typing", "conversation_id": conversation.id}
        )

    async def person_left(self, key: str) -> None:
        """The person closed the chat's last screen (web): the mediator knows it."""
        conversation = await asyncio.to_thread(self.gateway.store.conversation, key)
        if conversation is None or conversation.owner not in (Owner.WAITING, Owner.MEDIATOR):
            return
        await self.consoles.to_watchers(
            conversation.id, {"type": "person_left", "conversation_id": conversation.id}
        )

    async def mediator_typing(self, conversation_id: int, mediator: Mediator) -> None:
        """The mediator who holds the conversation types: the person's screens hear (web)."""
        info = await self.conversation(conversation_id)
        handoff = info.handoff
        if (
            info.owner is not Owner.MEDIATOR
            or handoff is None
            or handoff.mediator_id != mediator.id
            or not self._typing_due(info.key, mediator.id)
        ):
            return
        channel = self.gateway.channels.get(info.channel)
        send_typing = getattr(channel, "send_typing", None)
        if send_typing is not None:
            await send_typing(info.chat_id, mediator.name)

    # -- what the consoles show --------------------------------------------------------

    async def on_messages(self, conversation: ConversationRef, replies: Sequence[Reply]) -> None:
        """Gateway listener: each stored message to the consoles watching its conversation,
        a button press with the button's words."""
        shown: dict[int, str] = {}
        if any(r.author is Author.USER and is_payload(r.text) for r in replies):
            messages = await asyncio.to_thread(self.gateway.store.messages_of, conversation.id)
            shown = labels(messages)
        for reply in replies:
            await self.consoles.to_watchers(
                conversation.id,
                message_frame(
                    conversation.id, conversation.chat_id, reply, shown.get(reply.id or 0)
                ),
            )

    async def add_note(self, conversation_id: int, mediator: Mediator, text: str) -> None:
        text = text.strip()
        if not text:
            raise ApiError(400, "empty_note", "La note est vide.")
        if len(text) > 4000:
            raise ApiError(413, "payload_too_large", "Note trop longue (4 000 caractères au plus).")
        await self.conversation(conversation_id)
        await asyncio.to_thread(self.store.add_note, conversation_id, mediator, text)

    async def close_ticket(self, ticket_id: int, mediator: Mediator) -> None:
        if not await asyncio.to_thread(self.store.close_ticket, ticket_id, mediator):
            raise ApiError(404, "not_found", "Demande de rappel introuvable ou déjà traitée.")
        await self.consoles.broadcast({"type": "tickets"})

    # -- telling the consoles and the people waiting ---------------------------------------

    async def _owner_changed(self, conversation_id: int) -> None:
        info = await asyncio.to_thread(self.store.info, conversation_id)
        if info is not None:
            await self.consoles.to_watchers(
                conversation_id,
                {
                    "type": "conversation",
                    "conversation_id": conversation_id,
                    "owner": str(info.owner),
                    "mediator": info.handoff.mediator_name if info.handoff else None,
                    "mediator_id": info.handoff.mediator_id if info.handoff else None,
                },
            )
        await self.queue_changed()

    async def queue_changed(self) -> None:
        """Consoles get the queue; people still waiting get their new position (web)."""
        waiting = await asyncio.to_thread(self.store.queue)
        active = await asyncio.to_thread(self.store.with_mediators)
        await self.consoles.broadcast(queue_frame(waiting, active))
        for info in waiting:
            await self.gateway.push_state(_ref(info))


def queue_frame(waiting: list[ConversationInfo], active: list[ConversationInfo]) -> dict[str, Any]:
    return {
        "type": "queue",
        "waiting": [
            {
                "id": info.id,
                "channel": info.channel,
                "reason": info.handoff.reason if info.handoff else None,
                "since": info.handoff.requested_at.isoformat() if info.handoff else None,
            }
            for info in waiting
        ],
        "active": [
            {"id": info.id, "mediator": info.handoff.mediator_name if info.handoff else None}
            for info in active
        ],
    }


async def _council() -> Council:
    """The council's contacts (``data/council.yml``, re-read when it changes)."""
    return await asyncio.to_thread(load_council)
