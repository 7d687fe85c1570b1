"""Mobility indicators per month and site, from real bookings and recorded choices, on
SQLite and PostgreSQL (SQLAlchemy 1.4 here; tests/gateway/test_vehicle_indicators.py runs
the same function under SQLAlchemy 2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from actions.booking_admin import load_reference_data
from actions.booking_store import TABLES, BookingStore
from actions.datetime_fr import UTC
from common.db import make_engine
from common.migrate import upgrade
from common.mobility_indicators import WORKDAY_HOURS, mobility_indicators

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
TRIP = {
    "home": "Quimper",
    "destination": "Carhaix",
    "km": 129.2,
    "minutes": 111,
    "co2_kg": 28.2,
    "energy": "average",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> BookingStore:
    url = (
        f"sqlite:///{tmp_path / 'indicators.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    upgrade(url)
    booking_store = BookingStore(make_engine(url))
    with booking_store.engine.begin() as connection:  # a test database: start clean
        for table in reversed(TABLES):
            if table.name not in {"booking_agents", "booking_agent_identities"}:
                connection.execute(table.delete())
    booking_store.seed(*load_reference_data())
    yield booking_store
    booking_store.engine.dispose()


def test_trips_avoided_km_co2_and_occupancy_per_site_and_month(store):
    wednesday = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 8:00 in Paris
    december = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    visio = store.book(
        "a.martin", "quimper-jet", wednesday, wednesday + timedelta(hours=9), 1, "https://v", NOW
    ).booking
    store.record_choice("a.martin", visio, TRIP, "visio", NOW)
    car = store.book(
        "y.le-gall",
        "vl-brest-zoe-1",
        december,
        december + timedelta(hours=4),
        1,
        "",
        NOW,
        destination="Morlaix",
    ).booking
    store.record_choice("y.le-gall", car, {**TRIP, "home": "Brest"}, "trip", NOW)
    cancelled = store.book(
        "y.le-gall", "vl-brest-208-2", december, december + timedelta(hours=2), 1, "", NOW
    ).booking
    assert store.cancel("y.le-gall", cancelled.key, NOW)

    with store.engine.connect() as connection:
        rows = mobility_indicators(connection, date(2026, 11, 1), date(2026, 12, 31))
    by = {(r["month"], r["site_code"]): r for r in rows}
    assert len(rows) == 2 * 6  # every active site, every month
    quimper = by[("2026-11", "quimper")]
    assert quimper["site_name"] == "Quimper"
    assert (quimper["trips_avoided"], quimper["km_saved"], quimper["co2_saved_kg"]) == (
        1,
        129.2,
        28.2,
    )
    # 9 hours booked out of 3 rooms × 21 working days × WORKDAY_HOURS.
    assert quimper["room_occupancy"] == round(9 / (3 * 21 * WORKDAY_HOURS), 4)
    assert quimper["vehicle_occupancy"] == 0.0
    brest = by[("2026-12", "brest")]
    # A trip kept is no trip avoided; a cancelled booking occupies nothing.
    assert (brest["trips_avoided"], brest["km_saved"]) == (0, 0.0)
    assert brest["vehicle_occupancy"] == round(4 / (2 * 23 * WORKDAY_HOURS), 4)
    assert by[("2026-12", "chateaulin")]["site_name"] == "Châteaulin"
    assert all(0 <= r["vehicle_occupancy"] <= 1 and 0 <= r["room_occupancy"] <= 1 for r in rows)
    with store.engine.connect() as connection:
        assert mobility_indicators(connection, date(2026, 12, 1), date(2026, 11, 1)) == []
