"""The mediators' console WebSockets, presence and live frames, across gateway replicas.

A mediator is *online* while at least one console page of theirs holds a WebSocket, on
any replica. Each replica announces on the bus who has a console open on it (at every
change, every ``HEARTBEAT_S`` seconds, and when another replica starts); a replica not
heard of for ``EXPIRY_S`` (stopped, killed) no longer counts. ``on_presence`` callbacks
hear when a mediator comes online anywhere and when their last console closes
everywhere (``integrations/handoff/presence.py`` acts on it).

Frames for the consoles (``to_user``, ``broadcast``, ``to_watchers``) go through the bus,
so that each replica delivers them to the sockets it holds. Each socket watches the
conversations whose page it shows, with the last message id it was sent for each: a
stored message of such a conversation is pushed to it once, in order, as ``{"type":
"message", "conversation_id", ...frame}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from integrations.bus import Bus, BusUnavailable
from integrations.messages import Reply

log = logging.getLogger(__name__)

TOPIC = "console"
PRESENCE_TOPIC = "presence"
HEARTBEAT_S = 5.0
EXPIRY_S = 3 * HEARTBEAT_S


@dataclass(eq=False)
class ConsoleSocket:
    ws: web.WebSocketResponse
    user_id: int
    name: str = ""
    # Conversation id -> the last message id this socket was sent of it.
    watching: dict[int, int] = field(default_factory=dict)


# Called with a mediator's id and whether they are now online.
PresenceListener = Callable[[int, bool], None]
# The frames of a conversation's messages after an id (``ConsoleHub.resync``).
Replay = Callable[[int, int], Awaitable[list[dict[str, Any]]]]
# What a (re)connected console is sent first: the queue, who is online.
Greeting = Callable[[], Awaitable[list[dict[str, Any]]]]


class ConsoleHub:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._sockets: set[ConsoleSocket] = set()
        # Other replicas: replica -> (when heard of last, {user id: first name}).
        self._remote: dict[str, tuple[float, dict[int, str]]] = {}
        self.on_presence: list[PresenceListener] = []
        self._heartbeat: asyncio.Task[None] | None = None
        bus.subscribe(TOPIC, self._on_frame)
        bus.subscribe(PRESENCE_TOPIC, self._on_presence)

    # -- sockets of this replica ----------------------------------------------------------

    def add(self, socket: ConsoleSocket) -> None:
        before = self.online_users()
        self._sockets.add(socket)
        self._changed(before)

    def remove(self, socket: ConsoleSocket) -> None:
        if socket not in self._sockets:
            return
        before = self.online_users()
        self._sockets.discard(socket)
        self._changed(before)

    def sockets(self) -> int:
        """How many console sockets this replica holds."""
        return len(self._sockets)

    def watch(self, socket: ConsoleSocket, conversation_id: int, last_id: int) -> None:
        """``socket`` shows ``conversation_id`` and was sent its messages up to ``last_id``."""
        socket.watching[conversation_id] = last_id

    # -- presence, every replica ----------------------------------------------------------

    def _local_users(self) -> dict[int, str]:
        return {s.user_id: s.name for s in self._sockets}

    def online_users(self) -> dict[int, str]:
        """Mediators with a console open on any replica: id -> first name, by name."""
        now = time.monotonic()
        users: dict[int, str] = {}
        for heard, remote in self._remote.values():
            if now - heard < EXPIRY_S:
                users.update(remote)
        users.update(self._local_users())
        return dict(sorted(users.items(), key=lambda item: item[1]))

    def online(self) -> int:
        """How many mediators have a console open."""
        return len(self.online_users())

    def is_online(self, user_id: int) -> bool:
        return user_id in self.online_users()

    def _changed(self, before: dict[int, str]) -> None:
        """This replica's consoles changed: the listeners and the other replicas hear."""
        self._notify(before)
        self._announce_soon()

    def _notify(self, before: dict[int, str]) -> None:
        """Tell the listeners who came and who went since ``before``."""
        after = self.online_users()
        for user_id in after.keys() - before.keys():
            self._presence(user_id, True)
        for user_id in before.keys() - after.keys():
            self._presence(user_id, False)

    def _presence(self, user_id: int, online: bool) -> None:
        for listener in self.on_presence:
            listener(user_id, online)

    def _announce_soon(self, hello: bool = False) -> None:
        if self.bus.shared:
            task = asyncio.get_running_loop().create_task(self._announce(hello))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _announce(self, hello: bool = False) -> None:
        message = {
            "replica": self.bus.replica,
            "users": {str(k): v for k, v in self._local_users().items()},
            "hello": hello,
        }
        try:
            await self.bus.publish(PRESENCE_TOPIC, message)
        except BusUnavailable:
            pass  # the heartbeat says it again once Redis is back

    async def _on_presence(self, message: dict[str, Any]) -> None:
        replica = message["replica"]
        if replica == self.bus.replica:
            return
        before = self.online_users()
        users = {int(k): str(v) for k, v in message["users"].items()}
        if users or message.get("hello"):
            self._remote[replica] = (time.monotonic(), users)
        else:
            self._remote.pop(replica, None)  # stopped
        if message.get("hello"):
            await self._announce()  # a replica starts: it learns who is online here
        self._notify(before)

    async def start(self) -> None:
        """Say hello (the others answer with their consoles), then the heartbeat."""
        if self.bus.shared:
            self._heartbeat = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        hello = True
        while True:
            await self._announce(hello)
            hello = False
            await asyncio.sleep(HEARTBEAT_S)
            before = self.online_users()
            now = time.monotonic()
            for replica, (heard, _) in list(self._remote.items()):
                if now - heard >= EXPIRY_S:
                    log.info(
                        "replica %s not heard of for %ss: its consoles count as gone",
                        replica,
                        EXPIRY_S,
                    )
                    del self._remote[replica]
            self._notify(before)

    # -- frames ---------------------------------------------------------------------------

    async def to_user(self, user_id: int, frame: dict[str, Any]) -> None:
        await self._publish({"user_id": user_id, "frame": frame})

    async def broadcast(self, frame: dict[str, Any]) -> None:
        await self._publish({"frame": frame})

    async def to_watchers(self, conversation_id: int, frame: dict[str, Any]) -> None:
        await self._publish({"conversation_id": conversation_id, "frame": frame})

    async def _publish(self, message: dict[str, Any]) -> None:
        try:
            await self.bus.publish(TOPIC, message)
        except BusUnavailable:  # stored: ``resync`` sends it once the bus is back
            log.warning(
                "console frame %s not pushed: the bus is unavailable", message["frame"].get("type")
            )

    async def _on_frame(self, message: dict[str, Any]) -> None:
        frame = message["frame"]
        if "user_id" in message:
            sockets = [s for s in self._sockets if s.user_id == message["user_id"]]
        elif "conversation_id" in message:
            sockets = [s for s in self._sockets if message["conversation_id"] in s.watching]
        else:
            sockets = list(self._sockets)
        await self.send_local(sockets, frame)

    async def send_local(self, sockets: list[ConsoleSocket], frame: dict[str, Any]) -> None:
        """``frame`` to these sockets of this replica; a message frame once per socket."""
        message_id = frame.get("id") if frame.get("type") == "message" else None
        for socket in sockets:
            if isinstance(message_id, int):
                conversation_id = frame["conversation_id"]
                if message_id <= socket.watching.get(conversation_id, message_id):
                    continue
                socket.watching[conversation_id] = message_id
            try:
                await socket.ws.send_json(frame)
            except (ConnectionError, RuntimeError) as err:
                log.info("dropping a closed console socket: %r", err)
                self.remove(socket)

    async def local_broadcast(self, frame: dict[str, Any]) -> None:
        """``frame`` to this replica's consoles only (each replica tells its own)."""
        await self.send_local(list(self._sockets), frame)

    async def resync(self, greeting: Greeting, replay: Replay) -> None:
        """After a bus outage: each console gets the queue again and the messages of the
        conversations it shows stored after the last one it was sent."""
        first = await greeting()
        for socket in list(self._sockets):
            for frame in first:
                await self.send_local([socket], frame)
            for conversation_id, last in list(socket.watching.items()):
                for frame in await replay(conversation_id, last):
                    await self.send_local([socket], frame)
        self._announce_soon()

    async def close_all(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        sockets = list(self._sockets)
        self._sockets.clear()
        await self._announce()  # the others know at once that these consoles are gone
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
