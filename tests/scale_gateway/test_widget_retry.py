"""The widget in a real chromium sends a message again when the gateway refused it for a
moment: Redis is stopped under a gateway that needs it (``REDIS_URL``), the person writes,
the message is refused (nothing stored), Redis comes back, the widget's next attempt is
stored, once."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from playwright.async_api import Browser, expect

from common.db import make_engine
from integrations.settings import Settings
from integrations.store import Store
from tests.gateway.conftest import GatewayClient, wait_until
from tests.widget.conftest import demo_url, log, message_field, open_widget, sender_of
from tools.redis import RedisServer

pytestmark = [pytest.mark.browser]


def user_texts(database_url: str, key: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        store = Store(engine)
        conversation = store.conversation(key)
        if conversation is None:
            return []
        return [m.text for m in store.messages_of(conversation.id) if m.author.value == "user"]
    finally:
        engine.dispose()


async def test_a_message_refused_while_redis_restarts_is_sent_again(
    gateway_client: GatewayClient,
    base_settings: Settings,
    browser: Browser,
    redis: RedisServer,
) -> None:
    settings = dataclasses.replace(base_settings, redis_url=redis.url)
    client = await gateway_client(settings)
    page = await browser.new_page()
    refusals: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: (
                refusals.append(str(payload)) if "service_unavailable" in str(payload) else None
            ),
        ),
    )
    await page.goto(demo_url(client))
    await open_widget(page)
    await message_field(page).fill("Bonjour")
    await message_field(page).press("Enter")
    await expect(log(page)).to_contain_text("indisponible", timeout=30_000)  # Rasa is down
    key = f"web:{await sender_of(page)}"
    assert user_texts(settings.database_url, key) == ["Bonjour"]

    await asyncio.to_thread(redis.stop)
    await message_field(page).fill("Écrit pendant la panne")
    await message_field(page).press("Enter")
    await expect(log(page)).to_contain_text("Écrit pendant la panne")
    # Refused (the widget waits Retry-After, then tries again), and not stored.
    await wait_until(lambda: len(refusals) >= 2, what="two refusals, so one new attempt")
    assert user_texts(settings.database_url, key) == ["Bonjour"]
    await asyncio.to_thread(redis.start)
    await wait_until(
        lambda: user_texts(settings.database_url, key) == ["Bonjour", "Écrit pendant la panne"],
        within=60,
        what="the widget's new attempt stored",
    )
    await page.close()
