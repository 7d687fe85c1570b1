"""Real gateway replicas for the fan-out tests: processes as the Procfile starts them, on
one database and one Redis, and the two people who use them: a person on the web widget's
protocol, a mediator on the console's."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from common.db import make_engine
from common.migrate import upgrade
from integrations.channels.web import KEY_HEADER
from integrations.console.auth import SESSION_COOKIE, StaffStore
from integrations.store import Store
from tools.stack import Process, child_env, free_port, procfile_command

MEDIATOR, PASSWORD = "annick", "pw-annick-42"


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**self.env, "GATEWAY_PORT": str(self.port)}
        self.process = Process(self.name, procfile_command("gateway"), env, self.log_path)
        self.process.start()
        self.process.wait_until(f"{self.url}/console/login", timeout=90)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def replicas(database_url: str, redis_url: str, workdir: Path, count: int = 2) -> list[Replica]:
    """``count`` replicas (not started) sharing the database (migrated) and Redis."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        StaffStore(engine).add_user(MEDIATOR, "Annick", PASSWORD, "mediator")
    finally:
        engine.dispose()
    ports = [free_port() for _ in range(count)]
    origins = ",".join(f"http://127.0.0.1:{port}" for port in ports)
    env = child_env(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PUBLIC_ORIGINS": origins,
            "GATEWAY_CHANNEL_SECRET": secrets.token_hex(16),
            # No Rasa: while a mediator holds the conversation the bot never answers.
            "RASA_URL": "http://127.0.0.1:9",
            "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",
            "GATEWAY_RASA_TIMEOUT": "5",
            "GATEWAY_RATE_PER_ADDRESS": str(10**6),
            "GATEWAY_RATE_PER_CONVERSATION": str(10**6),
            "MEDIATOR_HOURS": "24/7",
            "WIDGET_DEMO": "false",
            "LOG_LEVEL": "INFO",
        }
    )
    return [
        Replica(f"gateway-{chr(65 + i)}", port, env, workdir / f"gateway-{chr(65 + i)}.log")
        for i, port in enumerate(ports)
    ]


async def wait_for(predicate, within: float = 30, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached after {within:.0f}s: {what}")
        await asyncio.sleep(0.02)


@dataclass
class Listener:
    """A WebSocket's message frames as they come; reconnects on demand."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    ws: aiohttp.ClientWebSocketResponse | None = None
    task: asyncio.Task[None] | None = None

    def ids(self) -> list[int]:
        return [f["id"] for f in self.frames]

    @property
    def last_id(self) -> int:
        return max(self.ids(), default=0)

    def follow(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.task = asyncio.create_task(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame.get("type") == "message":
                self.frames.append(frame)
            elif frame.get("type") == "error":
                self.errors.append(frame)

    async def closed(self, within: float = 30) -> None:
        assert self.task is not None
        await asyncio.wait_for(asyncio.shield(self.task), within)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


class Person:
    """The web widget's protocol: a conversation, its key, one WebSocket at a time."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.sender = ""
        self.key = ""
        self.socket = Listener()

    @property
    def rasa_key(self) -> str:
        return f"web:{self.sender}"

    async def begin(self, replica: Replica) -> None:
        async with self.session.post(f"{replica.url}/webhooks/web/conversations", json={}) as r:
            assert r.status == 201, await r.text()
            body = await r.json()
        self.sender, self.key = body["sender"], body["key"]

    async def connect(self, replica: Replica) -> None:
        """(Re)connect to ``replica`` with the last id seen, as the widget does."""
        ws = await self.session.ws_connect(
            f"{replica.url}/webhooks/websocket?sender={self.sender}&after={self.socket.last_id}",
            headers={"Origin": replica.url},
        )
        await ws.send_json({"type": "auth", "key": self.key})
        self.socket.follow(ws)

    async def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or uuid.uuid4().hex
        assert self.socket.ws is not None
        await self.socket.ws.send_json({"message": text, "client_id": client_id})
        return client_id

    async def post(self, replica: Replica, text: str) -> aiohttp.ClientResponse:
        async with self.session.post(
            f"{replica.url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            headers={KEY_HEADER: self.key},
        ) as response:
            await response.read()
            return response


class Mediator:
    """The console's protocol: logged in, one console WebSocket watching a conversation."""

    def __init__(self, session: aiohttp.ClientSession, database_url: str) -> None:
        self.session = session
        self.database_url = database_url
        self.csrf = ""
        self.socket = Listener()
        self.conversation_id = 0

    async def login(self, replica: Replica) -> None:
        async with self.session.get(f"{replica.url}/console/login") as page:
            text = await page.text()
        token = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with self.session.post(
            f"{replica.url}/console/login",
            data={"username": MEDIATOR, "password": PASSWORD, "csrf": token},
            allow_redirects=False,
        ) as response:
            assert response.status == 302, await response.text()
        cookie = self.session.cookie_jar.filter_cookies(replica.url)[SESSION_COOKIE].value
        engine = make_engine(self.database_url)
        try:
            session = await asyncio.to_thread(StaffStore(engine).session, cookie)
        finally:
            engine.dispose()
        assert session is not None
        self.csrf = session.csrf_token

    async def connect(self, replica: Replica, conversation_id: int) -> None:
        """(Re)open the console's socket on ``replica`` and watch the conversation from
        the last id seen, as mediator.js does."""
        self.conversation_id = conversation_id
        ws = await self.session.ws_connect(
            f"{replica.url}/console/ws?csrf={self.csrf}", headers={"Origin": replica.url}
        )
        await ws.send_json(
            {"action": "watch", "conversation_id": conversation_id, "after": self.socket.last_id}
        )
        self.socket.follow(ws)

    async def take(self, replica: Replica) -> None:
        async with self.session.post(
            f"{replica.url}/console/conversations/{self.conversation_id}/take",
            json={},
            headers={"X-CSRF-Token": self.csrf, "Origin": replica.url},
        ) as response:
            assert response.status == 200, await response.text()

    async def say(self, text: str) -> str:
        client_id = uuid.uuid4().hex
        assert self.socket.ws is not None
        await self.socket.ws.send_json(
            {
                "action": "send",
                "conversation_id": self.conversation_id,
                "text": text,
                "client_id": client_id,
            }
        )
        return client_id


def stored_ids(database_url: str, key: str) -> tuple[int, list[int]]:
    """The conversation's id and the ids of its stored messages, in order."""
    engine = make_engine(database_url)
    try:
        store = Store(engine)
        conversation = store.conversation(key)
        assert conversation is not None, key
        return conversation.id, [m.id for m in store.messages_of(conversation.id)]
    finally:
        engine.dispose()


def owner_of(database_url: str, key: str) -> str:
    engine = make_engine(database_url)
    try:
        conversation = Store(engine).conversation(key)
        return str(conversation.owner) if conversation else "none"
    finally:
        engine.dispose()
