"""The web channel through the real model: Rasa REST compatibility, WebSocket, health, store."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from integrations import keys
from integrations.messages import Author, Reply
from integrations.settings import Settings
from integrations.store import Direction, Owner
from tests.gateway.conftest import GatewayClient, texts, wait_until
from tests.gateway.web_client import new_conversation, open_socket
from tools.stack import Stack, free_port

pytestmark = [pytest.mark.model, pytest.mark.stack]


async def test_rest_greeting_round_trip_is_stored(gateway_client: GatewayClient, stack_settings):
    client = await gateway_client(stack_settings)
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": "web-greet", "message": "bonjour"}
    )
    assert response.status == 200
    replies = await response.json()
    assert "Bonjour" in texts(replies)
    assert all(r["recipient_id"] == "web-greet" for r in replies)

    store = client.app[keys.STORE]
    conversation = store.conversation("web:web-greet")
    assert conversation is not None and conversation.owner is Owner.BOT
    assert conversation.channel == "web"
    stored = store.messages("web:web-greet")
    assert [m.direction for m in stored][:2] == [Direction.IN, Direction.OUT]
    assert stored[0].text == "bonjour" and stored[0].author is Author.USER
    assert "Bonjour" in stored[1].text and stored[1].author is Author.BOT
    assert all(m.channel == "web" and m.created_at is not None for m in stored)


async def test_buttons_come_back_and_their_payload_is_understood(
    gateway_client: GatewayClient, stack_settings
):
    client = await gateway_client(stack_settings)
    response = await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "web-buttons", "message": "qu'est-ce que tu sais faire ?"},
    )
    replies = await response.json()
    buttons = [b for r in replies for b in r.get("buttons", [])]
    assert len(buttons) >= 2
    assert all(b["title"] and b["payload"].startswith("/") for b in buttons)
    # Buttons are stored with the answer, for later channels and analytics.
    stored = client.app[keys.STORE].messages("web:web-buttons")
    assert stored[-1].payload is not None and stored[-1].payload["buttons"] == buttons

    again = await client.post(
        "/webhooks/rest/webhook", json={"sender": "web-buttons", "message": "/greet"}
    )
    assert "Bonjour" in texts(await again.json())


async def test_fallback_asks_to_rephrase(gateway_client: GatewayClient, stack_settings):
    client = await gateway_client(stack_settings)
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": "web-fallback", "message": "xqzw blorp vrk"}
    )
    assert "reformul" in texts(await response.json())


async def test_rasa_gets_metadata_the_client_cannot_forge(
    gateway_client: GatewayClient, stack_settings, rasa_stack: Stack
):
    client = await gateway_client(stack_settings)
    body = {
        "sender": "web-meta",
        "message": "merci",
        "metadata": {"role": "agent", "locale": "fr-FR", "page": "/aides"},
    }
    assert (await client.post("/webhooks/rest/webhook", json=body)).status == 200
    tracker = await asyncio.to_thread(rasa_stack.tracker, "web:web-meta")
    latest = tracker["latest_message"]
    # An anonymous visitor: no user id at all, whatever the sender or the metadata say.
    assert latest["metadata"].pop("message_key").startswith("m")  # the outbox's key
    assert latest["metadata"] == {
        "channel": "web",
        "role": "citizen",
        "locale": "fr-FR",
        "client": {"role": "agent", "locale": "fr-FR", "page": "/aides"},
    }
    assert tracker["latest_input_channel"] == "web"


async def test_websocket_round_trip_and_live_push(gateway_client: GatewayClient, stack_settings):
    client = await gateway_client(stack_settings)
    conversation = await new_conversation(client)
    sender = conversation.sender
    ws = await open_socket(client, conversation)
    try:
        await ws.send_str("pas du json")
        error = await ws.receive_json(timeout=10)
        assert error["type"] == "error" and error["code"] == "invalid_json"

        await ws.send_json({"message": "bonjour"})
        frame = await ws.receive_json(timeout=30)
        assert frame["type"] == "message" and frame["author"] == "bot"
        assert frame["recipient_id"] == sender and "Bonjour" in frame["text"]

        # A message written outside any request (a mediator, later) reaches the socket.
        await client.app[keys.WEB].send(
            sender, [Reply(text="Une médiatrice vous répond.", author=Author.MEDIATOR)]
        )
        pushed = await ws.receive_json(timeout=10)
        assert pushed["author"] == "mediator" and pushed["text"] == "Une médiatrice vous répond."
    finally:
        await ws.close()
    await wait_until(lambda: client.app[keys.HUB].connected(conversation.rasa_key) == 0)


async def test_websocket_needs_a_valid_sender_and_the_key_names_it(
    gateway_client: GatewayClient, stack_settings
):
    client = await gateway_client(stack_settings)
    response = await client.get("/webhooks/websocket?sender=")
    assert response.status == 400
    assert (await response.json())["code"] == "missing_sender"
    # Without a sender in the URL, the key says which conversation it is.
    conversation = await new_conversation(client)
    async with client.ws_connect("/webhooks/websocket?after=0") as ws:
        await ws.send_json({"type": "auth", "key": conversation.key})
        assert (await ws.receive_json(timeout=10))["type"] == "state"
        # The socket follows the conversation once its history is replayed (after "state").
        await wait_until(
            lambda: client.app[keys.HUB].connected(conversation.rasa_key) == 1,
            what="the socket follows the conversation",
        )


async def test_health_reports_every_part(gateway_client: GatewayClient, stack_settings: Settings):
    client = await gateway_client(stack_settings)
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "gateway": "ok",
        "rasa": "ok",
        "actions": "ok",
        "database": "ok",
        "channels": {"web": "ok", "telegram": "disabled", "matrix": "disabled"},
    }


async def test_websocket_closes_cleanly_on_shutdown(gateway_client: GatewayClient, stack_settings):
    client = await gateway_client(stack_settings)
    conversation = await new_conversation(client)
    ws = await open_socket(client, conversation, after=0)
    assert (await ws.receive_json(timeout=10))["type"] == "state"
    await client.close()
    message = await ws.receive(timeout=10)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


async def test_recovers_when_rasa_comes_back(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack: Stack
):
    port = free_port()
    client = await gateway_client(
        dataclasses.replace(stack_settings, rasa_url=f"http://127.0.0.1:{port}")
    )
    down = await client.post(
        "/webhooks/rest/webhook", json={"sender": "web-back", "message": "bonjour"}
    )
    assert "service momentanément indisponible" in texts(await down.json())

    # Rasa comes back at that address (a plain forwarder in front of the real server).
    async with aiohttp.ClientSession() as session:

        async def forward(request: web.Request) -> web.Response:
            async with session.request(
                request.method,
                f"{rasa_stack.rasa_url}{request.path_qs}",
                data=await request.read(),
                headers={
                    h: request.headers.get(h, "") for h in ("Content-Type", "X-Gateway-Secret")
                },
            ) as upstream:
                return web.Response(
                    status=upstream.status,
                    body=await upstream.read(),
                    content_type=upstream.content_type,
                )

        proxy = web.Application()
        proxy.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(proxy)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            store = client.app[keys.STORE]

            def answered() -> list[str]:
                return [
                    m.text
                    for m in store.messages("web:web-back")
                    if m.direction is Direction.OUT and "Bonjour" in m.text
                ]

            # The message kept while Rasa was down is answered first, by the outbox...
            await wait_until(lambda: bool(answered()), within=90, what="the queued message")
            # ...then a new one directly.
            back = await client.post(
                "/webhooks/rest/webhook", json={"sender": "web-back", "message": "bonjour"}
            )
            assert "Bonjour" in texts(await back.json())
            assert len(answered()) == 2
            assert (await (await client.get("/health")).json())["rasa"] == "ok"
        finally:
            await runner.cleanup()
    stored = client.app[keys.STORE].messages("web:web-back")
    assert [m.text for m in stored if m.direction is Direction.IN] == ["bonjour", "bonjour"]
