"""A room asked for with its details is book_room, even when the classifiers read inform."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.booking_request import BookingRequest, is_room_request


@pytest.mark.parametrize(
    "text",
    [
        "une salle à Quimperlé le 06/12/2026 à quatorze heures pour 2 pendant 1h",
        "salle brest 14/01 10h 6 pers 1h30",
        "Salle de réunion à Carhaix jeudi matin",
        "slt jveux 1 salle a morlaix demain pr 4",
        "des salles pour trois personnes",
    ],
)
def test_a_room_with_a_detail_is_a_request(text: str) -> None:
    assert is_room_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "la salle de Châteaulin",  # a site, answering "which site?"
        "le 12/12 à 14h pour 4 pendant 2h",  # details, no room: the form's answer
        "une sale journée",
        "salles",
    ],
)
def test_a_room_without_a_detail_or_details_without_a_room_are_not(text: str) -> None:
    assert not is_room_request(text)


def message(text: str, intent: str) -> Message:
    return Message(
        {"text": text, "intent": {"name": intent, "confidence": 0.9}, "intent_ranking": []}
    )


def test_only_an_inform_reading_becomes_book_room() -> None:
    texts = {
        "inform": "une salle à Brest le 12/12 à 9h pour 4",
        "cancel_booking": "annule la salle de Brest du 12/12",
        "list_bookings": "j'ai une salle jeudi ?",
    }
    messages = [message(text, intent) for intent, text in texts.items()]
    BookingRequest().process([*messages, message("/inform", "inform")])
    assert [m.get("intent")["name"] for m in messages] == [
        "book_room",
        "cancel_booking",
        "list_bookings",
    ]
    assert messages[0].get("intent")["confidence"] == 1.0
