"""The mediators' open console WebSockets: presence, queue updates, live messages.

A mediator is *online* while at least one console page of theirs holds a WebSocket.
Each socket watches the conversations whose page it shows; a stored message of such a
conversation is pushed to it as ``{"type": "message", "conversation_id", ...frame}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from integrations.messages import Reply
from integrations.store import ConversationRef

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ConsoleSocket:
    ws: web.WebSocketResponse
    user_id: int
    watching: set[int] = field(default_factory=set)


class ConsoleHub:
    def __init__(self) -> None:
        self._sockets: set[ConsoleSocket] = set()

    def add(self, socket: ConsoleSocket) -> None:
        self._sockets.add(socket)

    def remove(self, socket: ConsoleSocket) -> None:
        self._sockets.discard(socket)

    def online(self) -> int:
        """How many mediators have a console open."""
        return len({s.user_id for s in self._sockets})

    async def broadcast(self, frame: dict[str, Any]) -> None:
        await self._send([s for s in self._sockets], frame)

    async def to_watchers(self, conversation_id: int, frame: dict[str, Any]) -> None:
        await self._send([s for s in self._sockets if conversation_id in s.watching], frame)

    async def on_messages(self, conversation: ConversationRef, replies: Sequence[Reply]) -> None:
        """Gateway listener: every stored message to the consoles watching its conversation."""
        for reply in replies:
            await self.to_watchers(
                conversation.id, message_frame(conversation.id, conversation.chat_id, reply)
            )

    async def _send(self, sockets: list[ConsoleSocket], frame: dict[str, Any]) -> None:
        for socket in sockets:
            try:
                await socket.ws.send_json(frame)
            except (ConnectionError, RuntimeError) as err:
                log.info("dropping a closed console socket: %r", err)
                self.remove(socket)

    async def close_all(self) -> None:
        sockets = list(self._sockets)
        self._sockets.clear()
        await asyncio.gather(
            *(s.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for s in sockets),
            return_exceptions=True,
        )


def message_frame(conversation_id: int, chat_id: str, reply: Reply) -> dict[str, Any]:
    """A console's ``message`` frame: the person's message frame and its conversation."""
    return {"conversation_id": conversation_id, **reply.as_frame(chat_id)}
