"""Typed button titles act as clicks on every channel: the gateway's REST webhook and
Telegram (fake Bot API), with the real model (rasa_ext/button_choice.py)."""

from __future__ import annotations

import asyncio

import pytest

from integrations import keys
from integrations.channels.telegram import SECRET_HEADER
from tests.gateway.conftest import TELEGRAM_SECRET, GatewayClient, wait_until, with_telegram
from tests.gateway.fake_telegram import FakeBotApi, text_update
from tools.stack import Stack

pytestmark = [pytest.mark.stack]


async def test_a_typed_title_through_the_gateways_rest_webhook(
    gateway_client: GatewayClient, stack_settings, rasa_stack: Stack
):
    client = await gateway_client(stack_settings)

    async def say(text: str) -> list[dict]:
        response = await client.post(
            "/webhooks/rest/webhook", json={"sender": "typed-rest", "message": text}
        )
        assert response.status == 200
        return await response.json()

    menu = await say("je voudrais apprendre un geste numérique")
    assert "Envoyer une pièce jointe" in [b["title"] for r in menu for b in r.get("buttons", [])]
    step = await say("envoyer une piece jointe")
    assert any("Étape 1 sur" in r.get("text", "") for r in step)
    following = await say("ETAPE SUIVANTE")
    assert any("Étape 2 sur" in r.get("text", "") for r in following)
    tracker = await asyncio.to_thread(rasa_stack.tracker, "web:typed-rest")
    assert tracker["slots"]["guide"] == "attachment"
    # The typed title was read as the button's payload (its entity), not guessed.
    [typed] = [e for e in tracker["events"] if e.get("text") == "envoyer une piece jointe"]
    assert typed["parse_data"]["intent"] == {"name": "ask_basic_skills", "confidence": 1.0}
    assert {"entity": "guide", "value": "attachment"} in [
        {"entity": e["entity"], "value": e["value"]} for e in typed["parse_data"]["entities"]
    ]


async def test_a_typed_title_on_telegram(
    gateway_client: GatewayClient, stack_settings, fake_telegram: FakeBotApi, rasa_stack: Stack
):
    settings = with_telegram(stack_settings, fake_telegram.api_url)  # type: ignore[attr-defined]
    client = await gateway_client(settings)
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="Telegram ready")
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    said = ("je voudrais apprendre un geste numérique", "reconnaitre une arnaque")
    for number, text in enumerate(said, start=1):
        update = text_update(number, 5151, text)
        response = await client.post("/webhooks/telegram", json=update, headers=headers)
        assert response.status == 200
    tracker = await asyncio.to_thread(rasa_stack.tracker, "telegram:5151")
    latest = tracker["latest_message"]
    assert latest["intent"] == {"name": "ask_basic_skills", "confidence": 1.0}
    assert [(e["entity"], e["value"]) for e in latest["entities"]] == [("guide", "phishing")]
    assert any("Étape 1 sur" in m.get("text", "") for m in fake_telegram.sent())
