"""Booking choices are re-checked at confirmation, whatever the client sends.

A ``/choose_option{"option": "room|time"}`` payload is only a request. Each forged case
is refused with a French reason and nothing is saved (real booking store on SQLite,
``Tracker.from_dict`` + ``CollectingDispatcher``, the clock frozen as in
tests/rasa/test_booking_actions.py).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from actions.booking import (
    ActionBookingAnswer,
    ActionBookingChoose,
    ActionBookingMovePropose,
    ActionBookingMoveStart,
    ActionBookingPropose,
    store,
)
from actions.datetime_fr import UTC
from tests.rasa.test_booking_actions import (  # noqa: F401  (frozen: the autouse clock and database)
    FULL,
    NOW,
    OTHER_AGENT,
    book_full,
    frozen,
    run,
    text_of,
    tracker,
)

FREE_LATER = "brest-penfeld|2026-11-26T15:00Z"  # Thursday 16:00 in Paris: open and free


def choose(option: str, slots: dict) -> tuple:
    return run(
        ActionBookingChoose(),
        tracker(
            "",
            "choose_option",
            entities=[{"entity": "option", "value": option}],
            slots={**FULL, "booking_action": "book", **slots},
        ),
    )


async def confirm(option: str, offered: list[str], **slots) -> str:
    """Say yes to ``option`` with ``offered`` as the conversation's offers; the answer."""
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker(
            "oui",
            "affirm",
            slots={
                **FULL,
                **slots,
                "booking_step": "confirm",
                "booking_confirmed": True,
                "booking_action": "book",
                "booking_option": option,
                "booking_offered": offered,
            },
        ),
    )
    return text_of(messages)


async def test_a_choice_never_offered_is_refused_at_once() -> None:
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    assert proposal["booking_offered"] == ["brest-penfeld|2026-11-26T13:00Z"]

    messages, slots, _ = await choose(FREE_LATER, proposal)

    assert "ne fait pas partie de ceux que je vous ai proposés" in text_of(messages)
    assert "booking_option" not in slots  # the proposal stays as it was
    assert store().upcoming("a.martin", NOW) == []


async def test_a_confirmation_of_an_option_never_offered_saves_nothing() -> None:
    answer = await confirm(FREE_LATER, offered=["brest-penfeld|2026-11-26T13:00Z"])
    assert "ne fait pas partie de ceux que je vous ai proposés : je n'ai rien réservé" in answer
    assert await confirm(FREE_LATER, offered=[]) == answer
    assert store().upcoming("a.martin", NOW) == []


@pytest.mark.parametrize(
    ("option", "slots", "reason"),
    [
        ("brest-penfeld|2026-11-23T13:00Z", {}, "Ce créneau est déjà passé."),
        ("brest-penfeld|2028-01-04T13:00Z", {}, "plus d'un an à l'avance"),
        # 19:00 in Paris: Brest closes at 18:30.
        ("brest-penfeld|2026-11-26T18:00Z", {}, "Le site de Brest n'est pas ouvert"),
        # A Saturday.
        ("brest-penfeld|2026-11-28T10:00Z", {}, "n'est pas ouvert sur tout ce créneau"),
        # Christmas Day, a Friday: public holidays are closed.
        ("brest-penfeld|2026-12-25T09:00Z", {}, "fermé les jours fériés"),
        # Penfeld seats 6.
        (
            "brest-penfeld|2026-11-26T15:00Z",
            {"booking_attendees": 12.0},
            "La salle « Salle Penfeld » accueille 6 personnes au plus, pas 12.",
        ),
        # A room of another site, and a room that does not exist.
        ("morlaix-dossen|2026-11-26T13:00Z", {}, "Je ne connais pas cette salle"),
        ("salle-imaginaire|2026-11-26T13:00Z", {}, "Je ne connais pas cette salle"),
        # Ten hours and a half.
        ("brest-penfeld|2026-11-26T08:00Z", {"booking_duration": 630.0}, "10 heures"),
    ],
)
async def test_a_forged_option_is_refused_even_when_the_offers_are_forged_too(
    option: str, slots: dict, reason: str
) -> None:
    # The worst case: the offered list itself is forged (a tracker posted to the action
    # server): the option is still checked against the rooms, the hours and the clock.
    answer = await confirm(option, offered=[option], **slots)
    assert reason in answer, answer
    assert "n'ai rien réservé" in answer
    assert store().upcoming("a.martin", NOW) == []


async def test_an_offered_option_taken_meanwhile_is_not_booked_twice() -> None:
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    await book_full(OTHER_AGENT)  # takes the same room and time
    answer = await confirm(proposal["booking_option"], proposal["booking_offered"])
    assert "déjà pris" in answer
    assert store().upcoming("a.martin", NOW) == []


async def test_the_offered_option_is_still_booked() -> None:
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=FULL))
    answer = await confirm(proposal["booking_option"], proposal["booking_offered"])
    assert "C'est réservé" in answer
    assert len(store().upcoming("a.martin", NOW)) == 1


async def test_a_move_to_a_time_never_offered_changes_nothing() -> None:
    await book_full()
    _, started, _ = await run(
        ActionBookingMoveStart(), tracker("décaler ma réservation", "change_booking")
    )
    _, proposal, _ = await run(ActionBookingMovePropose(), tracker("à 16h", slots=started))
    assert proposal["booking_offered"] == [FREE_LATER]
    forged = "brest-penfeld|2026-11-27T08:00Z"  # Friday 9:00, free, but never offered
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker(
            "oui",
            "affirm",
            slots={**started, **proposal, "booking_option": forged, "booking_confirmed": True},
        ),
    )
    assert "je n'ai rien changé" in text_of(messages)
    [booking] = store().upcoming("a.martin", NOW)
    assert booking.start_utc == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
