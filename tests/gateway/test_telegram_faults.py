"""Telegram's Bot API failing as it does in production, and what the gateway does about it.

Rasa is down in these settings: every update is answered with the polite French message,
which is enough to watch the outbound side (integrations/channels/telegram.py).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from integrations import keys
from integrations.channels.telegram import SECRET_HEADER, SEND_ATTEMPTS
from integrations.settings import Settings
from integrations.store import Direction
from tests.gateway.conftest import TELEGRAM_SECRET, GatewayClient, wait_until, with_telegram
from tests.gateway.fake_telegram import (
    BAD_GATEWAY,
    BLOCKED,
    DROPPED,
    SERVER_ERROR,
    FakeBotApi,
    flood,
    slow,
    text_update,
)

WEBHOOK = "/webhooks/telegram"
POLITE = "service momentanément indisponible"
PUBLIC_URL = "https://assistant.example.fr"


async def start(
    gateway_client: GatewayClient, settings: Settings, api: FakeBotApi, **telegram
) -> TestClient:
    settings = with_telegram(settings, api.api_url)  # type: ignore[attr-defined]
    assert settings.telegram is not None
    settings = dataclasses.replace(
        settings, telegram=dataclasses.replace(settings.telegram, **telegram)
    )
    client = await gateway_client(settings)
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="Telegram ready")
    return client


async def post(client: TestClient, update: dict) -> int:
    response = await client.post(WEBHOOK, json=update, headers={SECRET_HEADER: TELEGRAM_SECRET})
    return response.status


def stored_texts(client: TestClient, chat: int) -> list[str]:
    messages = client.app[keys.STORE].messages(f"telegram:{chat}")
    return [m.text for m in messages if m.direction is Direction.IN]


async def test_flood_control_waits_retry_after_then_sends(
    gateway_client: GatewayClient, base_settings: Settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    fake_telegram.fail("sendMessage", flood(1))
    assert await post(client, text_update(1, 501, "bonjour")) == 200
    first, second = fake_telegram.attempts()
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # retry_after was honoured
    [sent] = fake_telegram.sent()
    assert sent["chat_id"] == "501" and POLITE in sent["text"]


async def test_a_blocked_user_is_given_up_with_a_log_line(
    gateway_client: GatewayClient,
    base_settings: Settings,
    fake_telegram: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
):
    client = await start(gateway_client, base_settings, fake_telegram)
    fake_telegram.fail("sendMessage", BLOCKED)
    with caplog.at_level(logging.WARNING, logger="integrations.channels.telegram"):
        assert await post(client, text_update(2, 502, "bonjour")) == 200
    assert [c.status for c in fake_telegram.attempts()] == [403]  # not tried again
    assert "Telegram chat 502 refuses the bot's messages" in caplog.text
    assert stored_texts(client, 502) == ["bonjour"]
    # The channel goes on serving the others.
    assert client.app[keys.TELEGRAM].state == "ok"
    assert await post(client, text_update(3, 503, "bonjour")) == 200
    [sent] = fake_telegram.sent()
    assert sent["chat_id"] == "503"


@pytest.mark.parametrize(
    "fault", [SERVER_ERROR, BAD_GATEWAY, DROPPED], ids=["500", "502", "connection-reset"]
)
async def test_server_errors_and_network_failures_are_retried(
    gateway_client: GatewayClient, base_settings: Settings, fake_telegram: FakeBotApi, fault
):
    client = await start(gateway_client, base_settings, fake_telegram)
    fake_telegram.fail("sendMessage", fault, fault)
    assert await post(client, text_update(4, 504, "bonjour")) == 200
    assert [c.status for c in fake_telegram.attempts()] == [fault.status, fault.status, 200]
    [sent] = fake_telegram.sent()
    assert POLITE in sent["text"]


async def test_an_answer_slower_than_the_timeout_is_tried_again(
    gateway_client: GatewayClient,
    base_settings: Settings,
    fake_telegram: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
):
    client = await start(gateway_client, base_settings, fake_telegram, request_timeout_s=1.0)
    fake_telegram.fail("sendMessage", slow(3.0))
    with caplog.at_level(logging.WARNING, logger="integrations.channels.telegram"):
        assert await post(client, text_update(8, 508, "bonjour")) == 200
    first, second = fake_telegram.attempts()
    # The gateway gave up waiting after its timeout, not after the slow answer.
    assert 1.0 <= second.at - first.at < 3.0
    assert "Telegram failed on sendMessage" in caplog.text and "retrying" in caplog.text
    # Telegram had sent the first one anyway: at least once, and here twice. A Bot API
    # request has no idempotency key, so a timeout cannot be told apart from a loss.
    assert [m["text"] for m in fake_telegram.sent()] == [first.params["text"]] * 2
    assert POLITE in first.params["text"]


async def test_retries_are_bounded_and_the_message_stays_stored(
    gateway_client: GatewayClient,
    base_settings: Settings,
    fake_telegram: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
):
    client = await start(gateway_client, base_settings, fake_telegram)
    fake_telegram.fail("sendMessage", *[SERVER_ERROR] * (SEND_ATTEMPTS + 1))
    with caplog.at_level(logging.ERROR, logger="integrations.channels.telegram"):
        # Stored: Telegram must not send it again (it would be answered twice).
        assert await post(client, text_update(5, 505, "bonjour")) == 200
    assert [c.status for c in fake_telegram.attempts()] == [500] * SEND_ATTEMPTS
    assert "error while handling a Telegram update" in caplog.text
    assert stored_texts(client, 505) == ["bonjour"]
    # The one fault left is used by the next message (another chat: this one was told
    # already that the answer will come), answered on its second try.
    assert await post(client, text_update(6, 506, "merci")) == 200
    assert [c.status for c in fake_telegram.attempts()][SEND_ATTEMPTS:] == [500, 200]
    assert stored_texts(client, 506) == ["merci"]


async def test_an_update_that_could_not_be_stored_is_refused_so_telegram_resends_it(
    gateway_client: GatewayClient, base_settings: Settings, fake_telegram: FakeBotApi
):
    client = await start(gateway_client, base_settings, fake_telegram)
    store = client.app[keys.STORE]
    with store.engine.begin() as connection:  # the database loses its messages table
        connection.execute(text("ALTER TABLE messages RENAME TO messages_away"))
    update = text_update(7, 507, "bonjour")
    response = await client.post(WEBHOOK, json=update, headers={SECRET_HEADER: TELEGRAM_SECRET})
    assert response.status == 503
    assert (await response.json())["code"] == "update_not_stored"
    assert fake_telegram.sent() == []

    with store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE messages_away RENAME TO messages"))
    assert await post(client, update) == 200  # Telegram's second delivery
    assert stored_texts(client, 507) == ["bonjour"]
    [sent] = fake_telegram.sent()
    assert POLITE in sent["text"]


async def test_the_webhook_is_registered_at_start_even_after_a_failure(
    gateway_client: GatewayClient, base_settings: Settings, fake_telegram: FakeBotApi
):
    fake_telegram.fail("setWebhook", SERVER_ERROR)
    await start(gateway_client, base_settings, fake_telegram, webhook_url=PUBLIC_URL + "/")
    failed, registered = fake_telegram.attempts("setWebhook")
    assert (failed.status, registered.status) == (500, 200)
    assert registered.params == {
        "url": PUBLIC_URL + WEBHOOK,
        "secret_token": TELEGRAM_SECRET,
        "allowed_updates": ["message", "callback_query"],
    }
