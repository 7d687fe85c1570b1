"""Seed or reload the rooms, the pool vehicles and the agent directory from the data files.

    python -m actions.booking_admin seed      # create tables, insert/update, disable removed
    python -m actions.booking_admin show      # list sites, rooms, vehicles

Files: ``DATA_DIR/rooms.yml``, ``DATA_DIR/vehicles.yml`` and ``DATA_DIR/agents.yml``;
database: ``DATABASE_URL``.
The action server seeds an empty database by itself on first use.
"""

from __future__ import annotations

import argparse
import copy
import sys
from typing import Any

from common.config import database_url
from common.content import ContentError, load_yaml


def load_reference_data() -> tuple[dict[str, Any], dict[str, Any]]:
    # Copies: load_yaml caches the parsed files and callers may change what they get.
    rooms = copy.deepcopy(load_yaml("rooms.yml") or {})
    agents = copy.deepcopy(load_yaml("agents.yml") or {})
    for site in rooms.get("sites", []):
        if not site.get("name") or not site.get("opening_hours"):
            raise ContentError(f"rooms.yml: every site needs a name and opening_hours: {site}")
        for room in site.get("rooms", []):
            if not room.get("id") or int(room.get("capacity", 0)) < 1:
                raise ContentError(f"rooms.yml: every room needs an id and a capacity: {room}")
    for agent in agents.get("agents", []):
        if not agent.get("id") or not agent.get("name"):
            raise ContentError(f"agents.yml: every agent needs an id and a name: {agent}")
    return rooms, agents


ENERGIES = frozenset({"electric", "diesel", "petrol", "hybrid"})


def load_vehicles() -> dict[str, Any]:
    """``data/vehicles.yml``, checked: ids distinct from the rooms', a known site and energy."""
    vehicles = copy.deepcopy(load_yaml("vehicles.yml") or {})
    rooms, _ = load_reference_data()
    sites = {s["name"] for s in rooms.get("sites", [])}
    room_ids = {r["id"] for s in rooms.get("sites", []) for r in s.get("rooms", [])}
    for vehicle in vehicles.get("vehicles", []):
        if not vehicle.get("id") or vehicle["id"] in room_ids:
            raise ContentError(f"vehicles.yml: every vehicle needs its own id: {vehicle}")
        if vehicle.get("site") not in sites or int(vehicle.get("seats", 0)) < 1:
            raise ContentError(f"vehicles.yml: a site of rooms.yml and seats needed: {vehicle}")
        if vehicle.get("energy") not in ENERGIES:
            raise ContentError(f"vehicles.yml: energy must be one of {sorted(ENERGIES)}: {vehicle}")
    return vehicles


def main(argv: list[str] | None = None) -> int:
    from actions.booking_store import BookingStore
    from common.db import make_engine
    from common.migrate import upgrade

    parser = argparse.ArgumentParser(prog="python -m actions.booking_admin")
    parser.add_argument("command", choices=["seed", "show"])
    args = parser.parse_args(argv)
    upgrade(database_url())
    store = BookingStore(make_engine(database_url()))
    if args.command == "seed":
        try:
            counts = store.seed(*load_reference_data(), load_vehicles())
        except ContentError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(", ".join(f"{n} {what}" for what, n in counts.items()))
        return 0
    for site in store.sites():
        rooms = "; ".join(f"{r.name} ({r.capacity} pl.)" for r in site.rooms)
        vehicles = "; ".join(f"{v.name} ({v.energy}, {v.capacity} pl.)" for v in site.vehicles)
        print(
            f"{site.name} [{site.opening_hours}]: {rooms}" + (f" | {vehicles}" if vehicles else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
