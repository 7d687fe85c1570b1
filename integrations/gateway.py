"""The path of every message: store it, ask the owner, store and deliver the answers.

```mermaid
flowchart LR
  U[user message] --> S[stored, id assigned] --> O{Gateway.answer: owner?}
  O -- bot --> R[Rasa] --> A[answers stored] --> H{handoff asked?}
  H -- yes --> W[waiting: tracker paused, queue position told]
  O -- waiting / mediator --> T[paused tracker records it; mediators see it]
  O -- closed --> B[back to the bot, tracker resumed] --> R
  R -- down / timeout --> Q[outbox: told once, answered later in order] --> R
```

``Gateway.answer`` is the one place that decides who answers. The owner is kept in
``conversations.owner`` and changed only by the handoff state machine's atomic
transitions (``integrations/handoff/store.py``): the bot answers when it owns the
conversation; while it is waiting or with a mediator, the bot never answers (the paused
Rasa tracker only records the message); a closed conversation goes back to the bot when
the person writes again.

Messages of one conversation are stored and delivered under one lock, so ids and
delivery follow the same order. Listeners (the mediator consoles) see every stored
message; the handoff area (``integrations/handoff``) plugs in as :class:`Handoff`.

Nothing lost, nothing twice: a message for the bot is queued in the outbox in the
transaction that stores it (``integrations/outbox.py``), sent to Rasa with its
idempotency key, and its row deleted in the transaction that stores the answers. When
Rasa does not answer (down, timed out, a worker killed) the person is told once that the
answer will come; :meth:`Gateway.drain` sends the queued messages again, each
conversation's in order, and delivers the answers on the person's channel.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from integrations import emergency, fault_reports, metrics
from integrations.messages import UNAVAILABLE, Incoming, Reply
from integrations.outbox import GAVE_UP, QUEUED, AlreadyAnswered, Enqueued, Outbox, Pending
from integrations.rasa_client import RasaClient, RasaUnavailable
from integrations.store import ConversationRef, ConversationState, Owner, Store
from integrations.tracker_events import delete_tracker_events

log = logging.getLogger(__name__)

# The intent payload the widget's "Parler à un médiateur" sends: always starts a handoff.
REQUEST_HUMAN = "/request_human"
# Tries of a new message before it waits in the outbox (the drain task tries it again).
SEND_ATTEMPTS = 2
RETRY_PAUSE_S = 0.5

Listener = Callable[[ConversationRef, Sequence[Reply]], Awaitable[None]]
Echo = Callable[[Reply], Awaitable[None]]
Answered = Callable[[list[Reply]], Awaitable[None]]


class Channel(Protocol):
    """What the gateway needs of a channel to reach a user outside a request."""

    name: str

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None: ...


class Handoff(Protocol):
    """The handoff area, as the gateway calls it (see integrations/handoff/service.py)."""

    async def start(self, conversation: ConversationRef, reason: str) -> list[Reply]: ...

    async def on_user_message(
        self, conversation: ConversationRef, message: Incoming
    ) -> list[Reply]: ...

    async def state(self, key: str) -> dict[str, Any]: ...

    async def forgotten(self, conversation_id: int) -> None: ...

    async def person_typing(self, key: str) -> None: ...

    async def person_left(self, key: str) -> None: ...

    async def file_ticket(self, conversation: ConversationRef, contact: str, text: str) -> int: ...


# A lock shared by several gateway replicas (``integrations/bus.py``), when there are.
SharedLock = Callable[[str], AbstractAsyncContextManager[Any]]


class Gateway:
    def __init__(
        self,
        store: Store,
        rasa: RasaClient,
        outbox: Outbox | None = None,
        *,
        shared_lock: SharedLock | None = None,
    ) -> None:
        self.store = store
        self.rasa = rasa
        self.outbox = outbox if outbox is not None else Outbox(store)
        self.shared_lock = shared_lock
        self.channels: dict[str, Channel] = {}
        self.listeners: list[Listener] = []
        self.handoff: Handoff | None = None
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def register(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    def lock(self, key: str) -> AbstractAsyncContextManager[Any]:
        """The lock that keeps one conversation's messages in order (across replicas)."""
        if self.shared_lock is not None:
            return self.shared_lock(key)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(
        self, message: Incoming, echo: Echo | None = None, answered: Answered | None = None
    ) -> list[Reply]:
        """Store ``message``, get the answers of the conversation's owner, store them.

        ``echo`` gets the stored user message (with its id) before anyone answers, and
        ``answered`` the answers, both still under the conversation's lock (a push channel
        delivers there, so nothing a mediator writes meanwhile can overtake them). Other
        callers render the returned answers on their channel. When Rasa or the action
        server is down the user gets a polite French message; the message stays stored.
        """
        key = message.conversation_key
        with metrics.answer_seconds.labels(message.channel).time():
            async with self.lock(key):
                answers = await self._handle(message, echo)
                if answered is not None:
                    await answered(answers)
                return answers

    async def _handle(self, message: Incoming, echo: Echo | None) -> list[Reply]:
        enqueue = self.outbox.enqueuer(message)
        conversation, stored = await asyncio.to_thread(self.store.record_incoming, message, enqueue)
        if echo is not None:
            await echo(stored)
        await self.notify(conversation, [stored])
        return await self.answer(conversation, message, enqueue.queued)

    async def answer(
        self, conversation: ConversationRef, message: Incoming, queued: Enqueued | None = None
    ) -> list[Reply]:
        """Who answers ``message``: the bot when it owns the conversation (a closed one
        goes back to it), else the handoff area (waiting or mediator: never the bot).
        ``queued``: the message's outbox row, as the transaction that stored the message
        queued it (under the conversation's lock since), used or dropped."""
        if conversation.owner is Owner.CLOSED:
            conversation = await self._reopen(conversation)
        if conversation.owner is not Owner.BOT:
            if queued is not None:
                await asyncio.to_thread(self.outbox.finish, queued.entry.message_id)
            if self.handoff is None:
                return []
            return await self.handoff.on_user_message(conversation, message)
        if queued is None:  # not queued (a message stored elsewhere): asked once, as is
            return await self._bot_replies(conversation, message.text, await self._ask_bot(message))
        return await self._bot_answers(conversation, queued)

    async def _bot_answers(self, conversation: ConversationRef, queued: Enqueued) -> list[Reply]:
        """The queued message sent to Rasa unless earlier ones wait; if Rasa does not
        answer, it waits in the outbox and the person is told (once) that the answer
        will come. A person asking for a mediator gets one even while Rasa is down."""
        entry = queued.entry
        if queued.behind:
            return await self._queued(conversation, entry.text)
        try:
            answer = await self._send(entry, SEND_ATTEMPTS)
        except RasaUnavailable as err:
            log.warning("Rasa unavailable for %s, message queued: %s", entry.sender, err)
            if entry.text.strip() == REQUEST_HUMAN and self.handoff is not None:
                await asyncio.to_thread(self.outbox.finish, entry.message_id)
                return await self._bot_replies(conversation, entry.text, [UNAVAILABLE])
            await asyncio.to_thread(self.outbox.postpone, entry.message_id)
            return await self._queued(conversation, entry.text)
        replies = await self._replies_of(answer, entry.sender)
        return await self._bot_replies(conversation, entry.text, replies, entry.message_id)

    async def _queued(self, conversation: ConversationRef, text: str) -> list[Reply]:
        """The emergency numbers ``text`` calls for, now, and the notice that the answer
        will come, the first time only."""
        shown = emergency.notices(text)
        if await asyncio.to_thread(self.outbox.claim_notice, conversation.id):
            shown.append(QUEUED)
        if not shown:
            return []
        answers = await asyncio.to_thread(self.store.record_replies, conversation.id, shown)
        await self.notify(conversation, answers)
        return answers

    async def drain(self) -> int:
        """Send the due queued messages again, each conversation's in order, and deliver
        the answers on the person's channel; how many were answered."""
        answered = 0
        for conversation_id, key in await asyncio.to_thread(self.outbox.due):
            async with self.lock(key):
                answered += await self._drain_conversation(conversation_id, key)
        return answered

    async def _drain_conversation(self, conversation_id: int, key: str) -> int:
        answered = 0
        for entry in await asyncio.to_thread(self.outbox.pending_of, conversation_id):
            conversation = await asyncio.to_thread(self.store.conversation, key)
            if conversation is None:
                break
            try:
                answer = await self._send(entry, 1)
            except RasaUnavailable as err:
                log.info("queued message %d of %s not sent yet: %s", entry.message_id, key, err)
                if await asyncio.to_thread(self.outbox.postpone, entry.message_id):
                    log.error("queued message %d of %s given up", entry.message_id, key)
                    await self.post(conversation, [GAVE_UP])
                    continue
                break
            if conversation.owner is not Owner.BOT:  # the paused tracker recorded it
                await asyncio.to_thread(self.outbox.finish, entry.message_id)
                continue
            replies = await self._replies_of(answer, key)
            answers = await self._bot_replies(
                conversation, entry.text, replies, entry.message_id, urgent=False
            )
            await self.deliver(conversation, answers)
            answered += 1
        return answered

    async def _send(self, entry: Pending, attempts: int) -> list[dict[str, Any]]:
        """``entry`` through Rasa's gateway channel, with its idempotency key."""
        for attempt in range(1, attempts + 1):
            try:
                return await self.rasa.send(
                    entry.sender, entry.text, entry.rasa_metadata, input_channel=entry.input_channel
                )
            except RasaUnavailable:
                if attempt == attempts:
                    raise
                await asyncio.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    async def _bot_replies(
        self,
        conversation: ConversationRef,
        text: str,
        replies: list[Reply],
        message_id: int | None = None,
        urgent: bool = True,
    ) -> list[Reply]:
        """Rasa's answers, stored (with the message's outbox row deleted in the same
        transaction), after the emergency numbers the message calls for (with ``urgent``;
        a queued message had them when it was queued); a handoff started when the bot or
        the person asks one."""
        replies = await fault_reports.file_reports(self, conversation, replies, message_id)
        reason = next((r.handoff_request for r in replies if r.handoff_request), None)
        if reason is None and text.strip() == REQUEST_HUMAN:
            reason = "request_human"
        if reason is not None and self.handoff is not None:
            # The handoff's message is the one that says what happens next: the bot's
            # words asking for it (or a "service unavailable") would contradict it.
            shown = [r for r in replies if not r.handoff_request and r is not UNAVAILABLE]
        else:
            shown = [r for r in replies if r.text or r.buttons or r.image or not r.handoff_request]
        if urgent:
            shown = emergency.notices(text) + shown
        done = self.outbox.done(message_id) if message_id is not None else None
        try:
            answers = await asyncio.to_thread(
                self.store.record_replies, conversation.id, shown, done
            )
        except (AlreadyAnswered, LookupError) as err:  # another replica, or deleted
            log.info("answers of %s not stored: %r", conversation.key, err)
            return []
        await self.notify(conversation, answers)
        if reason is not None and self.handoff is not None:
            answers += await self.handoff.start(conversation, reason)
        return answers

    async def record_in_tracker(self, message: Incoming) -> None:
        """Send a message to Rasa only so the paused tracker keeps it (no answer expected)."""
        try:
            answer = await self._send_to_rasa(message)
        except RasaUnavailable as err:
            log.warning("Rasa did not record %s: %s", message.conversation_key, err)
            return
        if answer:
            log.warning("Rasa answered a paused conversation %s; dropped", message.conversation_key)

    async def post(
        self, conversation: ConversationRef, replies: Sequence[Reply], deliver: bool = True
    ) -> list[Reply]:
        """Store messages written outside the bot's answer (gateway, mediator), in order,
        and, with ``deliver``, send them on the person's channel. Call it under ``lock``."""
        stored = await asyncio.to_thread(self.store.record_replies, conversation.id, replies)
        await self.notify(conversation, stored)
        if deliver:
            await self.deliver(conversation, stored)
        return stored

    async def deliver(self, conversation: ConversationRef, replies: Sequence[Reply]) -> None:
        channel = self.channels.get(conversation.channel)
        if channel is None:
            log.warning("no %s channel to reach %s", conversation.channel, conversation.key)
            return
        try:
            await channel.send(conversation.chat_id, replies)
        except Exception:  # stored already: web clients get it on reconnect
            log.exception("could not deliver to %s", conversation.key)

    async def notify(self, conversation: ConversationRef, replies: Sequence[Reply]) -> None:
        for listener in self.listeners:
            try:
                await listener(conversation, replies)
            except Exception:  # a console's trouble must not stop the conversation
                log.exception("listener failed for %s", conversation.key)

    async def state(self, key: str) -> dict[str, Any]:
        """The web ``state`` frame's fields: owner, queue position, mediator's first name."""
        if self.handoff is not None:
            return await self.handoff.state(key)
        conversation = await asyncio.to_thread(self.store.conversation, key)
        owner = conversation.owner if conversation is not None else Owner.BOT
        return ConversationState(owner).as_dict()

    async def typing(self, key: str) -> None:
        """The person is typing (web): mediators who show the conversation are told."""
        if self.handoff is not None:
            await self.handoff.person_typing(key)

    async def person_left(self, key: str) -> None:
        """The person's last screen closed (web): mediators who show it are told."""
        if self.handoff is not None:
            await self.handoff.person_left(key)

    async def push_state(self, conversation: ConversationRef) -> None:
        """Tell the person's screens (web only) that the owner or queue position changed."""
        channel = self.channels.get(conversation.channel)
        send_state = getattr(channel, "send_state", None)
        if send_state is None:
            return
        try:
            await send_state(conversation.chat_id, await self.state(conversation.key))
        except Exception:
            log.exception("could not push the state of %s", conversation.key)

    async def pause(self, conversation: ConversationRef, paused: bool) -> None:
        """Pause or resume the Rasa tracker; a down Rasa is logged, the handoff goes on."""
        try:
            await self.rasa.append_events(
                conversation.key, [{"event": "pause" if paused else "resume"}]
            )
        except RasaUnavailable as err:
            log.warning(
                "could not %s %s: %s", "pause" if paused else "resume", conversation.key, err
            )

    async def tell_tracker(self, conversation: ConversationRef, reply: Reply, **meta: Any) -> None:
        """Append a message someone else wrote as a bot event, so the history is whole."""
        event = {
            "event": "bot",
            "text": reply.text,
            "metadata": {"author": str(reply.author), **meta},
        }
        try:
            await self.rasa.append_events(conversation.key, [event])
        except RasaUnavailable as err:
            log.warning(
                "tracker of %s missed a %s message: %s", conversation.key, reply.author, err
            )

    async def forget(self, key: str) -> bool:
        """Delete a conversation (the person's "Effacer la conversation"): messages, handoffs,
        Rasa's tracker events. Mediators see it disappear. False when there was none."""
        async with self.lock(key):
            conversation_id = await asyncio.to_thread(self.store.delete_conversation, key)
            try:  # forgets the state (and a pause) even when Rasa keeps events elsewhere
                await self.rasa.append_events(key, [{"event": "restart"}])
            except RasaUnavailable as err:
                log.warning("could not restart the tracker of %s: %s", key, err)
            deleted = await asyncio.to_thread(
                delete_tracker_events, self.store.engine, sender_id=key
            )
            self.rasa.forget_route(key)
            log.info("conversation %s deleted (%d tracker events)", key, deleted)
        if conversation_id is not None and self.handoff is not None:
            await self.handoff.forgotten(conversation_id)
        return conversation_id is not None

    async def _reopen(self, conversation: ConversationRef) -> ConversationRef:
        """The person writes again after a close: the bot answers again."""
        if await asyncio.to_thread(self.store.reopen, conversation.id):
            await self.pause(conversation, paused=False)
            await self.push_state(conversation)
        current = await asyncio.to_thread(self.store.conversation, conversation.key)
        return current or conversation

    async def _send_to_rasa(self, message: Incoming) -> list[dict[str, Any]]:
        return await self.rasa.send(
            message.conversation_key,
            message.text,
            message.rasa_metadata(),
            input_channel=message.channel,
        )

    async def _ask_bot(self, message: Incoming) -> list[Reply]:
        try:
            answer = await self._send_to_rasa(message)
        except RasaUnavailable as err:
            log.warning("Rasa unavailable for %s: %s", message.conversation_key, err)
            return [UNAVAILABLE]
        return await self._replies_of(answer, message.conversation_key)

    async def _replies_of(self, answer: list[dict[str, Any]], key: str) -> list[Reply]:
        replies = [Reply.from_rasa(m) for m in answer]
        if not replies and not await self.rasa.actions_ok():
            # Rasa swallows action-server failures and answers nothing.
            log.warning("action server unavailable for %s", key)
            return [UNAVAILABLE]
        return replies
