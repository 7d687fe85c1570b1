"""Telegram through a fake Bot API that records the calls, and the real Rasa model."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from integrations import keys
from integrations.channels.telegram import ONLY_TEXT, SECRET_HEADER, render_html, split_text
from integrations.messages import Button, Reply
from integrations.settings import Settings
from integrations.store import Direction
from tests.gateway.conftest import (
    TELEGRAM_SECRET,
    GatewayClient,
    wait_until,
    with_telegram,
)
from tests.gateway.fake_telegram import FakeBotApi, callback_update, text_update
from tools.stack import Stack

WEBHOOK = "/webhooks/telegram"


async def start(gateway_client: GatewayClient, settings: Settings, api: FakeBotApi) -> TestClient:
    client = await gateway_client(with_telegram(settings, api.api_url))  # type: ignore[attr-defined]
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="Telegram ready")
    assert [c.method for c in api.calls] == ["getMe"]
    return client


async def post_update(client: TestClient, update: dict, secret: str | None = TELEGRAM_SECRET):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await client.post(WEBHOOK, json=update, headers=headers)


@pytest.mark.stack
async def test_start_greets_in_french(
    gateway_client: GatewayClient, stack_settings, fake_telegram: FakeBotApi, rasa_stack: Stack
):
    client = await start(gateway_client, stack_settings, fake_telegram)
    response = await post_update(client, text_update(1, 4242, "/start"))
    assert response.status == 200
    [sent] = fake_telegram.sent()
    assert sent["chat_id"] == "4242" and sent["parse_mode"] == "HTML"
    assert "Bonjour" in sent["text"]

    conversation = client.app[keys.STORE].conversation("telegram:4242")
    assert conversation is not None and conversation.channel == "telegram"
    tracker = await asyncio.to_thread(rasa_stack.tracker, "telegram:4242")
    assert tracker["latest_message"]["intent"]["name"] == "greet"
    # The outbox's idempotency key of the stored message (integrations/outbox.py).
    [stored] = [m for m in client.app[keys.STORE].messages("telegram:4242") if m.author == "user"]
    metadata = tracker["latest_message"]["metadata"]
    assert metadata.pop("message_key").startswith(f"m{stored.id}-")
    assert metadata == {
        "channel": "telegram",
        "user_id": "4242",
        "role": "agent",
        "locale": "fr",
        "display_name": "Annick Le Gall",
    }
    assert tracker["latest_input_channel"] == "telegram"


@pytest.mark.stack
async def test_buttons_are_an_inline_keyboard_and_callbacks_send_the_payload(
    gateway_client: GatewayClient, stack_settings, fake_telegram: FakeBotApi, rasa_stack: Stack
):
    client = await start(gateway_client, stack_settings, fake_telegram)
    await post_update(client, text_update(2, 4343, "qu'est-ce que tu sais faire ?"))
    with_keyboard = [m for m in fake_telegram.sent() if "reply_markup" in m]
    assert with_keyboard, fake_telegram.sent()
    rows = with_keyboard[-1]["reply_markup"]["inline_keyboard"]
    assert len(rows) >= 2
    assert all(len(row) == 1 and row[0]["callback_data"].startswith("/") for row in rows)
    payload = rows[0][0]["callback_data"]

    before = len(fake_telegram.sent())
    response = await post_update(client, callback_update(3, 4343, payload))
    assert response.status == 200
    [answered] = fake_telegram.sent("answerCallbackQuery")
    assert answered["callback_query_id"] == "cb3"
    # The bot answered the choice: what was sent is what the gateway stored for that turn.
    stored = client.app[keys.STORE].messages("telegram:4343")
    [choice_at] = [
        i for i, m in enumerate(stored) if m.direction is Direction.IN and m.text == payload
    ]
    answers = [render_html(m.text) for m in stored[choice_at + 1 :] if m.text]
    assert answers and [m["text"] for m in fake_telegram.sent()[before:]] == answers
    assert {m["chat_id"] for m in fake_telegram.sent()[before:]} == {"4343"}
    tracker = await asyncio.to_thread(rasa_stack.tracker, "telegram:4343")
    assert tracker["latest_message"]["intent"]["name"] == payload.removeprefix("/")


async def test_a_wrong_or_missing_secret_token_is_refused(
    gateway_client: GatewayClient, base_settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    for secret in ("not-the-secret", None, ""):
        response = await post_update(client, text_update(4, 99, "bonjour"), secret=secret)
        assert response.status == 403
        assert (await response.json())["code"] == "invalid_secret_token"
    assert [c.method for c in fake_telegram.calls] == ["getMe"]
    assert client.app[keys.STORE].conversation("telegram:99") is None


async def test_malformed_updates_are_refused(
    gateway_client: GatewayClient, base_settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    response = await client.post(WEBHOOK, data=b"{oops", headers={SECRET_HEADER: TELEGRAM_SECRET})
    assert response.status == 400 and (await response.json())["code"] == "invalid_json"
    response = await post_update(client, {"message": {"text": "sans update_id"}})
    assert response.status == 400 and (await response.json())["code"] == "invalid_update"


async def test_rasa_down_answers_politely_on_telegram(
    gateway_client: GatewayClient, base_settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    assert (await post_update(client, text_update(5, 77, "bonjour"))).status == 200
    [sent] = fake_telegram.sent()
    assert "service momentanément indisponible" in sent["text"]
    assert client.app[keys.STORE].messages("telegram:77")[0].text == "bonjour"


async def test_non_text_messages_get_a_french_explanation(
    gateway_client: GatewayClient, base_settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    update = text_update(6, 78, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "s",
        "file_unique_id": "su",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    assert (await post_update(client, update)).status == 200
    [sent] = fake_telegram.sent()
    assert sent["text"] == ONLY_TEXT


async def test_replies_are_escaped_split_and_rendered(
    gateway_client: GatewayClient, base_settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    channel = client.app[keys.TELEGRAM]
    long_payload = "/find_digital_place" + '{"commune": "Saint-Pol-de-Léon", "site": "médiathèque"}'
    await channel.send(
        "55",
        [
            Reply(
                text="Horaires <b>9h</b> & 14h : voir [Service-Public](https://www.service-public.fr/a?b=1&c=2)",
                buttons=(Button("Oui", "/affirm"), Button("Un lieu", long_payload)),
                image="https://www.example.fr/plan.png",
            ),
            Reply(text="mot " * 2000 + "fin"),
        ],
    )
    first, *rest = fake_telegram.sent()
    assert first["text"] == (
        "Horaires &lt;b&gt;9h&lt;/b&gt; &amp; 14h : voir "
        '<a href="https://www.service-public.fr/a?b=1&amp;c=2">Service-Public</a>'
    )
    keyboard = first["reply_markup"]["inline_keyboard"]
    assert keyboard[0] == [{"text": "Oui", "callback_data": "/affirm"}]
    long_data = keyboard[1][0]["callback_data"]
    assert len(long_data.encode()) <= 64
    [photo] = fake_telegram.sent("sendPhoto")
    assert photo["photo"] == "https://www.example.fr/plan.png"

    assert len(rest) == 2
    assert all(len(m["text"]) <= 4096 and "reply_markup" not in m for m in rest)
    assert " ".join(m["text"] for m in rest).split() == ("mot " * 2000 + "fin").split()

    # The long payload comes back whole when its button is pressed (Rasa is down here).
    await post_update(client, callback_update(7, 55, long_data))
    stored = client.app[keys.STORE].messages("telegram:55")
    assert stored[0].text == long_payload


def test_split_text_keeps_links_whole_and_respects_the_limit():
    text = "a" * 50 + " [Lien vers la page](https://www.example.fr/une/longue/adresse) fin"
    pieces = split_text(text, limit=80)
    assert all(len(p) <= 80 for p in pieces)
    assert any(
        "[Lien vers la page](https://www.example.fr/une/longue/adresse)" in p for p in pieces
    )
    assert split_text("court") == ["court"]
    assert split_text("") == []


@pytest.mark.stack
async def test_polling_mode_for_development(
    gateway_client: GatewayClient, stack_settings, fake_telegram: FakeBotApi
):
    settings = with_telegram(stack_settings, fake_telegram.api_url, mode="polling")  # type: ignore[attr-defined]
    client = await gateway_client(settings)
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="polling started")
    assert "deleteWebhook" in [c.method for c in fake_telegram.calls]
    assert (await client.post(WEBHOOK, json={})).status == 404  # no webhook route in polling
    await fake_telegram.updates.put(text_update(8, 5151, "bonjour"))
    [sent] = await fake_telegram.wait_for("sendMessage", 1)
    assert sent["chat_id"] == "5151" and "Bonjour" in sent["text"]
