"""Bad input, limits, unknown routes, CORS, and Rasa or the action server being down."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from aiohttp import web

from integrations import keys
from integrations.settings import Settings
from integrations.store import Direction
from tests.gateway.conftest import GatewayClient, texts, wait_until
from tests.gateway.web_client import FEEDBACK, HISTORY, new_conversation, open_socket
from tools.stack import Stack

WEBHOOK = "/webhooks/rest/webhook"
UNAVAILABLE = "service momentanément indisponible"
OK = b'{"sender": "a", "message": "ok", "metadata": '


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"sender": "a", "message": ', "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_body"),
        (b'{"message": "bonjour"}', "missing_sender"),
        (b'{"sender": "a"}', "missing_message"),
        (b'{"sender": 12, "message": "bonjour"}', "invalid_sender"),
        (b'{"sender": "", "message": "bonjour"}', "missing_sender"),
        (b'{"sender": "a", "message": ["bonjour"]}', "invalid_message"),
        (b'{"sender": "a", "message": "   "}', "empty_message"),
        (b'{"sender": "a", "message": "ok", "metadata": "x"}', "invalid_metadata"),
        (b"[" * 3000 + b"]" * 3000, "too_deep"),
        (OK + b'{"a": ' * 40 + b"1" + b"}" * 41, "too_deep"),
        (b'{"sender": "a", "message": "bon\\u0000jour"}', "invalid_characters"),
        (b'{"sender": "a", "message": "bon\\ud800jour"}', "invalid_characters"),
        (b'{"sender": "a", "message": "ok", "metadata": {"\\udfff": 1}}', "invalid_characters"),
        (b'{"sender": "a\\u0000", "message": "bonjour"}', "invalid_characters"),
        (b'{"sender": "a", "message": "ok", "metadata": {"n": NaN}}', "invalid_json"),
        (b'{"sender": "a", "message": "ok", "metadata": {"n": 1e999}}', "invalid_json"),
        (OK + b'{"n": ' + b"9" * 5000 + b"}}", "invalid_json"),
    ],
    ids=lambda value: value[:48].decode(errors="replace") if isinstance(value, bytes) else value,
)
async def test_bad_input_is_refused_with_a_reason(
    gateway_client: GatewayClient, base_settings: Settings, body: bytes, code: str
):
    client = await gateway_client(base_settings)
    response = await client.post(WEBHOOK, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    payload = await response.json()
    assert payload["code"] == code
    assert isinstance(payload["error"], str) and len(payload["error"]) > 5


async def test_too_long_message_and_too_large_body_get_413(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    long = await client.post(WEBHOOK, json={"sender": "a", "message": "x" * 501})
    assert long.status == 413
    payload = await long.json()
    assert payload["code"] == "payload_too_large" and "500" in payload["error"]

    huge = await client.post(WEBHOOK, json={"sender": "a", "message": "x" * 20_000})
    assert huge.status == 413
    assert (await huge.json())["code"] == "payload_too_large"
    # Nothing was stored for refused requests.
    assert client.app[keys.STORE].conversation("web:a") is None


async def test_unknown_routes_and_methods(gateway_client: GatewayClient, base_settings: Settings):
    client = await gateway_client(base_settings)
    missing = await client.get("/nulle-part")
    assert missing.status == 404
    assert await missing.json() == {"error": "Ressource introuvable.", "code": "not_found"}
    wrong = await client.get(WEBHOOK)
    assert wrong.status == 405
    assert (await wrong.json())["code"] == "method_not_allowed"
    # Telegram's webhook only exists when Telegram is configured.
    assert (await client.post("/webhooks/telegram", json={})).status == 404


async def test_rasa_down_gives_a_polite_answer_and_keeps_the_message(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    answers = []
    for attempt in ("bonjour", "vous êtes là ?"):
        response = await client.post(WEBHOOK, json={"sender": "down", "message": attempt})
        assert response.status == 200
        answers.append(await response.json())
    # Told once that the answer will come (integrations/outbox.py); both wait for Rasa.
    [[reply], again] = answers
    assert UNAVAILABLE in reply["text"] and reply["recipient_id"] == "down"
    assert again == []
    assert client.app[keys.GATEWAY].outbox.queue_length() == 2
    stored = client.app[keys.STORE].messages("web:down")
    assert [(m.direction, m.text) for m in stored if m.direction is Direction.IN] == [
        (Direction.IN, "bonjour"),
        (Direction.IN, "vous êtes là ?"),
    ]
    health = await client.get("/health")
    assert health.status == 503
    states = await health.json()
    assert states["status"] == "degraded" and states["gateway"] == "ok"
    assert states["rasa"] == "down" and states["actions"] == "down"
    assert states["database"] == "ok"


async def test_action_server_down_gives_a_polite_answer(
    gateway_client: GatewayClient, base_settings: Settings, aiohttp_server
):
    """Rasa swallows action-server failures and answers nothing; the user must still hear."""
    received: list[dict] = []

    async def rasa_rest(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response([])

    fake_rasa = web.Application()
    fake_rasa.router.add_post("/webhooks/gateway/webhook", rasa_rest)
    server = await aiohttp_server(fake_rasa)
    settings = dataclasses.replace(base_settings, rasa_url=str(server.make_url("")).rstrip("/"))
    client = await gateway_client(settings)
    response = await client.post(WEBHOOK, json={"sender": "noactions", "message": "une salle"})
    assert UNAVAILABLE in texts(await response.json())
    assert received[0]["metadata"].pop("message_key").startswith("m")  # the outbox's key
    assert received == [
        {
            "sender": "web:noactions",
            "message": "une salle",
            "metadata": {
                "channel": "web",
                "role": "citizen",
                "locale": "fr",
            },
            "input_channel": "web",
        }
    ]


@pytest.mark.stack
async def test_the_real_rasa_with_its_action_server_stopped(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack: Stack
):
    """What the fake above assumes, with the real Rasa: the person hears the polite
    message, the message is kept, and the conversation goes on once the server is back."""
    client = await gateway_client(stack_settings)
    question = "quels sont les horaires du cdas de morlaix ?"  # answered by action_contact
    body = {"sender": "actions-stopped", "message": question}
    rasa_stack.actions.stop()
    try:
        response = await client.post(WEBHOOK, json=body)
        assert response.status == 200
        [reply] = await response.json()
        assert UNAVAILABLE in reply["text"]
        stored = client.app[keys.STORE].messages("web:actions-stopped")
        assert [(m.direction, m.text) for m in stored] == [
            (Direction.IN, question),
            (Direction.OUT, reply["text"]),
        ]
    finally:
        await asyncio.to_thread(restart_actions, rasa_stack)
    response = await client.post(WEBHOOK, json=body)
    assert "CDAS de Morlaix" in texts(await response.json())


def restart_actions(stack: Stack) -> None:
    stack.actions.start()
    stack.actions.wait_until(f"{stack.actions_url}/health", timeout=120)


async def test_cors_only_for_configured_origins(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = dataclasses.replace(base_settings, cors_origins=("https://www.departement.fr",))
    client = await gateway_client(settings)
    preflight = await client.options(
        WEBHOOK,
        headers={
            "Origin": "https://www.departement.fr",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.departement.fr"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"

    ok = await client.post(
        WEBHOOK, data=json.dumps([]), headers={"Origin": "https://www.departement.fr"}
    )
    assert ok.headers["Access-Control-Allow-Origin"] == "https://www.departement.fr"

    other = await client.post(WEBHOOK, json=[], headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    refused = await client.get(
        "/webhooks/websocket?sender=x", headers={"Origin": "https://evil.example"}
    )
    assert refused.status == 403
    assert (await refused.json())["code"] == "origin_not_allowed"


async def test_odd_query_values_and_ids_get_a_400(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    conversation = await new_conversation(client)
    for after in ("9" * 400, "9" * 5000, "-3", "²", "٣", "1_0", " 1", "0x10", "1e3", ""):
        response = await client.get(HISTORY, params={"after": after}, headers=conversation.headers)
        assert response.status == 400, after
        assert (await response.json())["code"] == "invalid_after"
    for raw in ("a%00b", "a%0Ab", "x" * 200):
        response = await client.get(f"{HISTORY}?sender={raw}", headers=conversation.headers)
        assert response.status == 400, raw
        assert (await response.json())["code"] == "invalid_sender"
    for message_id in ("²", "٣", 10**30, -1, 0, True, [1], {"id": 1}, 1.5, "1 "):
        body = {"sender": conversation.sender, "message_id": message_id, "rating": "down"}
        response = await client.post(FEEDBACK, json=body, headers=conversation.headers)
        assert response.status == 400, message_id
        assert (await response.json())["code"] == "invalid_message_id"
    # The same bad inputs over a WebSocket: an error frame each, then the socket still works
    # and is unregistered once closed.
    ws = await open_socket(client, conversation, after=0)
    assert (await ws.receive_json(timeout=10))["type"] == "state"
    for bad in ("[" * 3000 + "]" * 3000, '{"message": "a\\u0000b"}', '{"message": 1e999}'):
        await ws.send_str(bad)
        error = await ws.receive_json(timeout=10)
        assert error["type"] == "error" and error["code"] in (
            "too_deep",
            "invalid_characters",
            "invalid_json",
        )
    await ws.send_bytes(b"binaire")
    assert (await ws.receive_json(timeout=10))["code"] == "invalid_frame"
    await ws.send_json({"message": "bonjour", "client_id": "c-1"})
    echoed = await ws.receive_json(timeout=10)
    assert echoed["client_id"] == "c-1" and echoed["author"] == "user"
    await ws.close()
    hub = client.app[keys.HUB]
    await wait_until(lambda: hub.connected(conversation.rasa_key) == 0, within=10)
