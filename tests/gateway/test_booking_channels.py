"""Room booking on Telegram (fake Bot API) and Matrix (real Synapse), with the real model.

The closed-day path (the next open days as buttons), a yes as typed, the one-sentence
move and the cancel, with the invitation served at the same link updated each time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from icalendar import Calendar

from common.config import TIMEZONE
from integrations import keys
from integrations.channels.telegram import SECRET_HEADER
from integrations.settings import Settings
from tests import rasa_env
from tests.gateway.conftest import (
    TELEGRAM_SECRET,
    GatewayClient,
    wait_until,
    with_matrix,
    with_telegram,
)
from tests.gateway.fake_telegram import FakeBotApi, callback_update, text_update
from tests.gateway.matrix_user import MatrixUser
from tools.stack import Stack

pytestmark = [pytest.mark.stack]

TELEGRAM_AGENT = 5252
# Loggers of the gateway and of the libraries it drives.
GATEWAY_LOGGERS = ("integrations", "nio", "aiohttp", "telegram", "httpx")


@pytest.fixture(autouse=True)
def gateway_log_stays_clean(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No warning nor error in the gateway's log during a booking conversation (a room
    version matrix-nio does not know, a payload read as a template...)."""
    caplog.set_level(logging.WARNING)
    yield
    noisy = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.split(".")[0] in GATEWAY_LOGGERS
    ]
    assert noisy == []


def link_agent(rasa_stack: Stack, channel: str, user_id: str, agent_id: str) -> None:
    """Give an agent of the directory one more channel identity (as data/agents.yml would)."""
    rasa_env.call("link_agent", rasa_stack.database_url, channel, user_id, agent_id)


def closed_day(site: str) -> date:
    """The first day from the day after tomorrow (the running stack's clock) the site is shut."""
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    return date.fromisoformat(rasa_env.call("closed_day", site, today.isoformat()))


async def invitation(client, ref: str) -> tuple[str, int, str]:
    """METHOD, SEQUENCE and UID of the invitation served at the booking's link."""
    response = await client.get(f"/bookings/{ref}.ics")
    assert response.status == 200
    calendar = Calendar.from_ical(await response.text())
    [event] = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), int(event["SEQUENCE"]), str(event["UID"])


@dataclass
class TelegramChat:
    """An agent's Telegram chat with the gateway: ``say`` a text or ``press`` a button,
    and get the first message sent back that contains ``wanted``."""

    client: TestClient
    api: FakeBotApi
    chat_id: int
    updates: Iterator[int] = field(default_factory=lambda: iter(range(1, 1000)))

    async def post(self, update: dict, wanted: str) -> dict:
        seen = len(self.api.sent())
        response = await self.client.post(
            "/webhooks/telegram", json=update, headers={SECRET_HEADER: TELEGRAM_SECRET}
        )
        assert response.status == 200

        def found() -> list[dict]:
            return [m for m in self.api.sent()[seen:] if wanted in m.get("text", "")]

        await wait_until(lambda: bool(found()), what=wanted)
        return found()[0]

    async def say(self, text: str, wanted: str) -> dict:
        return await self.post(text_update(next(self.updates), self.chat_id, text), wanted)

    async def press(self, data: str, wanted: str) -> dict:
        return await self.post(callback_update(next(self.updates), self.chat_id, data), wanted)


async def telegram_agent(
    gateway_client: GatewayClient,
    stack_settings: Settings,
    api: FakeBotApi,
    rasa_stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    chat_id: int,
    agent_id: str = "y.le-gall",
) -> TelegramChat:
    """A gateway on Telegram in front of the real stack, ``chat_id`` linked to ``agent_id``
    of the directory (the Brest agent by default)."""
    monkeypatch.setenv("DATABASE_URL", rasa_stack.database_url)  # the .ics route reads it
    link_agent(rasa_stack, "telegram", str(chat_id), agent_id)
    settings = with_telegram(stack_settings, api.api_url)  # type: ignore[attr-defined]
    client = await gateway_client(settings)
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="Telegram ready")
    return TelegramChat(client, api, chat_id)


async def matrix_chat(
    gateway_client: GatewayClient,
    stack_settings: Settings,
    synapse,  # type: ignore[no-untyped-def]
    user: MatrixUser,
    tmp_path: Path,
) -> tuple[TestClient, Callable[[str, str], Awaitable[str]]]:
    """A gateway on Matrix in front of the real stack, and ``say(text, wanted)`` in a new
    room of ``user`` with the bot: the first answer that contains ``wanted``."""
    client = await gateway_client(with_matrix(stack_settings, synapse, tmp_path / "m"))
    await wait_until(lambda: client.app[keys.MATRIX].state == "ok", what="Matrix synced")
    bot = synapse.users["assistant"]
    room = await user.create_room(invite=[bot])
    await user.wait_membership(room, bot, "join")

    async def say(text: str, wanted: str) -> str:
        seen = len(user.messages_from(room, bot))
        await user.say(room, text)
        return await user.wait_text(room, bot, wanted, seen)

    return client, say


def ics_ref(text: str) -> str:
    return re.search(r"/bookings/([\w-]+)\.ics", text).group(1)


async def test_booking_on_telegram_closed_day_move_and_cancel(
    gateway_client: GatewayClient,
    stack_settings,
    fake_telegram: FakeBotApi,
    rasa_stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
):
    chat = await telegram_agent(
        gateway_client, stack_settings, fake_telegram, rasa_stack, monkeypatch, TELEGRAM_AGENT
    )
    client, say = chat.client, chat.say

    closed = closed_day("Carhaix")
    refused = await say(
        f"salle visio à Carhaix le {closed:%d/%m/%Y} à 10h pour trois pendant une heure",
        "est fermé le",
    )
    assert "prochains jours" in refused["text"]
    [first_day, *_] = [b for row in refused["reply_markup"]["inline_keyboard"] for b in row]
    proposal = await chat.press(first_day["callback_data"], "est libre")
    assert "de 10 h à 11 h, pour 3 personnes" in proposal["text"]
    booked = await say("vi", "réservé :")
    ref = ics_ref(booked["text"])
    method, sequence, uid = await invitation(client, ref)
    assert (method, sequence) == ("PUBLISH", 0)

    await say("décale ma réservation de Carhaix à 11h", "Je déplace votre réservation")
    await say("ok", "maintenant le")
    assert await invitation(client, ref) == ("PUBLISH", 1, uid)

    await say("annule ma réservation de Carhaix", "annule votre réservation")
    await say("oui", "annulé :")
    assert await invitation(client, ref) == ("CANCEL", 2, uid)


@pytest.mark.matrix
async def test_booking_on_matrix_closed_day_move_and_cancel(
    gateway_client: GatewayClient,
    stack_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    rasa_stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DATABASE_URL", rasa_stack.database_url)
    link_agent(rasa_stack, "matrix", synapse.users["annick"], "m.kerouac")
    client, say = await matrix_chat(gateway_client, stack_settings, synapse, annick, tmp_path)

    closed = closed_day("Quimperlé")
    refused = await say(
        f"une salle à Quimperlé le {closed:%d/%m/%Y} à quatorze heures pour 2 pendant 1h",
        "est fermé le",
    )
    assert "1. " in refused and "prochains jours" in refused
    proposal = await say("1", "est libre")
    assert "de 14 h à 15 h, pour 2 personnes" in proposal
    booked = await say("ouais", "réservé :")
    ref = ics_ref(booked)
    method, sequence, uid = await invitation(client, ref)
    assert (method, sequence) == ("PUBLISH", 0)
    await say("décale ma réservation de Quimperlé à 16h", "Je déplace votre réservation")
    await say("c bon", "maintenant le")
    assert await invitation(client, ref) == ("PUBLISH", 1, uid)
    await say("annule ma réservation de Quimperlé", "annule votre réservation")
    await say("👍", "annulé :")
    assert await invitation(client, ref) == ("CANCEL", 2, uid)
