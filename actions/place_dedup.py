"""One place, one answer: source rows describing the same place are merged (pure functions).

Several open datasets list the same place (a France services site that also hosts a
conseiller numérique, a data·inclusion row copied from the conseillers numériques
file…). Two source rows are the same place when, in the same commune:

1. **same address**: the address is the same once abbreviations, accents and case
   are normalised (« PL DE RUTHIN » = « Place de Ruthin »);
2. **same SIRET** (``pivot``, not the unknown ``00000000000000``) **and** the same
   street number and name (« 6 rue Pierre Mendès France » = « 6 AV PIERRE MENDES
   FRANCE ») or nearly the same name. A SIRET alone is not enough: a commune or an
   association has one SIRET for several sites (the maison de l'emploi and the
   mairie annexe of Rosporden are 90 m apart and distinct);
3. **same name within 50 m**: the names have the same words (or nearly) and the
   file coordinates are less than 50 m apart.

Two rows of the same file are merged only when one name contains the other (a
file lists distinct entries: the fixed and the itinerant France services of Brest share
an address), and an itinerant service is never merged with a fixed place.

Merging keeps, field by field, the value of the most recent row that has one (hours:
the most recent row with OSM hours; position: the most recent row with the file's own
coordinates), and the union of multi-valued fields: labels (France Services,
Conseillers numériques, Aidants Connect…), services, publics, e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actions.geo import haversine_km
from common.text import tokens

UNKNOWN_PIVOT = "00000000000000"
NEAR_KM = 0.05
NAME_OVERLAP = 0.6
MULTI = (
    "typologie", "courriels", "services", "publics_specifiquement_adresses",
    "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux",
    "modalites_acces", "modalites_accompagnement",
)  # fmt: skip
JOINED = ("source", "publisher", "licence")  # provenance of every merged row, "; "-joined
_STREET_TYPES = {
    "pl": "place", "r": "rue", "av": "avenue", "ave": "avenue", "bd": "boulevard",
    "bld": "boulevard", "boul": "boulevard", "all": "allee", "imp": "impasse", "rte": "route",
    "ch": "chemin", "che": "chemin", "sq": "square", "fg": "faubourg", "qu": "quai",
    "crs": "cours", "res": "residence", "esp": "esplanade", "pte": "porte",
}  # fmt: skip
_TYPE_WORDS = frozenset(_STREET_TYPES.values()) | {"lieu", "dit"}
_SMALL_WORDS = frozenset("de du des la le les l d et a au aux en sur".split())
_NAME_NOISE = frozenset("mairie de la le les l d du des et".split())


@dataclass(frozen=True)
class Merge:
    """Rows merged into one place, for the import report and the quality page."""

    place_id: str
    nom: str
    member_ids: tuple[str, ...]
    reasons: tuple[str, ...]  # French, one per merged row

    def __str__(self) -> str:
        return f"{self.nom} ({self.place_id}) ← {', '.join(self.reasons)}"


def address_words(address: str | None) -> list[str]:
    words = [_STREET_TYPES.get(w, w) for w, _, _ in tokens(address or "")]
    return [w for w in words if w not in _SMALL_WORDS]


def address_key(address: str | None) -> str:
    return " ".join(address_words(address))


def street_words(address: str | None) -> list[str]:
    """Number and street name without the street type: ``[6, pierre, mendes, france]``."""
    words = address_words(address)
    if not words or not words[0].isdigit():
        return []
    return [w for w in words if w not in _TYPE_WORDS]


def same_street(a: str | None, b: str | None) -> bool:
    """Same number and street, one possibly followed by more (« … France - 1er étage »)."""
    first, second = street_words(a), street_words(b)
    shorter, longer = sorted((first, second), key=len)
    return len(shorter) >= 2 and longer[: len(shorter)] == shorter


def name_words(name: str | None) -> set[str]:
    return {w for w, _, _ in tokens(name or "") if w not in _NAME_NOISE}


def similar_names(a: str | None, b: str | None) -> bool:
    first, second = name_words(a), name_words(b)
    if not first or not second:
        return False
    return len(first & second) / len(first | second) >= NAME_OVERLAP


def nested_names(a: str | None, b: str | None) -> bool:
    """One name's words are all in the other (« Centre Social X » ⊂ « Centre Social X "Y" »)."""
    first, second = name_words(a), name_words(b)
    return bool(first and second) and (first <= second or second <= first)


def _commune_key(row: dict[str, Any]) -> str:
    return row.get("code_insee") or (row.get("code_postal") or "")


def _same_commune(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("code_insee") and b.get("code_insee"):
        return a["code_insee"] == b["code_insee"]
    return bool(a.get("code_postal")) and a.get("code_postal") == b.get("code_postal")


def _own_position(row: dict[str, Any]) -> tuple[float, float] | None:
    if row.get("coord_source") == "commune" or row.get("latitude") is None:
        return None
    return row["latitude"], row["longitude"]


def same_place(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Why ``a`` and ``b`` are the same place (French), or ``None``."""
    if not _same_commune(a, b) or (a.get("itinerance") == "Itinérant") != (
        b.get("itinerance") == "Itinérant"
    ):
        return None
    # Rows of one file are distinct entries by construction, unless their names say otherwise.
    same_file = a.get("imported_from") is not None and a.get("imported_from") == b.get(
        "imported_from"
    )
    if same_file and not nested_names(a.get("nom"), b.get("nom")):
        return None
    address = address_key(a.get("adresse"))
    if address and address == address_key(b.get("adresse")):
        return "même adresse"
    pivot = a.get("pivot")
    if pivot and pivot != UNKNOWN_PIVOT and pivot == b.get("pivot"):
        if same_street(a.get("adresse"), b.get("adresse")) or similar_names(
            a.get("nom"), b.get("nom")
        ):
            return "même SIRET"
    first, second = _own_position(a), _own_position(b)
    if first and second and haversine_km(*first, *second) <= NEAR_KM:
        if similar_names(a.get("nom"), b.get("nom")):
            return "même nom à moins de 50 m"
    return None


def _richness(row: dict[str, Any]) -> int:
    return sum(1 for v in row.values() if v not in (None, ""))


def _rank(row: dict[str, Any]) -> tuple[str, int, str]:
    return (row.get("date_maj") or "", _richness(row), row["id"])


def clusters(rows: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], dict[str, str]]]:
    """Groups of rows that are one place, with the reason each non-first row joined."""
    parent = list(range(len(rows)))
    reasons: dict[int, str] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_commune: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_commune.setdefault(_commune_key(row), []).append(i)
        by_commune.setdefault(row.get("code_postal") or "", []).append(i)
    for members in by_commune.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                if root(i) == root(j):
                    continue
                why = same_place(rows[i], rows[j])
                if why:
                    parent[root(j)] = root(i)
                    reasons.setdefault(j, why)
                    reasons.setdefault(i, why)
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(root(i), []).append(i)
    result = []
    for members in groups.values():
        ordered = sorted(members, key=lambda i: _rank(rows[i]), reverse=True)
        result.append(
            ([rows[i] for i in ordered], {rows[i]["id"]: reasons.get(i, "") for i in ordered[1:]})
        )
    result.sort(key=lambda group: group[0][0]["id"])
    return result


def merge(members: list[dict[str, Any]], reasons: dict[str, str]) -> dict[str, Any]:
    """One place from rows ordered best first (most recent, then richest)."""
    merged = dict(members[0])
    for name in {name for member in members for name in member}:
        if merged.get(name) in (None, ""):
            merged[name] = next((m[name] for m in members if m.get(name) not in (None, "")), None)
    with_hours = next((m for m in members if m.get("horaires")), None)
    if with_hours is not None:
        merged["horaires"] = with_hours["horaires"]
        merged["horaires_texte"] = with_hours.get("horaires_texte") or merged.get("horaires_texte")
    own = next((m for m in members if _own_position(m)), None)
    if own is not None:
        merged["latitude"], merged["longitude"] = own["latitude"], own["longitude"]
        merged["coord_source"] = own.get("coord_source") or "source"
    for name in MULTI:
        values: list[str] = []
        for member in members:
            for value in (member.get(name) or "").split("|"):
                if value.strip() and value.strip() not in values:
                    values.append(value.strip())
        merged[name] = "|".join(values) or None
    for name in JOINED:
        values = []
        for member in members:
            value = member.get(name)
            if value and value not in values:
                values.append(value)
        merged[name] = " ; ".join(values) or None
    merged["member_ids"] = "|".join(m["id"] for m in members)
    merged["member_count"] = len(members)
    merged["merge_reasons"] = (
        "|".join(f"{member_id} : {why}" for member_id, why in reasons.items()) or None
    )
    return merged


def deduplicate(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Merge]]:
    """Merged places and the merges made."""
    places, merges = [], []
    for members, reasons in clusters(rows):
        place = merge(members, reasons)
        places.append(place)
        if len(members) > 1:
            merges.append(
                Merge(
                    place_id=place["id"],
                    nom=place["nom"],
                    member_ids=tuple(m["id"] for m in members),
                    reasons=tuple(f"{i} ({why})" for i, why in reasons.items()),
                )
            )
    return places, merges
