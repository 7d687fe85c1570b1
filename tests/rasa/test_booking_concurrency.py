"""No double booking, ever: 50 concurrent attempts at one room and slot, exactly one wins.

Runs on a real SQLite file (WAL, busy timeout) and on a real PostgreSQL server (the
``postgres_url`` fixture starts one; ``scripts/postgres.sh`` installs it). The database's
UNIQUE(room_id, slot_start) decides, inside each booking's transaction.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from actions.booking_admin import load_reference_data
from actions.booking_store import TABLES, BookingRow, BookingStore, Outcome, SlotRow
from actions.datetime_fr import UTC
from common.db import make_engine
from common.migrate import upgrade

ATTEMPTS = 50
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
START = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)  # Thursday 14:00 in Paris
END = START + timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> BookingStore:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'concurrency.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    booking_store = BookingStore(make_engine(url))
    with booking_store.engine.begin() as connection:  # a test database: start clean
        for table in reversed(TABLES):
            if table.name in {"bookings", "booking_slots"}:
                connection.execute(delete(table))
    booking_store.seed(*load_reference_data())
    yield booking_store
    booking_store.engine.dispose()


def test_fifty_concurrent_attempts_one_booking_the_rest_get_alternatives(store):
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(index: int) -> Outcome:
        barrier.wait(timeout=60)
        agent = "a.martin" if index % 2 else "y.le-gall"
        return store.book(
            agent,
            "brest-penfeld",
            START,
            END,
            6,
            f"https://visio.departement.example/room-{index}",
            NOW,
        )

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        outcomes = list(pool.map(attempt, range(ATTEMPTS)))

    winners = [o for o in outcomes if o.booking is not None]
    losers = [o for o in outcomes if o.booking is None]
    assert len(winners) == 1
    assert len(losers) == ATTEMPTS - 1
    assert all(1 <= len(o.alternatives) <= 3 for o in losers)
    assert all(
        (a.room_id, a.start_utc) != ("brest-penfeld", START) for o in losers for a in o.alternatives
    )
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BookingRow)) == 1
        slots = (
            session.execute(select(SlotRow.slot_start).where(SlotRow.room_id == "brest-penfeld"))
            .scalars()
            .all()
        )
    assert sorted(slots) == [START + timedelta(minutes=15 * i) for i in range(4)]
