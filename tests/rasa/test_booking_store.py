"""The booking store on a real SQLite file: seeding, availability, alternatives, ownership."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from actions.booking_admin import load_reference_data
from actions.booking_rules import check_attendees, check_when, describe_hours, is_open
from actions.booking_store import BookingStore, parse_token, slot_starts
from actions.datetime_fr import PARIS, UTC
from common.db import make_engine
from common.migrate import upgrade

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Paris
THURSDAY_14H = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
VISIO = "https://visio.departement.example/Departement-test"


@pytest.fixture
def store(tmp_path) -> BookingStore:
    url = f"sqlite:///{tmp_path / 'booking.db'}"
    upgrade(url)
    booking_store = BookingStore(make_engine(url))
    booking_store.seed(*load_reference_data())
    return booking_store


def test_seed_is_idempotent_and_disables_removed_rooms(store):
    rooms, agents = load_reference_data()
    assert store.seed(rooms, agents)["rooms"] == sum(len(s["rooms"]) for s in rooms["sites"])
    brest = next(s for s in rooms["sites"] if s["name"] == "Brest")
    brest["rooms"] = [r for r in brest["rooms"] if r["id"] != "brest-penfeld"]
    agents["agents"] = agents["agents"][1:]
    store.seed(rooms, agents)
    assert [r.id for r in store.site("Brest").rooms] == ["brest-iroise"]
    assert store.agent_for("telegram", "100000001") is None


def test_directory_maps_channel_identities_to_agents(store):
    assert store.agent_for("matrix", "@a.martin:departement.example").id == "a.martin"
    assert store.agent_for("web", "a.martin").id == "a.martin"
    assert store.agent_for("telegram", "100000001").id == "a.martin"
    assert store.agent_for("web", "100000001") is None
    assert store.agent_for("telegram", "999") is None


def test_sites_are_found_by_name_or_alias(store):
    assert store.site("Carhaix-Plouguer").name == "Carhaix"
    assert store.site("carhaix plouguer").name == "Carhaix"
    assert store.site("chateaulin").name == "Châteaulin"
    assert store.site("Hôtel du Département").name == "Quimper"
    assert store.site("Landerneau") is None


def test_smallest_fitting_free_room_is_proposed(store):
    brest = store.site("Brest")
    assert store.free_room(brest, THURSDAY_14H, THURSDAY_14H + HOUR, 6).room_id == "brest-penfeld"
    assert store.free_room(brest, THURSDAY_14H, THURSDAY_14H + HOUR, 8).room_id == "brest-iroise"
    assert store.free_room(brest, THURSDAY_14H, THURSDAY_14H + HOUR, 11) is None


def test_booking_twice_gives_alternatives_not_a_second_booking(store):
    first = store.book(
        "a.martin", "brest-penfeld", THURSDAY_14H, THURSDAY_14H + HOUR, 6, VISIO, NOW
    )
    assert first.booking is not None
    assert first.booking.start_utc == THURSDAY_14H and first.booking.site == "Brest"
    overlap = THURSDAY_14H + timedelta(minutes=30)
    second = store.book("y.le-gall", "brest-penfeld", overlap, overlap + HOUR, 6, VISIO, NOW)
    assert second.booking is None
    assert 1 <= len(second.alternatives) <= 3
    assert second.alternatives[0].room_id == "brest-iroise"  # another room, same time
    assert second.alternatives[0].start_utc == overlap
    assert any(a.room_id == "brest-penfeld" for a in second.alternatives)  # same room, later
    for option in second.alternatives:
        assert is_open("Mo-Fr 08:00-18:30; PH off", option.start_utc, option.end_utc)
    # Back to back is fine: slots are quarters of an hour.
    after = store.book(
        "y.le-gall", "brest-penfeld", THURSDAY_14H + HOUR, THURSDAY_14H + 2 * HOUR, 6, VISIO, NOW
    )
    assert after.booking is not None


def test_alternatives_skip_taken_and_closed_times(store):
    brest = store.site("Brest")
    late = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)  # 17:30 Paris, closes at 18:30
    store.book("a.martin", "brest-iroise", late, late + HOUR, 9, VISIO, NOW)
    options = store.alternatives(brest, late, late + HOUR, 9, NOW)
    assert options and all(o.room_id == "brest-iroise" for o in options)
    assert all(o.start_utc != late for o in options)
    assert all(is_open("Mo-Fr 08:00-18:30; PH off", o.start_utc, o.end_utc) for o in options)


def test_only_the_owner_sees_cancels_or_moves_a_booking(store):
    booking = store.book(
        "a.martin", "morlaix-dossen", THURSDAY_14H, THURSDAY_14H + HOUR, 4, VISIO, NOW
    ).booking
    assert store.get("y.le-gall", booking.id) is None
    assert store.upcoming("y.le-gall", NOW) == []
    assert not store.cancel("y.le-gall", booking.id, NOW)
    assert (
        store.move(
            "y.le-gall",
            booking.id,
            "morlaix-dossen",
            THURSDAY_14H + HOUR,
            THURSDAY_14H + 2 * HOUR,
            NOW,
        ).booking
        is None
    )
    assert store.get("a.martin", booking.id).start_utc == THURSDAY_14H
    assert [b.id for b in store.upcoming("a.martin", NOW)] == [booking.id]


def test_cancel_frees_the_slots(store):
    booking = store.book(
        "a.martin", "morlaix-dossen", THURSDAY_14H, THURSDAY_14H + HOUR, 4, VISIO, NOW
    ).booking
    assert store.cancel("a.martin", booking.id, NOW)
    assert not store.cancel("a.martin", booking.id, NOW)
    assert store.upcoming("a.martin", NOW) == []
    again = store.book(
        "y.le-gall", "morlaix-dossen", THURSDAY_14H, THURSDAY_14H + HOUR, 4, VISIO, NOW
    )
    assert again.booking is not None


def test_move_is_atomic(store):
    mine = store.book(
        "a.martin", "morlaix-dossen", THURSDAY_14H, THURSDAY_14H + HOUR, 4, VISIO, NOW
    ).booking
    later = THURSDAY_14H + 2 * HOUR
    store.book("y.le-gall", "morlaix-dossen", later, later + HOUR, 4, VISIO, NOW)
    refused = store.move("a.martin", mine.id, "morlaix-dossen", later, later + HOUR, NOW)
    assert refused.booking is None and refused.alternatives
    assert store.get("a.martin", mine.id).start_utc == THURSDAY_14H  # unchanged
    assert not store.is_free("morlaix-dossen", THURSDAY_14H, THURSDAY_14H + HOUR)
    # Moving by half an hour overlaps its own old slots: allowed.
    half = THURSDAY_14H + timedelta(minutes=30)
    moved = store.move("a.martin", mine.id, "morlaix-dossen", half, half + HOUR, NOW).booking
    assert moved.start_utc == half and moved.visio_url == VISIO
    assert store.is_free("morlaix-dossen", THURSDAY_14H, half)


def test_booking_refs_are_unguessable_and_serve_the_ics(store):
    booking = store.book(
        "a.martin", "quimper-odet", THURSDAY_14H, THURSDAY_14H + HOUR, 8, VISIO, NOW
    ).booking
    assert len(booking.ref) >= 16
    assert store.by_ref(booking.ref).id == booking.id
    assert store.by_ref("nope") is None


def test_times_are_stored_in_utc_across_the_dst_change(store):
    # Thursday 29 October 2026 14:00 Paris is 13:00 UTC (winter time since the 25th).
    start = datetime(2026, 10, 29, 14, 0, tzinfo=PARIS)
    booking = store.book(
        "a.martin",
        "quimper-odet",
        start,
        start + HOUR,
        8,
        VISIO,
        datetime(2026, 10, 20, 8, 0, tzinfo=UTC),
    ).booking
    assert booking.start_utc == datetime(2026, 10, 29, 13, 0, tzinfo=UTC)
    assert booking.start_utc.tzinfo is UTC
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("select start_utc from bookings").scalar()
    assert str(stored).startswith("2026-10-29 13:00")


def test_slot_rows_cover_every_touched_quarter():
    start = datetime(2026, 11, 26, 13, 10, tzinfo=UTC)
    assert slot_starts(start, start + timedelta(minutes=30)) == [
        datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 13, 15, tzinfo=UTC),
        datetime(2026, 11, 26, 13, 30, tzinfo=UTC),
    ]
    assert parse_token("brest-iroise|2026-11-26T13:00Z") == ("brest-iroise", THURSDAY_14H)
    assert parse_token("garbage") is None


def test_rules_check_past_hours_and_capacity():
    hours = "Mo-Fr 08:00-18:30; PH off"
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    today, thursday = now.date(), THURSDAY_14H.date()
    assert check_when(today.replace(day=23), None, None, now, hours, "Brest").slot == "booking_date"
    assert (
        check_when(today, datetime(2026, 11, 24, 9, 30).time(), 60, now, hours, "Brest").slot
        == "booking_time"
    )
    closed = check_when(thursday, datetime(2026, 11, 26, 18, 0).time(), 60, now, hours, "Brest")
    assert closed.slot == "booking_time"
    assert "du lundi au vendredi de 8 h à 18 h 30" in closed.message
    saturday = check_when(
        thursday.replace(day=28), datetime(2026, 11, 28, 10, 0).time(), 60, now, hours, "Brest"
    )
    assert saturday is not None
    christmas = check_when(
        thursday.replace(month=12, day=25),
        datetime(2026, 12, 25, 10, 0).time(),
        60,
        now,
        hours,
        "Brest",
    )
    assert christmas is not None
    assert (
        check_when(thursday, datetime(2026, 11, 26, 14, 0).time(), 60, now, hours, "Brest") is None
    )
    assert check_when(None, None, 5, now, hours, "Brest").slot == "booking_duration"
    assert check_attendees(11, 10, "Brest").slot == "booking_attendees"
    assert "10 personnes" in check_attendees(11, 10, "Brest").message
    assert check_attendees(10, 10, "Brest") is None
    assert describe_hours("Mo-Fr 08:30-12:00,13:30-17:30; PH off") == (
        "du lundi au vendredi de 8 h 30 à 12 h et de 13 h 30 à 17 h 30"
    )
