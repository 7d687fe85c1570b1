"""Territories: the commune named in a conversation, its EPCI and its département.

Codes are official: INSEE commune codes, SIREN codes of the EPCI, département codes
(``data/communes.csv``, built by ``tools/build_communes.py`` from the INSEE COG; see
``data/README.md``). A name is matched folded ("pont l abbe" finds Pont-l'Abbé).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from common.config import data_dir
from common.text import key

# The départements of the shipped commune table (INSEE COG names).
DEPARTEMENT_NAMES = {"29": "Finistère", "72": "Sarthe"}


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    code_epci: str
    name_epci: str
    code_departement: str


@dataclass(frozen=True)
class Territories:
    by_code: dict[str, Commune]
    by_key: dict[str, Commune]

    def find(self, name: object) -> Commune | None:
        """The commune of a slot value (a name, or an INSEE code); None when unknown."""
        if not isinstance(name, str) or not name.strip():
            return None
        value = name.strip()
        return self.by_code.get(value) or self.by_key.get(key(value))

    def epcis(self) -> dict[str, str]:
        """EPCI code -> name, sorted by name."""
        found = {c.code_epci: c.name_epci for c in self.by_code.values() if c.code_epci}
        return dict(sorted(found.items(), key=lambda item: key(item[1])))

    def epci_name(self, code: str) -> str:
        return self.epcis().get(code, "")


@lru_cache(maxsize=1)
def territories() -> Territories:
    by_code: dict[str, Commune] = {}
    by_key: dict[str, Commune] = {}
    with (data_dir() / "communes.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            commune = Commune(
                code=row["code_insee"],
                name=row["nom"],
                code_epci=row.get("code_epci", ""),
                name_epci=row.get("nom_epci", ""),
                code_departement=row["departement"],
            )
            by_code[commune.code] = commune
            # Homonyms across départements: the first one read wins.
            by_key.setdefault(key(commune.name), commune)
    return Territories(by_code, by_key)
