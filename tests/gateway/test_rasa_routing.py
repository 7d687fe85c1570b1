"""Conversations spread over several Rasa workers (integrations/rasa_client.py).

Two small HTTP servers stand for two Rasa workers on consecutive ports and record the
senders they are sent; the conversations are rows of the gateway's real SQLite store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from common.db import make_engine
from common.migrate import upgrade
from integrations.messages import Incoming, Role
from integrations.rasa_client import GATEWAY_CHANNEL_PATH, RasaClient, worker_of
from integrations.store import Store
from tools.stack import free_ports

Workers = tuple[RasaClient, list[list[str]], Store]


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[Workers]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    engine = make_engine(url)
    store = Store(engine)
    received: list[list[str]] = [[], []]
    runners = []
    first = free_ports(2)
    for index in range(2):

        async def answer(request: web.Request, index: int = index) -> web.Response:
            received[index].append((await request.json())["sender"])
            return web.json_response([{"text": "ok"}])

        async def events(request: web.Request, index: int = index) -> web.Response:
            received[index].append(request.match_info["sender"])
            return web.json_response({})

        app = web.Application()
        app.router.add_post(GATEWAY_CHANNEL_PATH, answer)
        app.router.add_post("/conversations/{sender}/tracker/events", events)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", first + index).start()
        runners.append(runner)
    async with aiohttp.ClientSession() as session:
        client = RasaClient(
            session,
            f"http://127.0.0.1:{first}",
            "http://127.0.0.1:9/health",
            workers=2,
            conversation_id=store.conversation_id,
        )
        yield client, received, store
    for runner in runners:
        await runner.cleanup()
    engine.dispose()


def stored(store: Store, chat: str) -> str:
    conversation, _ = store.record_incoming(Incoming("web", chat, None, "bonjour", Role.CITIZEN))
    return conversation.key


async def test_consecutive_conversations_alternate_and_keep_their_worker(workers: Workers):
    client, received, store = workers
    keys = [stored(store, f"person-{i}") for i in range(6)]
    for _ in range(2):
        for key in keys:
            await client.send(key, "bonjour", {}, "web")
    await client.append_events(keys[0], [{"event": "pause"}])
    assert [len(r) for r in received] == [6, 7]  # 3 and 3 conversations, whatever the keys
    assert not set(received[0]) & set(received[1])  # each conversation on one worker only
    assert received[1][-1] == keys[0]  # the tracker call goes to the conversation's worker


async def test_a_sender_not_stored_is_routed_by_its_hash_and_not_remembered(workers: Workers):
    client, received, store = workers
    await client.send("web:nobody", "bonjour", {}, "web")
    assert received[worker_of("web:nobody", 2)] == ["web:nobody"]
    stored(store, "nobody")  # now stored: its id decides from here on
    index = store.conversation_id("web:nobody") % 2
    await client.send("web:nobody", "bonjour", {}, "web")
    assert received[index][-1] == "web:nobody"


async def test_a_deleted_conversation_written_again_gets_the_worker_of_its_new_id(
    workers: Workers,
):
    client, received, store = workers
    key = stored(store, "again")
    first = store.conversation_id(key)
    await client.send(key, "bonjour", {}, "web")
    stored(store, "other")
    stored(store, "third")
    store.delete_conversation(key)
    client.forget_route(key)
    stored(store, "again")  # a new id, the one after "third": of the other parity
    assert (store.conversation_id(key) - first) % 2 == 1
    await client.send(key, "bonjour", {}, "web")
    assert received[first % 2] == [key] and received[1 - first % 2] == [key]
