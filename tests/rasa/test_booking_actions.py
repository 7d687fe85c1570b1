"""Booking actions: Tracker.from_dict + CollectingDispatcher, a frozen clock, real SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.booking as booking_actions
from actions.booking import (
    FORM_QUESTIONS,
    ActionAskBookingConfirmed,
    ActionBookingAnswer,
    ActionBookingCancelStart,
    ActionBookingChoose,
    ActionBookingIdentify,
    ActionBookingList,
    ActionBookingMovePropose,
    ActionBookingMoveStart,
    ActionBookingPropose,
    ValidateBookingForm,
    store,
)
from actions.booking_calendar import ics_for_ref
from actions.datetime_fr import UTC
from common.config import PROJECT_ROOT
from common.migrate import upgrade
from tests.nlu_data import load

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 24 November 2026, 10:00 in Paris
AGENT = {
    "channel": "matrix",
    "user_id": "@a.martin:departement.example",
    "role": "agent",
    "locale": "fr",
}
OTHER_AGENT = {"channel": "telegram", "user_id": "100000002", "role": "agent", "locale": "fr"}
CITIZEN = {"channel": "web", "user_id": "citoyen-42", "role": "citizen", "locale": "fr"}
FULL = {
    "site": "Brest",
    "booking_date": "2026-11-26",
    "booking_time": "14:00",
    "booking_duration": 60.0,
    "booking_attendees": 6.0,
}


@pytest.fixture(autouse=True)
def frozen(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'actions.db'}")
    upgrade(f"sqlite:///{tmp_path / 'actions.db'}")
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "https://assistant.departement.example")
    monkeypatch.setenv("VISIO_BASE_URL", "https://visio.departement.example")
    # The visio room offered instead of a long trip has its own tests (test_vehicle_*.py):
    # here every site is "near", so that the room conversation is what is tested.
    monkeypatch.setenv("VISIO_SUGGEST_MIN_KM", "1000")
    monkeypatch.setattr(booking_actions, "now", lambda: NOW)


def tracker(
    text: str = "",
    intent: str = "inform",
    metadata: dict | None = None,
    slots: dict | None = None,
    entities: list | None = None,
    events: list | None = None,
) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "t",
            "slots": slots or {},
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_message": {
                "text": text,
                "intent": {"name": intent},
                "entities": entities or [],
                "metadata": AGENT if metadata is None else metadata,
            },
            "events": events or [],
        }
    )


async def run(action, t: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any], list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots, events


def text_of(messages) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in messages)


async def test_identify_agents_from_the_directory():
    _, slots, _ = await run(ActionBookingIdentify(), tracker("salle", "book_room"))
    assert slots["booking_agent"] is True and slots["site"] is None
    _, slots, _ = await run(ActionBookingIdentify(), tracker("salle", "book_room", CITIZEN))
    assert slots["booking_agent"] is False
    # The gateway's role is not trusted: only the directory counts.
    fake = {**CITIZEN, "role": "agent"}
    _, slots, _ = await run(ActionBookingIdentify(), tracker("salle", "book_room", fake))
    assert slots["booking_agent"] is False


async def test_everything_in_one_message_fills_every_slot():
    t = tracker(
        "salle visio à Brest jeudi 14h pour 6 pendant 1h",
        "book_room",
        slots={"site": "Brest"},
        events=[{"event": "slot", "name": "site", "value": "Brest"}],
    )
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert messages == []
    assert slots == FULL


async def test_answers_in_any_order_and_bare_numbers_follow_the_question():
    t = tracker("6", slots={"requested_slot": "booking_attendees", "site": "Brest"})
    _, slots, _ = await run(ValidateBookingForm(), t)
    assert slots == {"booking_attendees": 6.0}
    t = tracker("1h30 demain", slots={"requested_slot": "booking_time", "site": "Brest"})
    _, slots, _ = await run(ValidateBookingForm(), t)
    assert slots == {"booking_date": "2026-11-25", "booking_duration": 90.0}


async def test_carhaix_plouguer_is_the_carhaix_site():
    t = tracker(
        "à carhaix",
        slots={"requested_slot": "site", "site": "Carhaix-Plouguer"},
        events=[{"event": "slot", "name": "site", "value": "Carhaix-Plouguer"}],
    )
    _, slots, _ = await run(ValidateBookingForm(), t)
    assert slots == {"site": "Carhaix"}


async def test_validation_rejects_past_closed_and_too_big():
    t = tracker("hier à 14h", slots={"requested_slot": "booking_date", "site": "Brest"})
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots["booking_date"] is None and "déjà passée" in text_of(messages)
    t = tracker("aujourd'hui à 9h", slots={"requested_slot": "booking_date", "site": "Brest"})
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots["booking_time"] is None and "déjà passée" in text_of(messages)
    t = tracker("jeudi 18h pendant 1h", slots={"requested_slot": "booking_date", "site": "Brest"})
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots["booking_time"] is None
    assert "ouvert du lundi au vendredi de 8 h à 18 h 30" in text_of(messages)
    t = tracker(
        "samedi 10h",
        slots={"requested_slot": "booking_date", "site": "Brest", "booking_duration": 60.0},
    )
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots["booking_date"] is None and "fermé le samedi" in text_of(messages)
    t = tracker("nous serons 30", slots={"requested_slot": "booking_attendees", "site": "Morlaix"})
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots["booking_attendees"] is None
    assert "La plus grande salle de Morlaix accueille 8 personnes" in text_of(messages)


async def test_unknown_site_and_gibberish_are_asked_again():
    t = tracker(
        "à Landerneau",
        slots={"requested_slot": "site", "site": "Landerneau"},
        events=[{"event": "slot", "name": "site", "value": "Landerneau"}],
    )
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots == {"site": None}
    assert "Il n'y a pas de salle de visioconférence à Landerneau" in text_of(messages)
    assert "Les sites les plus proches qui en ont : Brest" in text_of(messages)
    t = tracker("euh je sais pas", slots={"requested_slot": "booking_time"})
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots == {"booking_time": None}
    assert messages[0]["response"] == "utter_booking_not_understood"
    # A "no" is left to the rules, which stop the form.
    _, _, events = await run(
        ValidateBookingForm(),
        tracker("non laisse tomber", "deny", slots={"requested_slot": "booking_time"}),
    )
    assert events == []


async def book_full(metadata=AGENT, slots=FULL) -> tuple[list, dict]:
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=slots, metadata=metadata))
    assert proposal["booking_step"] == "confirm"
    return await run(
        ActionBookingAnswer(),
        tracker("oui", "affirm", metadata, slots={**slots, **proposal, "booking_confirmed": True}),
    )


async def test_propose_confirm_and_save_with_visio_link_and_ics():
    messages, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    assert messages == []  # booking_confirm_form asks the question
    assert proposal["booking_option"] == "brest-penfeld|2026-11-26T13:00Z"
    messages, _, _ = await run(ActionAskBookingConfirmed(), tracker(slots=proposal))
    assert "« Salle Penfeld » (Maison du Département, Brest)" in text_of(messages)
    assert "est libre jeudi 26 novembre 2026 de 14 h à 15 h, pour 6 personnes" in text_of(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    messages, slots, _ = await run(
        ActionBookingAnswer(), tracker("oui", slots={**FULL, **proposal, "booking_confirmed": True})
    )
    text = text_of(messages)
    assert "C'est réservé : « Salle Penfeld », Maison du Département, Brest" in text
    assert "jeudi 26 novembre 2026 de 14 h à 15 h" in text
    assert "https://visio.departement.example/Departement-" in text
    assert "https://assistant.departement.example/bookings/" in text
    assert slots["booking_step"] is None and slots["site"] is None
    [booking] = store().upcoming("a.martin", NOW)
    assert text.count(booking.visio_url) == 1
    ics = ics_for_ref(booking.ref, stamp=NOW)
    assert "DTSTART:20261126T130000Z" in ics and booking.visio_url in ics.replace("\r\n ", "")


async def test_deny_saves_nothing():
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker("non", "deny", slots={**FULL, **proposal, "booking_confirmed": False}),
    )
    assert messages[0]["response"] == "utter_booking_nothing_done"
    assert store().upcoming("a.martin", NOW) == []


async def test_taken_slot_offers_alternatives_as_buttons_then_choice_and_booking():
    await book_full()
    await book_full(OTHER_AGENT, {**FULL, "booking_attendees": 8.0})  # Iroise, same time
    messages, slots, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    assert "déjà pris" in text_of(messages)
    buttons = messages[0]["buttons"]
    assert 1 <= len(buttons) <= 3
    assert all(b["payload"].startswith('/choose_option{"option":"brest-') for b in buttons)
    assert slots["booking_choices"] and slots["booking_action"] == "book"
    # "la deuxième" picks the second button.
    messages, chosen, _ = await run(
        ActionBookingChoose(), tracker("la deuxième", "choose_option", slots={**FULL, **slots})
    )
    assert chosen["booking_option"] == slots["booking_choices"][1]
    assert chosen["booking_step"] == "confirm"
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker("oui", slots={**FULL, **slots, **chosen, "booking_confirmed": True}),
    )
    assert "C'est réservé" in text_of(messages)
    assert len(store().upcoming("a.martin", NOW)) == 2


async def test_the_slot_taken_between_proposal_and_yes_gives_alternatives():
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    await book_full(OTHER_AGENT)  # someone else was quicker
    messages, _, _ = await run(
        ActionBookingAnswer(), tracker("oui", slots={**FULL, **proposal, "booking_confirmed": True})
    )
    assert "déjà pris" in text_of(messages) and messages[0]["buttons"]
    assert store().upcoming("a.martin", NOW) == []


async def test_citizens_cannot_book_list_or_cancel():
    for action in (ActionBookingList(), ActionBookingCancelStart(), ActionBookingMoveStart()):
        messages, _, _ = await run(action, tracker("mes réservations", metadata=CITIZEN))
        assert messages[0]["response"] == "utter_booking_agents_only"
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL, metadata=CITIZEN))
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker("oui", "affirm", CITIZEN, slots={**FULL, **proposal, "booking_confirmed": True}),
    )
    assert messages[0]["response"] == "utter_booking_agents_only"
    assert store().upcoming("a.martin", NOW) == []


async def test_list_shows_only_my_bookings():
    await book_full()
    await book_full(OTHER_AGENT, {**FULL, "site": "Morlaix"})
    messages, _, _ = await run(ActionBookingList(), tracker("mes réservations", "list_bookings"))
    text = text_of(messages)
    assert "jeudi 26 novembre 2026 de 14 h à 15 h : Salle Penfeld à Brest" in text
    assert "Morlaix" not in text
    messages, _, _ = await run(
        ActionBookingList(),
        tracker(
            "mes réservations",
            "list_bookings",
            {**CITIZEN, "channel": "web", "user_id": "m.kerouac", "role": "agent"},
        ),
    )
    assert messages[0]["response"] == "utter_booking_none"


async def test_cancel_with_confirmation_and_never_someone_elses():
    await book_full()
    await book_full(OTHER_AGENT, {**FULL, "site": "Morlaix"})
    messages, slots, _ = await run(
        ActionBookingCancelStart(), tracker("annuler ma réservation", "cancel_booking")
    )
    assert slots["booking_step"] == "confirm" and slots["booking_action"] == "cancel"
    assert "J'annule votre réservation du jeudi 26 novembre 2026" in slots["booking_question"]
    slots["booking_confirmed"] = True
    mine = slots["booking_ref"]
    theirs = store().upcoming("y.le-gall", NOW)[0]
    # Forged payload with the other agent's booking id: not found, nothing cancelled.
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker("oui", "affirm", slots={**slots, "booking_ref": str(theirs.id)}),
    )
    assert messages[0]["response"] == "utter_booking_not_found"
    messages, _, _ = await run(
        ActionBookingChoose(),
        tracker(
            "",
            "choose_option",
            entities=[{"entity": "option", "value": f"booking:{theirs.id}"}],
            slots={"booking_action": "cancel"},
        ),
    )
    assert messages[0]["response"] == "utter_booking_not_found"
    assert len(store().upcoming("y.le-gall", NOW)) == 1
    messages, _, _ = await run(
        ActionBookingAnswer(), tracker("oui", "affirm", slots={**slots, "booking_ref": mine})
    )
    assert "C'est annulé" in text_of(messages)
    assert store().upcoming("a.martin", NOW) == []


async def test_cancel_asks_which_one_when_several():
    await book_full()
    await book_full(slots={**FULL, "booking_date": "2026-11-27"})
    messages, slots, _ = await run(
        ActionBookingCancelStart(), tracker("annuler une réservation", "cancel_booking")
    )
    assert len(messages[0]["buttons"]) == 2 and slots["booking_action"] == "cancel"
    messages, slots, _ = await run(
        ActionBookingCancelStart(), tracker("annuler ma réservation de vendredi", "cancel_booking")
    )
    assert "vendredi 27 novembre" in slots["booking_question"]
    assert slots["booking_step"] == "confirm"


async def test_change_the_time_of_a_booking():
    await book_full()
    messages, slots, _ = await run(
        ActionBookingMoveStart(), tracker("décaler ma réservation", "change_booking")
    )
    assert slots["booking_step"] == "new_time"
    messages, proposal, _ = await run(ActionBookingMovePropose(), tracker("à 16h", slots=slots))
    assert proposal["booking_option"] == "brest-penfeld|2026-11-26T15:00Z"
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker("oui", slots={**slots, **proposal, "booking_confirmed": True}),
    )
    assert "maintenant le jeudi 26 novembre 2026 de 16 h à 17 h" in text_of(messages)
    [booking] = store().upcoming("a.martin", NOW)
    assert booking.start_utc == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    # Too late in the day: explained, asked again.
    messages, again, _ = await run(ActionBookingMovePropose(), tracker("à 18h", slots=slots))
    assert "n'est pas ouvert" in text_of(messages) and again == {}


def test_every_form_question_is_in_the_domain():
    domain = load(PROJECT_ROOT / "bot" / "domain" / "booking.yml")
    assert set(FORM_QUESTIONS.values()) <= set(domain["responses"])
    assert ["site", *FORM_QUESTIONS] == domain["forms"]["booking_form"]["required_slots"]
    assert {"action_ask_site", "action_ask_booking_confirmed"} <= set(domain["actions"])
