"""What a trip to a meeting costs, to offer a visio room instead when it serves.

An agent who books a room (or a pool vehicle) for a meeting at a site more than
``VISIO_SUGGEST_MIN_KM`` kilometres (road, one way) from their home site is offered a
visio room at their own site for the same slot, with the trip's return distance, time
and CO2. The agent chooses; the choice is recorded (``mobility_choices``) for the
mobility indicators (``common/mobility_indicators.py``).

Road distance: great-circle distance between the two communes (``data/communes.csv``)
times the detour factor of ``data/emission_factors.yml``; time at its average speed;
CO2 from the ADEME factor of the vehicle's energy (same file: value, unit, date, source).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from actions.booking_sites import site_names
from actions.booking_store import Site
from actions.geo import CommuneIndex, haversine_km
from common.config import env_int
from common.content import load_yaml

DEFAULT_MIN_KM = 30


@dataclass(frozen=True)
class Trip:
    """A return trip by car from the agent's home site to a meeting."""

    home: str  # the home site's name
    destination: str  # a site or a commune
    km: float  # road, there and back
    minutes: int  # driving time, there and back
    co2_kg: float
    energy: str
    factor: float  # kgCO2e per km
    factor_unit: str
    factor_source: str
    factor_date: str

    def as_slot(self) -> dict[str, Any]:
        return asdict(self)


def min_km() -> int:
    """One-way road distance above which a visio room is offered instead of the trip."""
    return env_int("VISIO_SUGGEST_MIN_KM", DEFAULT_MIN_KM, minimum=0)


def factors() -> dict[str, Any]:
    return load_yaml("emission_factors.yml") or {}


def _coordinates(name: str, sites: list[Site], index: CommuneIndex) -> tuple[float, float] | None:
    """Where a site (by its commune) or a commune is."""
    candidates = [name]
    for site in sites:
        if name in (site.name, site.label):
            candidates = [*reversed(site_names(site)), name]
            break
    for candidate in candidates:
        place = index.get(candidate)
        if place is not None and place.has_coordinates:
            return place.latitude, place.longitude
    return None


def road_km(origin: str, destination: str, sites: list[Site], index: CommuneIndex) -> float | None:
    """Estimated one-way road distance between two sites or communes; ``None`` if unknown."""
    start, end = _coordinates(origin, sites, index), _coordinates(destination, sites, index)
    if start is None or end is None:
        return None
    return haversine_km(*start, *end) * float(factors().get("detour_factor", 1.3))


def trip(
    home: Site, destination: str, energy: str | None, sites: list[Site], index: CommuneIndex
) -> Trip | None:
    """The return trip from ``home`` to ``destination`` when it is far enough that a visio
    room is worth offering; ``None`` when near, the same site or unknown."""
    if not destination or destination == home.name:
        return None
    one_way = road_km(home.name, destination, sites, index)
    if one_way is None or one_way <= min_km():
        return None
    data = factors()
    energy = energy or data.get("default_energy", "average")
    factor = data["factors"].get(energy) or data["factors"][data.get("default_energy", "average")]
    km = one_way * (2 if data.get("round_trip", True) else 1)
    speed = float(data.get("average_speed_kmh", 70))
    return Trip(
        home=home.name,
        destination=destination,
        km=round(km, 1),
        minutes=round(km / speed * 60),
        co2_kg=round(km * float(factor["value"]), 1),
        energy=energy,
        factor=float(factor["value"]),
        factor_unit=str(factor["unit"]),
        factor_source=str(factor["source"]),
        factor_date=str(factor["date"]),
    )
