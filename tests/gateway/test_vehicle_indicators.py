"""common/mobility_indicators.py under SQLAlchemy 2 (the gateway's environment, where the
indicators dashboard runs) on a migrated database, rows written with Core."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, create_engine, insert

from common.migrate import upgrade
from common.mobility_indicators import WORKDAY_HOURS, mobility_indicators
from integrations.indicators.sections import Filters, bookings


def migrated(tmp_path: Path) -> tuple[Engine, dict[str, Table]]:
    """A migrated SQLite database and its tables, reflected."""
    url = f"sqlite:///{tmp_path / 'indicators.db'}"
    upgrade(url)
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    return engine, dict(tables.tables)


def site(site_id: int, name: str, label: str = "") -> dict[str, object]:
    """A row of ``booking_sites``, open on weekdays."""
    return {
        "id": site_id,
        "name": name,
        "label": label,
        "aliases": "",
        "address": "",
        "opening_hours": "Mo-Fr 08:00-19:00",
        "active": True,
    }


def test_indicators_under_sqlalchemy_2(tmp_path: Path) -> None:
    engine, t = migrated(tmp_path)
    start = datetime(2027, 1, 6, 9, 0)  # naive UTC, as stored
    with engine.begin() as connection:
        connection.execute(insert(t["booking_sites"]), [site(1, "Quimper"), site(2, "Brest")])
        connection.execute(
            insert(t["booking_agents"]),
            [
                {
                    "id": "a",
                    "name": "A",
                    "email": "",
                    "service": "",
                    "active": True,
                    "home_site": "Brest",
                }
            ],
        )
        connection.execute(
            insert(t["booking_vehicles"]),
            [
                {
                    "id": "v1",
                    "site_id": 2,
                    "name": "Zoé",
                    "plate": "",
                    "seats": 4,
                    "energy": "electric",
                    "key_place": "",
                    "active": True,
                }
            ],
        )
        connection.execute(
            insert(t["vehicle_bookings"]),
            [
                {
                    "id": 1,
                    "ref": "r",
                    "vehicle_id": "v1",
                    "agent_id": "a",
                    "start_utc": start,
                    "end_utc": start,
                    "passengers": 1,
                    "destination": "",
                    "status": "confirmed",
                    "sequence": 0,
                    "created_at": start,
                    "updated_at": start,
                }
            ],
        )
        connection.execute(
            insert(t["vehicle_slots"]),
            [
                {"vehicle_id": "v1", "slot_start": datetime(2027, 1, 6, 9, 15 * i), "booking_id": 1}
                for i in range(4)
            ],
        )
        connection.execute(
            insert(t["mobility_choices"]),
            [
                {
                    "agent_id": "a",
                    "home_site": "Brest",
                    "destination": "Quimper",
                    "choice": choice,
                    "km": 150.0,
                    "minutes": 130,
                    "co2_kg": 32.7,
                    "energy": "average",
                    "booking_ref": "r",
                    "meeting_start": start,
                    "created_at": start,
                }
                for choice in ("visio", "visio", "trip")
            ],
        )
    with engine.connect() as connection:
        rows = mobility_indicators(connection, date(2027, 1, 1), date(2027, 1, 31))
    engine.dispose()
    assert [(r["month"], r["site_code"]) for r in rows] == [
        ("2027-01", "quimper"),
        ("2027-01", "brest"),
    ]
    brest = rows[1]
    assert (brest["trips_avoided"], brest["km_saved"], brest["co2_saved_kg"]) == (2, 300.0, 65.4)
    # January 2027: 21 working days; one vehicle booked one hour.
    assert brest["vehicle_occupancy"] == round(1 / (21 * WORKDAY_HOURS), 4)
    assert brest["room_occupancy"] == 0.0
    assert rows[0]["trips_avoided"] == 0


def test_the_dashboard_and_the_open_data_count_room_occupancy_alike(tmp_path: Path) -> None:
    """The dashboard's room bookings table and the mobility indicators divide the same
    booked hours by the same available hours (working days × WORKDAY_HOURS × rooms)."""
    engine, t = migrated(tmp_path)
    start, end = datetime(2027, 1, 6, 9, 0), datetime(2027, 1, 6, 12, 0)  # 3 h, naive UTC
    with engine.begin() as connection:
        connection.execute(insert(t["booking_sites"]), [site(1, "Quimper", label="Quimper")])
        connection.execute(
            insert(t["booking_rooms"]),
            [
                {
                    "id": room,
                    "site_id": 1,
                    "name": room,
                    "capacity": 6,
                    "equipment": "",
                    "active": True,
                }
                for room in ("odet", "steir")
            ],
        )
        connection.execute(
            insert(t["bookings"]),
            [
                {
                    "id": 1,
                    "ref": "r",
                    "room_id": "odet",
                    "agent_id": "a",
                    "start_utc": start,
                    "end_utc": end,
                    "attendees": 2,
                    "visio_url": "",
                    "status": "confirmed",
                    "created_at": start,
                    "updated_at": start,
                    "sequence": 0,
                }
            ],
        )
        connection.execute(
            insert(t["booking_slots"]),
            [
                {
                    "room_id": "odet",
                    "slot_start": datetime(2027, 1, 6, 9 + i // 4, 15 * (i % 4)),
                    "booking_id": 1,
                }
                for i in range(12)
            ],
        )
    with engine.connect() as connection:
        [quimper] = mobility_indicators(connection, date(2027, 1, 1), date(2027, 1, 31))
        [table] = bookings(connection, Filters(date(2027, 1, 1), date(2027, 1, 31)))
    engine.dispose()
    # January 2027: 21 working days, 2 rooms, 3 hours booked.
    assert quimper["room_occupancy"] == round(3 / (2 * 21 * WORKDAY_HOURS), 4)
    assert table.rows == [["Quimper", 1, 3.0, round(100 * 3 / (2 * 21 * WORKDAY_HOURS), 1)]]
    assert f"{WORKDAY_HOURS} h" in table.note
