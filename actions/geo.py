"""Communes (``DATA_DIR/communes.csv``), distances and closest-name suggestions.

The commune table has one row per commune: ``code_insee, nom, codes_postaux``
(``|``-joined), ``departement, latitude, longitude, population, coord_source``.
Coordinates may be empty for some communes: callers then fall back to the
postal code or the département.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from common.config import data_dir
from common.text import key

EARTH_RADIUS_KM = 6371.0088
COMMUNES_FILE = "communes.csv"
_SUGGESTION_CUTOFF = 0.75

_cache: dict[Path, tuple[float, CommuneIndex]] = {}
_lock = Lock()


@dataclass(frozen=True)
class Commune:
    code_insee: str
    nom: str
    codes_postaux: tuple[str, ...]
    departement: str
    latitude: float | None
    longitude: float | None
    population: int = 0

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def french_distance(km: float) -> str:
    """``à 800 m``, ``à 2,4 km``, ``à 15 km``."""
    if km < 1:
        return f"à {max(100, round(km * 1000, -2)):.0f} m"
    if km < 10:
        return f"à {km:.1f} km".replace(".", ",")
    return f"à {km:.0f} km"


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


class CommuneIndex:
    """Communes looked up by folded name ("carhaix plouguer") or INSEE code."""

    def __init__(self, communes: list[Commune]) -> None:
        self.communes = communes
        self._by_key: dict[str, Commune] = {}
        for commune in communes:
            self._by_key.setdefault(key(commune.nom), commune)
        self._by_code = {c.code_insee: c for c in communes}
        self._by_postcode: dict[str, list[Commune]] = {}
        for commune in communes:
            for code in commune.codes_postaux:
                self._by_postcode.setdefault(code, []).append(commune)

    def get(self, name: str) -> Commune | None:
        """The commune named ``name`` (accents, case and hyphens ignored), or an INSEE code."""
        return self._by_code.get(name.strip()) or self._by_key.get(key(name))

    def by_postcode(self, code: str) -> list[Commune]:
        """The communes of a postal code, most populated first."""
        found = self._by_postcode.get(code.strip(), [])
        return sorted(found, key=lambda c: (-c.population, c.nom))

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """The official names closest to ``text`` (a misspelt name), best first."""
        wanted = key(text)
        if not wanted:
            return []
        matches = difflib.get_close_matches(
            wanted, list(self._by_key), n=limit, cutoff=_SUGGESTION_CUTOFF
        )
        return [self._by_key[m].nom for m in matches]


def parse_communes(path: Path) -> list[Commune]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Commune(
                code_insee=row["code_insee"].strip(),
                nom=row["nom"].strip(),
                codes_postaux=tuple(
                    c.strip() for c in (row.get("codes_postaux") or "").split("|") if c.strip()
                ),
                departement=(row.get("departement") or "").strip(),
                latitude=_float(row.get("latitude")),
                longitude=_float(row.get("longitude")),
                population=int(_float(row.get("population")) or 0),
            )
            for row in csv.DictReader(handle)
            if (row.get("nom") or "").strip()
        ]


def communes(path: Path | None = None) -> CommuneIndex:
    """The commune index, re-read when the file changes."""
    path = path or data_dir() / COMMUNES_FILE
    mtime = path.stat().st_mtime
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    index = CommuneIndex(parse_communes(path))
    with _lock:
        _cache[path] = (mtime, index)
    return index
