"""No double booking of a pool vehicle either: 50 concurrent attempts at one vehicle and
slot, exactly one wins; and a shared meeting raced by a single-room booking is booked
whole or not at all. Real SQLite file and real PostgreSQL (the ``store`` fixture of
test_booking_concurrency.py). UNIQUE(vehicle_id, slot_start) decides."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from actions.booking_store import BookingRow, Outcome, VehicleBookingRow, VehicleSlotRow
from tests.rasa.test_booking_concurrency import (  # noqa: F401 (the store fixture)
    ATTEMPTS,
    END,
    NOW,
    START,
    store,
)

VEHICLE = "vl-brest-zoe-1"


def test_fifty_concurrent_attempts_one_vehicle_booking_the_rest_get_alternatives(store):  # noqa: F811
    with store.engine.begin() as connection:  # a test database: start clean
        connection.execute(VehicleSlotRow.__table__.delete())
        connection.execute(VehicleBookingRow.__table__.delete())
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(index: int) -> Outcome:
        barrier.wait(timeout=60)
        agent = "a.martin" if index % 2 else "y.le-gall"
        return store.book(agent, VEHICLE, START, END, 1, "", NOW, destination="Carhaix")

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        outcomes = list(pool.map(attempt, range(ATTEMPTS)))

    winners = [o for o in outcomes if o.booking is not None]
    losers = [o for o in outcomes if o.booking is None]
    assert len(winners) == 1 and winners[0].booking.kind == "vehicle"
    assert winners[0].booking.key.startswith("v")
    assert len(losers) == ATTEMPTS - 1
    assert all(1 <= len(o.alternatives) <= 3 for o in losers)
    assert all(a.kind == "vehicle" for o in losers for a in o.alternatives)
    assert all((a.room_id, a.start_utc) != (VEHICLE, START) for o in losers for a in o.alternatives)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(VehicleBookingRow)) == 1
        slots = (
            session.execute(
                select(VehicleSlotRow.slot_start).where(VehicleSlotRow.resource_id == VEHICLE)
            )
            .scalars()
            .all()
        )
    assert sorted(slots) == [START + timedelta(minutes=15 * i) for i in range(4)]


def test_shared_meetings_racing_a_single_room_are_all_or_nothing(store):  # noqa: F811
    """Half the attempts book Morlaix's room alone, half a meeting shared by Brest, Quimper
    and Morlaix: exactly one wins Morlaix, and no shared meeting is ever half booked."""
    barrier = threading.Barrier(ATTEMPTS)
    rooms = ["brest-iroise", "quimper-odet", "morlaix-dossen"]

    def attempt(index: int) -> int:
        barrier.wait(timeout=60)
        if index % 2:
            outcome = store.book("y.le-gall", "morlaix-dossen", START, END, 2, "https://v", NOW)
            return 1 if outcome.booking else 0
        bookings, taken = store.book_group("a.martin", rooms, START, END, "https://s", NOW)
        assert bool(bookings) != bool(taken)
        return 3 if bookings else 0

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        booked = [n for n in pool.map(attempt, range(ATTEMPTS)) if n]
    assert len(booked) == 1
    with store.sessions() as session:
        rows = session.execute(select(BookingRow.room_id)).scalars().all()
    assert len(rows) == booked[0]
    assert rows.count("morlaix-dossen") == 1
