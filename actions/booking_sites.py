"""Which site an agent meant: a misspelt name ("brset"), or a commune without rooms.

Pure functions over the sites of the store: closest names by edit similarity (difflib)
and nearest sites by distance from the commune named (``actions.geo``).
"""

from __future__ import annotations

import difflib
import re

from actions.booking_store import Site
from actions.geo import CommuneIndex, haversine_km
from common.text import key

NAME_CUTOFF = 0.75
MIN_WORD = 4
NEAREST = 3


def site_names(site: Site) -> list[str]:
    return [site.name, site.label, *re.findall(r"\d{5}\s+(.+)$", site.address)]


def closest_sites(text: str, sites: list[Site]) -> list[Site]:
    """The sites whose name is close to one word of ``text`` ("brset" → Brest), best first."""
    by_key = {key(site.name): site for site in sites}
    for site in sites:
        for name in site_names(site)[2:]:
            by_key.setdefault(key(name), site)
    found: list[Site] = []
    for word in key(text).split():
        if len(word) < MIN_WORD:
            continue
        for match in difflib.get_close_matches(word, list(by_key), n=2, cutoff=NAME_CUTOFF):
            if by_key[match] not in found:
                found.append(by_key[match])
    return found


def nearest_sites(
    commune: str, sites: list[Site], index: CommuneIndex, limit: int = NEAREST
) -> list[tuple[Site, float]]:
    """The sites nearest to ``commune`` with their distance in km; empty if it is unknown."""
    origin = index.get(commune)
    if origin is None or not origin.has_coordinates:
        return []
    distances = []
    for site in sites:
        place = next(
            (c for c in map(index.get, reversed(site_names(site))) if c and c.has_coordinates),
            None,
        )
        if place is not None:
            km = haversine_km(origin.latitude, origin.longitude, place.latitude, place.longitude)
            distances.append((site, km))
    return sorted(distances, key=lambda pair: pair[1])[:limit]
