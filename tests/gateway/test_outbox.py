"""Nothing lost, nothing twice (integrations/outbox.py, rasa_ext/gateway_channel.py).

Rasa is the real server of the session. Between the gateway and Rasa stands a loopback
switch (:class:`RasaSwitch`): it forwards every request to the real Rasa, or refuses it
(Rasa down), or forwards it and loses the answer (a timeout, a worker killed after it
processed the message), so the gateway's retries are watched against the real tracker.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from integrations import keys
from integrations.outbox import QUEUED
from integrations.settings import Settings
from integrations.store import Direction
from tests.gateway.conftest import GatewayClient, texts, wait_until
from tests.gateway.fake_telegram import FakeBotApi, text_update
from tests.gateway.test_telegram_faults import post, start, stored_texts
from tools.stack import Stack

pytestmark = pytest.mark.stack

UP, DOWN, LOSE_NEXT = "up", "down", "lose next"


class RasaSwitch:
    """A reverse proxy to the real Rasa that can be switched off, or lose one answer."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
        self.mode = UP
        self.forwarded: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.forward)
        return app

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if self.mode == DOWN:
            return web.Response(status=503, text="switched off")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method,
                f"{self.rasa_url}{request.path_qs}",
                data=body,
                headers=headers,
            ) as answer:
                content = await answer.read()
                status = answer.status
        if request.path.endswith("/webhook"):
            self.forwarded.append(await request.json())
            if self.mode == LOSE_NEXT:  # Rasa processed it; the gateway never hears so
                self.mode = UP
                return web.Response(status=504, text="lost")
        return web.Response(body=content, status=status, content_type="application/json")


@pytest.fixture
async def switch(rasa_stack: Stack):  # type: ignore[no-untyped-def]
    switch = RasaSwitch(rasa_stack.rasa_url)
    server = TestServer(switch.app(), host="127.0.0.1")
    await server.start_server()
    switch.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    yield switch
    await server.close()


async def through(
    gateway_client: GatewayClient, stack_settings: Settings, switch: RasaSwitch
) -> TestClient:
    return await gateway_client(
        dataclasses.replace(stack_settings, rasa_url=switch.url)  # type: ignore[attr-defined]
    )


async def say(client: TestClient, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert response.status == 200
    return await response.json()


def user_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    tracker = stack.tracker(sender)
    return [e for e in tracker["events"] if e["event"] == "user"]


def stored(client: TestClient, sender: str) -> list[tuple[Direction, str, str]]:
    return [
        (m.direction, str(m.author), m.text)
        for m in client.app[keys.STORE].messages(f"web:{sender}")
    ]


async def test_rasa_down_queues_tells_once_and_answers_in_order_when_back(
    gateway_client: GatewayClient, stack_settings: Settings, switch: RasaSwitch, rasa_stack: Stack
):
    client = await through(gateway_client, stack_settings, switch)
    outbox = client.app[keys.GATEWAY].outbox
    switch.mode = DOWN
    said = ["bonjour", "merci", "au revoir"]
    first = await say(client, "queued", said[0])
    assert [r["text"] for r in first] == [QUEUED.text]
    assert first[0]["author"] == "system"
    assert await say(client, "queued", said[1]) == []  # told once only
    assert await say(client, "queued", said[2]) == []
    assert outbox.queue_length() == 3
    assert user_events(rasa_stack, "web:queued") == []

    switch.mode = UP
    await wait_until(lambda: outbox.queue_length() == 0, within=120, what="queue drained")
    # Rasa got each message once, in the order they were written.
    events = await asyncio.to_thread(user_events, rasa_stack, "web:queued")
    assert [e["text"] for e in events] == said
    # The gateway stored one answer group per message, after the notice.
    record = stored(client, "queued")
    assert [text for direction, _, text in record if direction is Direction.IN] == said
    bot = [text for direction, author, text in record if author == "bot"]
    tracker_bot = [
        e["text"]
        for e in (await asyncio.to_thread(rasa_stack.tracker, "web:queued"))["events"]
        if e["event"] == "bot" and e.get("text")
    ]
    assert bot == tracker_bot and bot  # every answer stored, none twice
    assert [text for _, author, text in record if author == "system"] == [QUEUED.text]


async def test_rasa_down_the_emergency_numbers_are_given_at_once_and_not_again_later(
    gateway_client: GatewayClient, stack_settings: Settings, switch: RasaSwitch
):
    client = await through(gateway_client, stack_settings, switch)
    outbox = client.app[keys.GATEWAY].outbox
    switch.mode = DOWN
    first = await say(client, "shelter", "je dors dans la rue ce soir")
    assert "115" in first[0]["text"] and first[-1]["text"] == QUEUED.text
    switch.mode = UP
    await wait_until(lambda: outbox.queue_length() == 0, within=120, what="queue drained")
    record = stored(client, "shelter")
    assert sum("115" in text for _, _, text in record) == 1
    assert [author for _, author, _ in record].count("bot") >= 1  # answered when back


async def test_an_answer_lost_on_the_way_is_asked_again_and_processed_once(
    gateway_client: GatewayClient, stack_settings: Settings, switch: RasaSwitch, rasa_stack: Stack
):
    client = await through(gateway_client, stack_settings, switch)
    switch.mode = LOSE_NEXT
    answer = await say(client, "lost", "bonjour")
    # The gateway tried again with the same key and got the answers Rasa gave the first
    # time: the person sees them at once, the tracker has the message once.
    assert "Bonjour" in texts(answer)
    keys_sent = [body["metadata"]["message_key"] for body in switch.forwarded]
    assert len(keys_sent) == 2 and len(set(keys_sent)) == 1
    events = await asyncio.to_thread(user_events, rasa_stack, "web:lost")
    assert [e["text"] for e in events] == ["bonjour"]
    bot = [t for _, author, t in stored(client, "lost") if author == "bot"]
    assert bot == [r["text"] for r in answer if r.get("text")]
    assert client.app[keys.GATEWAY].outbox.queue_length() == 0


def test_rasa_answers_a_key_it_processed_from_the_record(rasa_stack: Stack):
    body = {
        "sender": "web:twice",
        "message": "bonjour",
        "metadata": {"channel": "web", "role": "citizen", "message_key": "m-twice-1"},
    }

    def post() -> list[dict[str, Any]]:
        response = requests.post(
            rasa_stack.channel_url, json=body, headers=rasa_stack.channel_headers, timeout=60
        )
        response.raise_for_status()
        return response.json()

    first, again = post(), post()
    assert first and again == first
    assert [e["text"] for e in user_events(rasa_stack, "web:twice")] == ["bonjour"]


def test_a_long_conversation_is_loaded_from_its_latest_session(rasa_stack: Stack):
    sender = "web:long"
    for index in range(23):
        rasa_stack.send(sender, "bonjour" if index % 2 else "merci")
    events = rasa_stack.tracker(sender)["events"]  # the whole history
    starts = [i for i, e in enumerate(events) if e["event"] == "session_started"]
    assert len(starts) == 2  # Rasa's own at the first message, one rolled after 20
    said_before = sum(1 for e in events[: starts[1]] if e["event"] == "user")
    assert said_before == 20
    assert sum(1 for e in events if e["event"] == "user") == 23
    after = events[starts[1] :]
    assert [e["event"] for e in after[:1]] == ["session_started"]
    assert Counter(e["event"] for e in after)["user"] == 3


async def test_a_telegram_update_sent_again_is_taken_in_once(
    gateway_client: GatewayClient, base_settings: Settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    update = text_update(7, 777, "bonjour")
    assert await post(client, update) == 200
    assert await post(client, update) == 200  # Telegram's retry after a lost 200
    assert stored_texts(client, 777) == ["bonjour"]
    [sent] = fake_telegram.sent()  # Rasa is down here: the notice, once
    assert "réponse vous parviendra" in sent["text"]
    assert client.app[keys.GATEWAY].outbox.queue_length() == 1
