"""The path of every user message: store it, ask the owner, store and return the answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from integrations.messages import UNAVAILABLE, Incoming, Reply
from integrations.rasa_client import RasaClient, RasaUnavailable
from integrations.routing import owner_of
from integrations.store import Owner, Store

log = logging.getLogger(__name__)


class Channel(Protocol):
    """What the gateway needs of a channel to reach a user outside a request."""

    name: str

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None: ...


class Gateway:
    def __init__(self, store: Store, rasa: RasaClient) -> None:
        self.store = store
        self.rasa = rasa
        self.channels: dict[str, Channel] = {}

    def register(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def handle(self, message: Incoming) -> list[Reply]:
        """Store ``message``, get the answers of the conversation's owner, store them.

        The caller renders the answers on its channel. When Rasa or the action server
        is down the user gets a polite French message, and the message stays stored.
        """
        conversation = await asyncio.to_thread(self.store.record_incoming, message)
        if owner_of(conversation) is not Owner.BOT:
            # A mediator (or nobody) owns it: the handoff issue relays the message there.
            return []
        replies = await self._ask_bot(message)
        await asyncio.to_thread(self.store.record_replies, conversation.id, replies)
        return replies

    async def _ask_bot(self, message: Incoming) -> list[Reply]:
        try:
            answer = await self.rasa.send(
                message.conversation_key,
                message.text,
                message.rasa_metadata(),
                input_channel=message.channel,
            )
        except RasaUnavailable as err:
            log.warning("Rasa unavailable for %s: %s", message.conversation_key, err)
            return [UNAVAILABLE]
        replies = [Reply.from_rasa(m) for m in answer]
        if not replies and not await self.rasa.actions_ok():
            # Rasa swallows action-server failures and answers nothing.
            log.warning("action server unavailable for %s", message.conversation_key)
            return [UNAVAILABLE]
        return replies
