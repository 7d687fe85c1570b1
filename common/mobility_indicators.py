"""Mobility indicators per month and site: trips avoided by a visio room, km and CO2
saved, vehicle and room occupancy.

``mobility_indicators(connection, start, end)`` reads the action server's tables by name
with SQLAlchemy Core (works on SQLAlchemy 1.4 and 2, in both environments) and returns
one dict per (month "YYYY-MM", site) for every active site and every month that meets
[start, end]:

- ``trips_avoided``: visio rooms chosen instead of a trip (``mobility_choices`` with
  ``choice = 'visio'``), counted at the agent's home site, in the month of the meeting;
- ``km_saved``, ``co2_saved_kg``: the return trips those choices avoided (road estimate
  and ADEME factor recorded with each choice, ``actions/mobility.py``);
- ``vehicle_occupancy``, ``room_occupancy`` (0..1): booked hours (confirmed bookings'
  quarter-hour slot rows) over available hours = active resources of the site × working
  days (Monday to Friday) of the period in that month × ``WORKDAY_HOURS``. Public
  holidays and each site's own hours are not subtracted: a stated approximation.

Months and days are Europe/Paris; the database stores UTC.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, DateTime, Float, Integer, String, column, select, table

from common.config import TIMEZONE
from common.text import key

# Hours a room or a vehicle is available on a working day (the sites open about 8 h to
# 18 h); the dashboard's room bookings table uses the same figure.
WORKDAY_HOURS = 10
SLOT_HOURS = 0.25
PARIS = ZoneInfo(TIMEZONE)
UTC = ZoneInfo("UTC")

_sites = table(
    "booking_sites", column("id", Integer), column("name", String), column("active", Boolean)
)
_rooms = table(
    "booking_rooms", column("id", String), column("site_id", Integer), column("active", Boolean)
)
_vehicles = table(
    "booking_vehicles",
    column("id", String),
    column("site_id", Integer),
    column("active", Boolean),
)
_room_slots = table("booking_slots", column("room_id", String), column("slot_start", DateTime))
_vehicle_slots = table(
    "vehicle_slots", column("vehicle_id", String), column("slot_start", DateTime)
)
_choices = table(
    "mobility_choices",
    column("home_site", String),
    column("choice", String),
    column("km", Float),
    column("co2_kg", Float),
    column("meeting_start", DateTime),
)


def site_code(name: str) -> str:
    """A stable code for a site name ("Châteaulin" -> "chateaulin")."""
    return key(name).replace(" ", "-")


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in Paris, as naive UTC (how the columns store it)."""
    first = datetime.combine(start, time(), PARIS).astimezone(UTC).replace(tzinfo=None)
    last = (
        datetime.combine(end + timedelta(days=1), time(), PARIS)
        .astimezone(UTC)
        .replace(tzinfo=None)
    )
    return first, last


def _month(instant: datetime) -> str:
    stamp = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return stamp.astimezone(PARIS).strftime("%Y-%m")


def workdays(start: date, end: date) -> int:
    """Monday-to-Friday days in [start, end]: the days a room or a vehicle is available."""
    return sum(1 for n in range((end - start).days + 1) if (start + timedelta(n)).weekday() < 5)


def _workdays_by_month(start: date, end: date) -> dict[str, int]:
    days: dict[str, int] = defaultdict(int)
    day = start
    while day <= end:
        days[day.strftime("%Y-%m")] += 0  # every month of the period appears
        if day.weekday() < 5:
            days[day.strftime("%Y-%m")] += 1
        day += timedelta(days=1)
    return dict(days)


def _booked_hours(
    connection: Any, slots: Any, resources: Any, resource_column: str, bounds: tuple
) -> tuple[dict[tuple[str, int], float], dict[int, int]]:
    """Booked hours per (month, site id), and the active resources per site id."""
    query = (
        select(slots.c.slot_start, resources.c.site_id)
        .select_from(slots.join(resources, slots.c[resource_column] == resources.c.id))
        .where(slots.c.slot_start >= bounds[0], slots.c.slot_start < bounds[1])
    )
    hours: dict[tuple[str, int], float] = defaultdict(float)
    for slot_start, site_id in connection.execute(query):
        hours[(_month(slot_start), site_id)] += SLOT_HOURS
    counts: dict[int, int] = defaultdict(int)
    for (site_id,) in connection.execute(
        select(resources.c.site_id).where(resources.c.active.is_(True))
    ):
        counts[site_id] += 1
    return hours, counts


def _occupancy(booked: float, resources: int, workdays: int) -> float:
    available = resources * workdays * WORKDAY_HOURS
    return round(min(1.0, booked / available), 4) if available else 0.0


def mobility_indicators(connection: Any, start: date, end: date) -> list[dict[str, Any]]:
    """One dict per (month, site) over [start, end]; see the module's docstring."""
    if end < start:
        return []
    bounds = _utc_bounds(start, end)
    sites = [
        (site_id, name)
        for site_id, name in connection.execute(
            select(_sites.c.id, _sites.c.name)
            .where(_sites.c.active.is_(True))
            .order_by(_sites.c.id)
        )
    ]
    saved: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for home, km, co2, meeting in connection.execute(
        select(
            _choices.c.home_site, _choices.c.km, _choices.c.co2_kg, _choices.c.meeting_start
        ).where(
            _choices.c.choice == "visio",
            _choices.c.meeting_start >= bounds[0],
            _choices.c.meeting_start < bounds[1],
        )
    ):
        totals = saved[(_month(meeting), home)]
        totals[0] += 1
        totals[1] += float(km)
        totals[2] += float(co2)
    room_hours, room_counts = _booked_hours(connection, _room_slots, _rooms, "room_id", bounds)
    vehicle_hours, vehicle_counts = _booked_hours(
        connection, _vehicle_slots, _vehicles, "vehicle_id", bounds
    )
    rows = []
    for month, workdays in sorted(_workdays_by_month(start, end).items()):
        for site_id, name in sites:
            trips, km, co2 = saved.get((month, name), (0, 0.0, 0.0))
            rows.append(
                {
                    "month": month,
                    "site_code": site_code(name),
                    "site_name": name,
                    "trips_avoided": int(trips),
                    "km_saved": round(km, 1),
                    "co2_saved_kg": round(co2, 1),
                    "vehicle_occupancy": _occupancy(
                        vehicle_hours.get((month, site_id), 0.0),
                        vehicle_counts.get(site_id, 0),
                        workdays,
                    ),
                    "room_occupancy": _occupancy(
                        room_hours.get((month, site_id), 0.0),
                        room_counts.get(site_id, 0),
                        workdays,
                    ),
                }
            )
    return rows
