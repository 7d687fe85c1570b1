"""The council's social-service desks (CDAS) of ``council.yml``: the nearest one, said in French.

Pure functions apart from :func:`load_desks` (which reads the content file, reloaded
when it changes). A desk serves the communes nearest to it within its département.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actions.geo import Commune, CommuneIndex, haversine_km
from common import hours
from common.council import load_council


def load_desks() -> list[dict[str, Any]]:
    return list(load_council().get("desks") or [])


def nearest_desk(
    commune: Commune, index: CommuneIndex, desks: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The desk of ``commune``, else the closest one of its département, else any closest."""
    located = []
    for desk in desks:
        place = index.get(desk["commune"])
        if place is None:
            continue
        if place.code_insee == commune.code_insee:
            return desk
        if place.has_coordinates and commune.has_coordinates:
            km = haversine_km(commune.latitude, commune.longitude, place.latitude, place.longitude)  # type: ignore[arg-type]
        else:
            km = float("inf")
        same = (desk.get("departement") or place.departement) == commune.departement
        located.append((not same, km, desk["name"], desk))
    if not located:
        return None
    return min(located, key=lambda item: item[:3])[3]


def desk_text(desk: dict[str, Any], now: datetime, with_appointment: bool = True) -> str:
    """Name, address, phone, hours (and open now?), how to get an appointment."""
    lines = [
        desk["name"],
        desk["address"],
        f"Téléphone : {desk['phone']}",
        f"Accueil : {desk['hours']}.",
    ]
    if desk.get("horaires"):
        lines.append(hours.describe(desk["horaires"], now))
    if with_appointment and desk.get("appointment"):
        lines.append(desk["appointment"])
    return "\n".join(lines)
