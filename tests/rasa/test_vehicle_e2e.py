"""Pool vehicles end to end: real model, Rasa and action servers, Rasa's gateway channel."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from actions.booking_admin import load_reference_data
from actions.booking_rules import is_open
from actions.datetime_fr import PARIS, to_utc
from tests.rasa.test_booking_e2e import buttons, texts
from tools.stack import Stack

pytestmark = [pytest.mark.model, pytest.mark.stack]

AGENT = {  # Anne Martin, who works in Quimper
    "channel": "matrix",
    "user_id": "@a.martin:departement.example",
    "role": "agent",
    "locale": "fr",
}


def open_day(site: str, start: time, hours: int):
    rooms, _ = load_reference_data()
    opening = next(s["opening_hours"] for s in rooms["sites"] if s["name"] == site)
    day = datetime.now(PARIS).date() + timedelta(days=2)
    while not is_open(opening, to_utc(day, start), to_utc(day, start) + timedelta(hours=hours)):
        day += timedelta(days=1)
    return day


def test_the_sentence_as_agents_write_it_books_a_car(rasa_stack: Stack):
    day = open_day("Quimper", time(8), 9)
    sender = "e2e-vehicle-1"
    proposal = rasa_stack.send(
        sender,
        f"jveu 1 voiture de servise le {day:%d/%m/%Y} de huit heures à dix-sept heures pr "
        "aller a carhaix",
        metadata=AGENT,
    )
    text = texts(proposal)
    assert "La voiture « Renault Zoé n° 1 » (électrique) du site de Quimper" in text, proposal
    assert "de 8 h à 17 h pour aller à Carhaix" in text
    assert "Plutôt la visio à Quimper" in [b["title"] for b in buttons(proposal)]
    saved = rasa_stack.send(sender, "ok", metadata=AGENT)
    assert "C'est réservé : la voiture « Renault Zoé n° 1 », site de Quimper" in texts(saved), saved
    listed = rasa_stack.send(sender, "mes réservations", metadata=AGENT)
    assert "voiture Renault Zoé n° 1 au départ de Quimper pour Carhaix" in texts(listed)


def test_a_shared_meeting_end_to_end(rasa_stack: Stack):
    day = open_day("Quimperlé", time(16), 1)  # 14h: the room tests fill Brest then
    sender = "e2e-shared-1"
    proposal = rasa_stack.send(
        sender,
        f"une réunion visio entre Brest, Quimperlé et Morlaix le {day:%d/%m/%Y} à 16h pendant 1h",
        metadata=AGENT,
    )
    assert "Je réserve les 3 salles ?" in texts(proposal), proposal
    saved = rasa_stack.send(sender, "oui", metadata=AGENT)
    text = texts(saved)
    assert "C'est réservé : réunion partagée" in text, saved
    assert text.count("/bookings/") == 3 and "le même pour tous les sites" in text
