"""Pool vehicles, the visio room offered instead of a trip, and shared visio meetings:
the actions with Tracker.from_dict + CollectingDispatcher, a frozen clock, real SQLite."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from actions.booking import (
    ActionAskBookingConfirmed,
    ActionAskSite,
    ActionBookingAnswer,
    ActionBookingCancelStart,
    ActionBookingIdentify,
    ActionBookingList,
    ActionBookingPropose,
    ActionBookingShared,
    ValidateBookingConfirmForm,
    ValidateBookingForm,
    store,
)
from actions.booking_calendar import ics_for_ref
from actions.booking_store import AgentRow, BookingRow, MobilityChoiceRow, VehicleBookingRow
from common.mobility_indicators import mobility_indicators
from tests.rasa.test_booking_actions import (  # noqa: F401 (frozen: the autouse clock and database)
    AGENT,
    NOW,
    OTHER_AGENT,
    frozen,
    run,
    text_of,
    tracker,
)

SENTENCE = "il me faut une voiture de service demain de 8h à 17h pour aller à Carhaix"
# What the gazetteer reads in it: the commune and the site, on the same words.
CARHAIX = [
    {"entity": "commune", "value": "Carhaix-Plouguer", "start": 66, "end": 73},
    {"entity": "site", "value": "Carhaix", "start": 66, "end": 73},
]
TRIP_SLOTS = {
    "booking_resource": "vehicle",
    "site": "Quimper",
    "booking_destination": "Carhaix",
    "booking_date": "2026-11-25",
    "booking_time": "08:00",
    "booking_duration": 540.0,
    "booking_attendees": 1.0,
}


@pytest.fixture(autouse=True)
def visio_threshold(frozen, monkeypatch):  # noqa: F811
    monkeypatch.setenv("VISIO_SUGGEST_MIN_KM", "30")


async def propose(slots: dict, metadata: dict = AGENT) -> tuple[dict, str, list]:
    """The proposal's slots, and the question booking_confirm_form asks with its buttons."""
    _, proposal, _ = await run(ActionBookingPropose(), tracker(slots=slots, metadata=metadata))
    assert proposal["booking_step"] == "confirm", proposal
    merged = {**slots, **proposal}
    messages, _, _ = await run(ActionAskBookingConfirmed(), tracker(slots=merged))
    return merged, text_of(messages), messages[0]["buttons"]


async def answer_yes(slots: dict, metadata: dict = AGENT) -> str:
    messages, _, _ = await run(
        ActionBookingAnswer(),
        tracker("oui", "affirm", metadata, slots={**slots, "booking_confirmed": True}),
    )
    return text_of(messages)


def count(row_class) -> int:
    with store().sessions() as session:
        return session.scalar(select(func.count()).select_from(row_class))


def choices() -> list[tuple[str, str, float]]:
    with store().sessions() as session:
        rows = session.execute(
            select(MobilityChoiceRow.choice, MobilityChoiceRow.destination, MobilityChoiceRow.km)
        )
        return [tuple(r) for r in rows]


async def test_the_sentence_books_a_vehicle_at_the_home_site_for_the_trip():
    _, slots, _ = await run(
        ActionBookingIdentify(), tracker(SENTENCE, "book_vehicle", entities=CARHAIX)
    )
    assert slots["booking_agent"] is True
    assert slots["booking_resource"] == "vehicle"
    # Anne Martin works in Quimper: the car is picked up there and goes to Carhaix.
    assert (slots["site"], slots["booking_destination"]) == ("Quimper", "Carhaix")
    assert slots["booking_attendees"] == 1.0
    t = tracker(
        SENTENCE,
        "book_vehicle",
        entities=CARHAIX,
        slots={**slots, "site": "Carhaix"},  # the site mapping read "Carhaix"
        events=[{"event": "slot", "name": "site", "value": "Carhaix"}],
    )
    messages, updates, _ = await run(ValidateBookingForm(), t)
    assert messages == []
    assert updates == {
        "booking_date": "2026-11-25",
        "booking_time": "08:00",
        "booking_duration": 540.0,
        "site": "Quimper",
    }
    merged, question, _ = await propose(TRIP_SLOTS)
    assert merged["booking_option"] == "vl-quimper-zoe-1|2026-11-25T07:00Z"
    assert "La voiture « Renault Zoé n° 1 » (électrique) du site de Quimper est libre" in question
    assert "mercredi 25 novembre 2026 de 8 h à 17 h pour aller à Carhaix" in question
    assert "Clés : accueil de l'Hôtel du Département" in question
    # Rasa's confirmation form reads "Carhaix" again into the site slot when it starts.
    saved = await answer_yes({**merged, "site": "Carhaix"})
    assert "C'est réservé : la voiture « Renault Zoé n° 1 », site de Quimper" in saved
    assert "pour Carhaix" in saved and "Clés :" in saved
    ref = saved.rsplit("/bookings/", 1)[1].removesuffix(".ics")
    calendar = ics_for_ref(ref, NOW)
    assert "SUMMARY:Voiture de service – Renault Zoé n° 1 pour Carhaix" in calendar
    assert count(VehicleBookingRow) == 1 and count(BookingRow) == 0
    # Offered a visio room, the agent kept the trip: recorded for the indicators.
    assert [c[:2] for c in choices()] == [("trip", "Carhaix")]


async def test_the_visio_room_is_offered_above_the_threshold_with_the_trips_cost():
    merged, question, buttons = await propose(TRIP_SLOTS)
    # Quimper–Carhaix: 50 km as the crow flies, × 1.3 (road), there and back, at 70 km/h;
    # 0.103 kgCO2e/km for an electric car (data/emission_factors.yml).
    assert (
        "Ce déplacement à Carhaix représente environ 129 km aller-retour, 1 h 51 de route "
        "et 13,3 kg de CO2 (voiture électrique : 103 g CO2e/km, ADEME"
    ) in question
    assert "« Bureau visio Jet » est libre sur votre site (Quimper)" in question
    assert [b["payload"] for b in buttons] == [
        "/affirm",
        '/choose_option{"option":"quimper-jet|2026-11-25T07:00Z"}',
        "/deny",
    ]
    assert merged["booking_trip"]["visio"] == "quimper-jet|2026-11-25T07:00Z"


@pytest.mark.parametrize(
    ("threshold", "destination"),
    [("200", "Carhaix"), ("30", "Ergué-Gabéric"), ("30", "Quimper")],
)
async def test_no_visio_offer_below_the_threshold(monkeypatch, threshold, destination):
    monkeypatch.setenv("VISIO_SUGGEST_MIN_KM", threshold)
    merged, question, buttons = await propose({**TRIP_SLOTS, "booking_destination": destination})
    assert "déplacement" not in question and "visio" not in question
    assert [b["payload"] for b in buttons] == ["/affirm", "/deny"]
    assert "booking_trip" not in merged or merged["booking_trip"] is None


async def test_a_room_at_a_distant_site_offers_a_visio_room_at_home_too():
    room = {
        "booking_resource": "room",
        "site": "Brest",
        "booking_date": "2026-11-26",
        "booking_time": "14:00",
        "booking_duration": 60.0,
        "booking_attendees": 6.0,
    }
    merged, question, _ = await propose(room)
    assert "« Salle Penfeld » (Maison du Département, Brest) est libre" in question
    assert "Ce déplacement à Brest" in question and "voiture thermique : 218 g" in question
    assert "« Bureau visio Jet » est libre sur votre site (Quimper)" in question
    assert await answer_yes(merged) and [c[:2] for c in choices()] == [("trip", "Brest")]


async def test_the_agent_chooses_the_visio_room_it_is_booked_and_counted():
    merged, _, _ = await propose(TRIP_SLOTS)
    asked = {**merged, "requested_slot": "booking_confirmed"}
    messages, chosen, _ = await run(
        ValidateBookingConfirmForm(), tracker("plutot la visio stp", "inform", slots=asked)
    )
    assert chosen["booking_option"] == "quimper-jet|2026-11-25T07:00Z"
    assert chosen["site"] == "Quimper" and chosen["booking_confirmed"] is None
    merged = {**merged, **chosen}
    messages, _, _ = await run(ActionAskBookingConfirmed(), tracker(slots=merged))
    assert "Je réserve « Bureau visio Jet » à Quimper" in text_of(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    saved = await answer_yes(merged)
    assert "C'est réservé : « Bureau visio Jet », Hôtel du Département, Quimper" in saved
    assert "Lien de la visio : https://visio.departement.example/" in saved
    assert count(VehicleBookingRow) == 0 and count(BookingRow) == 1
    [(choice, destination, km)] = choices()
    assert (choice, destination) == ("visio", "Carhaix") and km > 100
    with store().engine.connect() as connection:
        rows = mobility_indicators(connection, date(2026, 11, 1), date(2026, 11, 30))
    quimper = next(r for r in rows if r["site_name"] == "Quimper")
    assert quimper["trips_avoided"] == 1 and quimper["km_saved"] == km
    assert quimper["co2_saved_kg"] > 10 and quimper["room_occupancy"] > 0


async def test_too_many_passengers_for_the_site_s_cars():
    t = tracker(
        "on sera 6",
        slots={**TRIP_SLOTS, "requested_slot": "booking_attendees"},
    )
    messages, slots, _ = await run(ValidateBookingForm(), t)
    assert slots["booking_attendees"] is None
    assert "Le plus grand véhicule de Quimper a 5 places" in text_of(messages)


async def test_vehicle_taken_gives_the_site_s_other_cars():
    first, _, _ = await propose(TRIP_SLOTS, OTHER_AGENT)
    assert "C'est réservé" in await answer_yes(first, OTHER_AGENT)
    merged, _, _ = await propose(TRIP_SLOTS)
    assert merged["booking_option"].startswith("vl-quimper-clio-2|")


async def test_vehicles_are_listed_and_cancelled_like_rooms():
    merged, _, _ = await propose(TRIP_SLOTS)
    await answer_yes(merged)
    messages, _, _ = await run(ActionBookingList(), tracker("mes réservations", "list_bookings"))
    listed = text_of(messages)
    assert "voiture Renault Zoé n° 1 au départ de Quimper pour Carhaix" in listed
    assert "clés : accueil" in listed
    _, started, _ = await run(
        ActionBookingCancelStart(), tracker("annule la voiture de demain", "cancel_booking")
    )
    assert started["booking_ref"].startswith("v") and started["booking_action"] == "cancel"
    messages, _, _ = await run(
        ActionBookingAnswer(), tracker("oui", slots={**started, "booking_confirmed": True})
    )
    assert "C'est annulé" in text_of(messages) and "La voiture est libérée" in text_of(messages)
    assert store().is_free(
        "vl-quimper-zoe-1",
        NOW.replace(day=25, hour=7),
        NOW.replace(day=25, hour=16),
    )


SHARED = "visio entre Brest, Quimper et Morlaix jeudi à 14h pendant 1h"
SHARED_SITES = [
    {"entity": "site", "value": name, "start": start, "end": start + len(name)}
    for name, start in (("Brest", 13), ("Quimper", 20), ("Morlaix", 31))
]


async def test_a_shared_meeting_books_a_room_on_each_site_with_one_link():
    _, proposal, _ = await run(
        ActionBookingShared(), tracker(SHARED, "book_shared_visio", entities=SHARED_SITES)
    )
    assert proposal["booking_step"] == "confirm" and proposal["booking_action"] == "shared"
    assert "Brest : « Salle Penfeld »" in proposal["booking_question"]
    assert "Morlaix : « Salle Dossen »" in proposal["booking_question"]
    saved = await answer_yes(proposal)
    assert "C'est réservé : réunion partagée jeudi 26 novembre 2026 de 14 h à 15 h" in saved
    with store().sessions() as session:
        rows = session.execute(select(BookingRow.visio_url, BookingRow.group_ref)).all()
    assert len(rows) == 3 and len(set(rows)) == 1 and rows[0][1]


async def test_a_shared_meeting_fails_whole_when_one_room_is_taken_meanwhile():
    _, proposal, _ = await run(
        ActionBookingShared(), tracker(SHARED, "book_shared_visio", entities=SHARED_SITES)
    )
    # Between the proposal and the yes, another agent takes Morlaix's only room.
    thursday = NOW.replace(day=26, hour=13)
    taken = store().book(
        "y.le-gall", "morlaix-dossen", thursday, thursday.replace(hour=14), 4, "https://v", NOW
    )
    assert taken.booking is not None
    saved = await answer_yes(proposal)
    assert "Je ne peux pas réserver cette réunion partagée" in saved
    assert "à Morlaix" in saved and "Je n'ai rien réservé, sur aucun site" in saved
    with store().sessions() as session:
        mine = session.scalar(
            select(func.count()).select_from(BookingRow).where(BookingRow.agent_id == "a.martin")
        )
    assert mine == 0  # neither Brest nor Quimper stayed booked
    # Asked again now, it is refused before anything is proposed.
    messages, proposal, _ = await run(
        ActionBookingShared(), tracker(SHARED, "book_shared_visio", entities=SHARED_SITES)
    )
    assert proposal["booking_step"] is None
    assert "aucune salle visio n'est libre" in text_of(messages) and "à Morlaix" in text_of(
        messages
    )


async def test_a_shared_meeting_needs_two_sites_and_a_time():
    messages, proposal, _ = await run(
        ActionBookingShared(),
        tracker("une visio à Brest demain", "book_shared_visio", entities=SHARED_SITES[:1]),
    )
    assert proposal["booking_step"] is None
    assert "au moins deux sites" in text_of(messages)


async def test_without_a_home_site_the_pick_up_site_is_asked():
    with store().sessions.begin() as session:
        session.get(AgentRow, "a.martin").home_site = None
    _, slots, _ = await run(
        ActionBookingIdentify(), tracker(SENTENCE, "book_vehicle", entities=CARHAIX)
    )
    assert (slots["site"], slots["booking_destination"]) == (None, "Carhaix")
    messages, _, _ = await run(ActionAskSite(), tracker(slots={"booking_resource": "vehicle"}))
    assert text_of(messages).startswith("De quel site partez-vous ?")
    assert len(messages[0]["buttons"]) == 6  # every sample site has a car
    # The answer to that question is the pick-up site, not a destination.
    t = tracker(
        "brest",
        entities=[{"entity": "site", "value": "Brest", "start": 0, "end": 5}],
        slots={**slots, "site": "Brest", "requested_slot": "site"},
        events=[{"event": "slot", "name": "site", "value": "Brest"}],
    )
    _, updates, _ = await run(ValidateBookingForm(), t)
    assert updates == {"site": "Brest"}
