"""Booking as agents write it, through the actions (frozen clock, real SQLite).

Closed days and public holidays, past and doubtful dates, yes/no however typed,
one-sentence moves and cancels, overlapping bookings, unknown or misspelt sites, and
the calendar (.ics) kept right through a move and a cancellation (read with icalendar).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from icalendar import Calendar

from actions.booking import (
    ActionAskSite,
    ActionBookingAnswer,
    ActionBookingCancelStart,
    ActionBookingMoveStart,
    ActionBookingPropose,
    ValidateBookingConfirmForm,
    ValidateBookingForm,
    store,
    yes_or_no,
)
from actions.booking_calendar import ics_for_ref
from actions.datetime_fr import UTC
from tests.rasa.test_booking_actions import (  # noqa: F401 (frozen: the autouse clock fixture)
    AGENT,
    FULL,
    NOW,
    book_full,
    frozen,
    run,
    text_of,
    tracker,
)


@pytest.mark.parametrize(
    ("text", "intent", "answer"),
    [
        ("oui", "affirm", True),
        ("ouais", "affirm", True),
        ("vi", "nlu_fallback", True),
        ("ok", "affirm", True),
        ("c bon", "greet", True),
        ("C'est bon !", "affirm", True),
        ("👍", "nlu_fallback", True),
        ("oui je confirme", "affirm", True),
        ("non", "deny", False),
        ("nan", "deny", False),
        ("laisse tomber", "deny", False),
        ("non merci", "deny", False),
        ("👎", "nlu_fallback", False),
        ("bof", "nlu_fallback", None),
        ("oui mais non", "affirm", None),
        ("à quelle heure déjà ?", "inform", None),
        ("/affirm", "affirm", True),
        ("/deny", "deny", False),
    ],
)
def test_yes_and_no_as_agents_type_them(text, intent, answer):
    assert yes_or_no(text, intent) is answer


async def test_the_confirmation_form_asks_again_when_unclear():
    asking = {"requested_slot": "booking_confirmed", "booking_question": "Je la réserve ?"}
    messages, slots, _ = await run(ValidateBookingConfirmForm(), tracker("vi", slots=asking))
    assert slots == {"booking_confirmed": True} and messages == []
    messages, slots, _ = await run(ValidateBookingConfirmForm(), tracker("bof", slots=asking))
    assert slots == {"booking_confirmed": None}
    assert "répondez « oui » ou « non »" in text_of(messages)
    _, slots, _ = await run(ValidateBookingConfirmForm(), tracker("laisse tomber", slots=asking))
    assert slots == {"booking_confirmed": False}
    # At activation (nothing asked yet) the message that led here is not an answer.
    _, _, events = await run(ValidateBookingConfirmForm(), tracker("oui", slots={}))
    assert events == []


async def test_a_forged_choice_during_the_confirmation_is_refused_and_asked_again():
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    forged = "brest-iroise|2026-11-26T13:00Z"
    messages, slots, _ = await run(
        ValidateBookingConfirmForm(),
        tracker(
            "",
            "choose_option",
            entities=[{"entity": "option", "value": forged}],
            slots={**FULL, **proposal, "requested_slot": "booking_confirmed"},
        ),
    )
    assert "ne fait pas partie de ceux que je vous ai proposés" in text_of(messages)
    assert slots == {"booking_confirmed": None}


async def validate(text: str, slots: dict, requested: str | None = None, **kwargs):
    return await run(
        ValidateBookingForm(), tracker(text, slots={**slots, "requested_slot": requested}, **kwargs)
    )


async def test_numbers_in_words_are_read_and_checked_against_the_rooms():
    messages, slots, _ = await validate("pour dix-huit personnes", {"site": "Brest"})
    assert slots == {"booking_attendees": None}
    assert "La plus grande salle de Brest accueille 10 personnes" in text_of(messages)
    _, slots, _ = await validate("à quatorze heures trente", {"site": "Brest"}, "booking_time")
    assert slots == {"booking_time": "14:30"}
    _, slots, _ = await validate("pr 4", {"site": "Brest"}, "booking_attendees")
    assert slots == {"booking_attendees": 4.0}
    # Unreadable: asked again, never guessed.
    messages, slots, _ = await validate("plein de monde", {"site": "Brest"}, "booking_attendees")
    assert slots == {"booking_attendees": None}
    assert messages[0]["response"] == "utter_booking_not_understood"


async def test_a_saturday_says_why_and_offers_the_next_open_days():
    messages, slots, _ = await validate("le 12/12 à 9h30", {"site": "Brest"}, "booking_date")
    assert slots["booking_date"] is None and slots["booking_time"] == "09:30"
    assert "Le site de Brest est fermé le samedi." in text_of(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "le 14/12/2026",
        "le 15/12/2026",
        "le 16/12/2026",
    ]
    assert messages[0]["buttons"][0]["title"] == "lundi 14 décembre"
    # A chosen day (the button) keeps the time given before: nothing is asked twice.
    _, slots, _ = await validate(
        "le 14/12/2026", {"site": "Brest", "booking_time": "09:30"}, "booking_date"
    )
    assert slots == {"booking_date": "2026-12-14"}


async def test_christmas_names_the_holiday():
    messages, slots, _ = await validate("le 25/12 à 10h", {"site": "Quimper"}, "booking_date")
    assert slots["booking_date"] is None
    assert "jour férié (Noël)" in text_of(messages)
    assert "du lundi au vendredi" not in text_of(messages)
    assert messages[0]["buttons"][0]["payload"] == "le 28/12/2026"


async def test_a_date_just_passed_asks_whether_next_year_was_meant():
    messages, slots, _ = await validate("le 20/11", {"site": "Brest"}, "booking_date")
    assert slots == {"booking_date": None}
    assert "Le vendredi 20 novembre est déjà passé cette année" in text_of(messages)
    assert "samedi 20 novembre 2027" in text_of(messages)
    assert messages[0]["buttons"][0]["payload"] == "le 20/11/2027"


async def test_next_thursday_says_which_and_one_word_corrects_it():
    messages, slots, _ = await validate("jeudi prochain", {"site": "Brest"}, "booking_date")
    assert slots == {"booking_date": "2026-11-26"}
    assert "Je compte le jeudi 26 novembre 2026" in text_of(messages)
    assert "« suivant »" in text_of(messages)
    assert messages[0]["buttons"][0]["payload"] == "suivant"
    messages, slots, _ = await validate(
        "suivant", {"site": "Brest", "booking_date": "2026-11-26"}, "booking_time"
    )
    assert slots == {"booking_date": "2026-12-03"}
    assert "C'est noté : le jeudi 3 décembre 2026." in text_of(messages)


async def test_an_unknown_site_gives_the_nearest_ones_and_a_typo_the_closest_name():
    commune = [{"entity": "commune", "value": "Landerneau"}]
    messages, slots, _ = await validate("à landerneau", {}, "site", entities=commune)
    assert slots == {"site": None}
    text = text_of(messages)
    assert "Il n'y a pas de salle de visioconférence à Landerneau" in text
    assert messages[0]["buttons"][0]["title"] == "Maison du Département, Brest"
    assert messages[0]["buttons"][0]["payload"] == '/inform{"site":"Brest"}'
    messages, slots, _ = await validate("brset", {}, "site")
    assert "Vouliez-vous dire : Brest ?" in text_of(messages)
    assert messages[0]["buttons"][0]["payload"] == '/inform{"site":"Brest"}'


async def test_the_site_question_lists_the_sites_as_buttons():
    messages, _, _ = await run(ActionAskSite(), tracker())
    assert text_of(messages) == "Sur quel site voulez-vous la salle ?"
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert '/inform{"site":"Quimper"}' in payloads and len(payloads) == 6


async def test_overlapping_bookings_are_warned_about():
    await book_full()  # Brest, Thursday 14:00-15:00
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots={**FULL, "site": "Quimper"}))
    assert (
        "Attention : vous avez déjà une réservation sur ce créneau"
        in (proposal["booking_question"])
    )
    assert "Salle Penfeld à Brest" in proposal["booking_question"]


def event_of(ics: str):
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


async def test_a_one_sentence_move_keeps_the_calendar_uid_and_raises_its_sequence():
    await book_full()
    [booking] = store().upcoming("a.martin", NOW)
    _, before = event_of(ics_for_ref(booking.ref, stamp=NOW))
    assert int(before["SEQUENCE"]) == 0
    assert str(before["DESCRIPTION"]).startswith("Salle Penfeld, 6 personnes.")
    assert "Salle Salle" not in str(before["DESCRIPTION"])
    _, slots, _ = await run(ActionBookingMoveStart(), tracker("décale à 16h", "change_booking"))
    assert slots["booking_step"] == "confirm" and slots["booking_option"].endswith("15:00Z")
    assert "Je déplace votre réservation" in slots["booking_question"]
    messages, _, _ = await run(
        ActionBookingAnswer(), tracker("vi", slots={**slots, "booking_confirmed": True})
    )
    assert "maintenant le jeudi 26 novembre 2026 de 16 h à 17 h" in text_of(messages)
    calendar, after = event_of(ics_for_ref(booking.ref, stamp=NOW))
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == 1
    assert after.decoded("DTSTART") == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    assert str(calendar["METHOD"]) == "PUBLISH" and str(after["STATUS"]) == "CONFIRMED"


async def test_move_names_the_booking_and_the_new_time_in_one_sentence():
    await book_full()
    await book_full(slots={**FULL, "booking_date": "2026-11-27"})
    _, slots, _ = await run(
        ActionBookingMoveStart(),
        tracker("décale ma réservation de vendredi à 10h", "change_booking"),
    )
    assert slots["booking_option"] == "brest-penfeld|2026-11-27T09:00Z"
    # "mets-la à 10h demain": the day is the new one; several bookings → which one?
    messages, slots, _ = await run(
        ActionBookingMoveStart(), tracker("mets-la à 10h demain", "change_booking")
    )
    assert len(messages[0]["buttons"]) == 2
    assert slots["booking_time"] == "10:00" and slots["booking_date"] == "2026-11-25"


async def test_a_cancelled_booking_is_served_as_a_cancel_at_the_same_link():
    await book_full()
    await book_full(slots={**FULL, "booking_date": "2026-11-27"})
    _, slots, _ = await run(
        ActionBookingCancelStart(), tracker("annule celle de vendredi", "cancel_booking")
    )
    assert "vendredi 27 novembre" in slots["booking_question"]
    booking = store().get("a.martin", int(slots["booking_ref"]))
    messages, _, _ = await run(
        ActionBookingAnswer(), tracker("ok", slots={**slots, "booking_confirmed": True})
    )
    assert "C'est annulé" in text_of(messages) and f"/bookings/{booking.ref}.ics" in (
        text_of(messages)
    )
    calendar, event = event_of(ics_for_ref(booking.ref, stamp=NOW))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"{booking.ref}@assistant.departement"
    assert int(event["SEQUENCE"]) == 1
    assert ics_for_ref("unknown-reference") is None


async def test_actions_run_their_database_work_off_the_event_loop(monkeypatch):
    import asyncio
    import threading

    loop_thread = threading.get_ident()
    seen: list[int] = []
    real_store = store

    def spying_store():
        seen.append(threading.get_ident())
        return real_store()

    monkeypatch.setattr("actions.booking.store", spying_store)
    await asyncio.gather(run(ActionBookingPropose(), tracker(slots=FULL)))
    assert seen and loop_thread not in seen
