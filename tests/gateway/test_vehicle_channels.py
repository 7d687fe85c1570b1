"""Pool vehicles on Telegram (fake Bot API) and Matrix (real Synapse), with the real model.

Matrix: the vehicle asked for in one sentence as agents write it, booked with a yes as
typed, moved and cancelled, the invitation updated at the same link. Telegram: the visio
room offered instead of the trip (its cost shown) is chosen with its button and booked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.config import TIMEZONE
from tests import rasa_env
from tests.gateway.conftest import (
    GatewayClient,
)
from tests.gateway.fake_telegram import FakeBotApi
from tests.gateway.matrix_user import MatrixUser
from tests.gateway.test_booking_channels import (  # noqa: F401 (the autouse log check)
    gateway_log_stays_clean,
    ics_ref,
    invitation,
    link_agent,
    matrix_chat,
    telegram_agent,
)
from tools.stack import Stack

pytestmark = [pytest.mark.stack]

TELEGRAM_AGENT = 5353


def open_day(site: str) -> date:
    """A day from the day after tomorrow (the running stack's clock) when ``site`` is open:
    every day before the first closed one is open."""
    after = datetime.now(ZoneInfo(TIMEZONE)).date()
    while True:
        closed = date.fromisoformat(rasa_env.call("closed_day", site, after.isoformat()))
        if closed > after + timedelta(days=2):
            return closed - timedelta(days=1)
        after = closed - timedelta(days=1)


async def test_vehicle_on_telegram_the_visio_room_instead_of_the_trip(
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

    day = open_day("Brest")
    proposal = await say(
        f"jme faut une voiture de service le {day:%d/%m/%Y} de 8h à 17h pr aller à Carhaix",
        "est libre",
    )
    text = proposal["text"]
    assert "La voiture « Renault Zoé n° 1 » (électrique) du site de Brest" in text
    assert "de 8 h à 17 h pour aller à Carhaix" in text
    assert "Ce déplacement à Carhaix représente environ" in text and "kg de CO2" in text
    assert "est libre sur votre site (Brest)" in text
    buttons = [b for row in proposal["reply_markup"]["inline_keyboard"] for b in row]
    [visio] = [b for b in buttons if b["text"] == "Plutôt la visio à Brest"]
    question = await chat.press(visio["callback_data"], "Je réserve")
    assert "à Brest" in question["text"] and "de 8 h à 17 h" in question["text"]
    booked = await say("oui", "réservé :")
    assert "Maison du Département, Brest" in booked["text"]
    assert "Lien de la visio : " in booked["text"]
    method, sequence, _ = await invitation(client, ics_ref(booked["text"]))
    assert (method, sequence) == ("PUBLISH", 0)


@pytest.mark.matrix
async def test_vehicle_on_matrix_book_move_and_cancel(
    gateway_client: GatewayClient,
    stack_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    rasa_stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DATABASE_URL", rasa_stack.database_url)
    try:  # works in Morlaix; test_booking_channels.py may have linked her already
        link_agent(rasa_stack, "matrix", synapse.users["annick"], "m.kerouac")
    except rasa_env.RasaEnvError as err:
        assert "booking_agent_identities" in str(err) or "uq_booking_identity" in str(err)
    client, say = await matrix_chat(gateway_client, stack_settings, synapse, annick, tmp_path)

    day = open_day("Morlaix")
    proposal = await say(
        f"il me faut une voiture de service le {day:%d/%m/%Y} de neuf heures à dix-sept "
        "heures pour aller à Carhaix",
        "est libre",
    )
    assert "La voiture « Citroën Berlingo n° 1 » (gazole) du site de Morlaix" in proposal
    assert "de 9 h à 17 h pour aller à Carhaix" in proposal
    assert "Ce déplacement à Carhaix" in proposal
    booked = await say("ouais", "réservé :")
    assert "la voiture « Citroën Berlingo n° 1 », site de Morlaix" in booked
    assert "Clés : secrétariat" in booked
    ref = ics_ref(booked)
    method, sequence, uid = await invitation(client, ref)
    assert (method, sequence) == ("PUBLISH", 0)
    listed = await say("mes réservations", "Vos réservations à venir")
    assert "voiture Citroën Berlingo n° 1 au départ de Morlaix pour Carhaix" in listed
    await say("décale la voiture à 9h30", "Je déplace votre réservation")
    moved = await say("c bon", "maintenant le")
    assert "de 9 h 30 à 17 h 30" in moved
    assert await invitation(client, ref) == ("PUBLISH", 1, uid)
    await say("annule la voiture", "annule votre réservation")
    cancelled = await say("👍", "annulé :")
    assert "La voiture est libérée" in cancelled
    assert await invitation(client, ref) == ("CANCEL", 2, uid)
