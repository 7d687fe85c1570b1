"""The mediators' open console WebSockets: presence, queue updates, live messages.

A mediator is *online* while at least one console page of theirs holds a WebSocket;
``on_presence`` callbacks hear when a mediator's first socket opens and when the last
one closes (``integrations/handoff/presence.py`` acts on it). Each socket watches the
conversations whose page it shows; a stored message of such a conversation is pushed
to it as ``{"type": "message", "conversation_id", ...frame}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from integrations.messages import Reply

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ConsoleSocket:
    ws: web.WebSocketResponse
    user_id: int
    name: str = ""
    watching: set[int] = field(default_factory=set)


# Called with a mediator's id and whether they are now online.
PresenceListener = Callable[[int, bool], None]


class ConsoleHub:
    def __init__(self) -> None:
        self._sockets: set[ConsoleSocket] = set()
        self.on_presence: list[PresenceListener] = []

    def add(self, socket: ConsoleSocket) -> None:
        first = not self.is_online(socket.user_id)
        self._sockets.add(socket)
        if first:
            self._presence(socket.user_id, True)

    def remove(self, socket: ConsoleSocket) -> None:
        if socket not in self._sockets:
            return
        self._sockets.discard(socket)
        if not self.is_online(socket.user_id):
            self._presence(socket.user_id, False)

    def _presence(self, user_id: int, online: bool) -> None:
        for listener in self.on_presence:
            listener(user_id, online)

    def online(self) -> int:
        """How many mediators have a console open."""
        return len({s.user_id for s in self._sockets})

    def is_online(self, user_id: int) -> bool:
        return any(s.user_id == user_id for s in self._sockets)

    def online_users(self) -> dict[int, str]:
        """Mediators with a console open: id -> first name, by name."""
        users = {s.user_id: s.name for s in self._sockets}
        return dict(sorted(users.items(), key=lambda item: item[1]))

    async def to_user(self, user_id: int, frame: dict[str, Any]) -> None:
        await self._send([s for s in self._sockets if s.user_id == user_id], frame)

    async def broadcast(self, frame: dict[str, Any]) -> None:
        await self._send([s for s in self._sockets], frame)

    async def to_watchers(self, conversation_id: int, frame: dict[str, Any]) -> None:
        await self._send([s for s in self._sockets if conversation_id in s.watching], frame)

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


def message_frame(
    conversation_id: int, chat_id: str, reply: Reply, label: str | None = None
) -> dict[str, Any]:
    """A console's ``message`` frame: the person's message frame and its conversation;
    ``label``: the words of the button whose payload the person sent."""
    frame = {"conversation_id": conversation_id, **reply.as_frame(chat_id)}
    if label is not None:
        frame["label"] = label
    return frame


def presence_frame(hub: ConsoleHub) -> dict[str, Any]:
    """Who has a console open, by first name."""
    return {"type": "presence", "online": list(hub.online_users().values())}
