"""Choosing the places nearest to a commune and saying them in French (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from actions import hours
from actions.geo import Commune, CommuneIndex, french_distance, haversine_km
from actions.place_store import Place
from common.text import tokens

NEAREST = 3
# Words after which a misspelt commune name is looked for ("à Brset", "près de Kemper").
_PLACE_WORDS = frozenset({"a", "au", "sur", "vers", "pres", "de", "du", "habite", "commune"})
# Words that are never part of a commune name typed by a user.
_FILLER = frozenset(
    "je j suis habite a au de du pres sur vers la le les l dans ma mon commune ville "
    "c est svp merci bonjour oui non et ou pour un une".split()
)


@dataclass(frozen=True)
class Found:
    """The places to show and how they were chosen."""

    places: list[tuple[Place, float | None]]
    by_distance: bool
    scope: str = ""  # when not by distance: "code postal" or "département"


def place_position(place: Place, index: CommuneIndex | None) -> tuple[float, float] | None:
    """The place's coordinates, or its commune's when the data has none."""
    if place.latitude is not None and place.longitude is not None:
        return place.latitude, place.longitude
    commune = index.get(place.code_insee or place.commune) if index else None
    if commune and commune.has_coordinates:
        return commune.latitude, commune.longitude  # type: ignore[return-value]
    return None


def nearest(
    places: list[Place], commune: Commune, index: CommuneIndex | None = None, limit: int = NEAREST
) -> Found:
    """The ``limit`` places nearest to ``commune``, closest first.

    Without coordinates for the commune, places of its postal code(s) are given,
    else places of its département, in alphabetical order.
    """
    if commune.has_coordinates:
        ranked = []
        for place in places:
            position = place_position(place, index)
            if position is not None:
                km = haversine_km(commune.latitude, commune.longitude, *position)  # type: ignore[arg-type]
                ranked.append((km, place.nom, place))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return Found([(p, km) for km, _, p in ranked[:limit]], by_distance=True)
    same_postcode = [p for p in places if p.code_postal in commune.codes_postaux]
    if same_postcode:
        chosen, scope = same_postcode, "code postal"
    else:
        chosen = [p for p in places if p.departement == commune.departement]
        scope = "département"
    chosen = sorted(chosen, key=lambda p: p.nom)[:limit]
    return Found([(p, None) for p in chosen], by_distance=False, scope=scope)


def place_by_id(place_id: str, places: list[Place] | None = None) -> Place | None:
    """The place with this ``id`` (as listed in the ``listed_places`` slot), or ``None``."""
    if places is None:
        from actions.place_store import places_with_seed

        places = places_with_seed()
    return next((p for p in places if p.id == place_id), None)


def french_phone(phone: str) -> str:
    """``+33298410066`` -> ``02 98 41 00 66``; other numbers unchanged."""
    if re.fullmatch(r"\+33\d{9}", phone):
        national = "0" + phone[3:]
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return phone


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def describe_place(place: Place, km: float | None, now: datetime) -> str:
    """A short French card: name, distance, address, phone, services, hours, accessibility."""
    title = place.nom if km is None else f"{place.nom} ({french_distance(km)})"
    address = ", ".join(
        part
        for part in (
            place.adresse,
            place.complement_adresse,
            f"{place.code_postal} {place.commune}",
        )
        if part
    )
    lines = [title, address]
    if place.telephone:
        lines.append(f"Téléphone : {french_phone(place.telephone)}")
    if place.services:
        lines.append("Services : " + ", ".join(_lower_first(s) for s in place.services) + ".")
    lines.append(hours.describe(place.horaires, now))
    lines.append(accessibility(place))
    if place.prise_rdv:
        lines.append(f"Prendre rendez-vous : {place.prise_rdv}")
    return "\n".join(lines)


def accessibility(place: Place) -> str:
    parts = []
    if place.prise_en_charge_specifique:
        adapted = ", ".join(_lower_first(v) for v in place.prise_en_charge_specifique)
        parts.append(f"Accueil adapté : {adapted}.")
    if place.fiche_acces_libre:
        parts.append(f"Fiche d'accessibilité : {place.fiche_acces_libre}")
    return " ".join(parts) if parts else "Accessibilité : non renseignée."


def introduction(commune: Commune, found: Found) -> str:
    if found.by_distance:
        count = len(found.places)
        noun = (
            "le lieu d'aide au numérique le plus proche"
            if count == 1
            else (f"les {count} lieux d'aide au numérique les plus proches")
        )
        return f"Voici {noun} de {commune.nom} :"
    return (
        f"Je ne peux pas calculer les distances depuis {commune.nom}. "
        f"Voici des lieux d'aide au numérique de son {found.scope} :"
    )


def candidate_names(text: str, whole_message_is_answer: bool) -> list[str]:
    """Pieces of ``text`` that may be a misspelt commune name, likeliest first.

    Looks after place words ("à", "près de"…), or at the whole message when it
    answers our question "Quelle est votre commune ?".
    """
    words = [w for w, _, _ in tokens(text)]
    candidates: list[str] = []
    for i, word in enumerate(words):
        if word in _PLACE_WORDS:
            tail: list[str] = []
            for following in words[i + 1 : i + 5]:
                if following in _PLACE_WORDS or (following in _FILLER and tail):
                    break
                if following not in _FILLER or following in {"le", "la"}:
                    tail.append(following)
            rest = " ".join(words[i + 1 : i + 6])  # "saint pol de leon"
            candidates.extend([rest] + [" ".join(tail[:n]) for n in range(len(tail), 0, -1)])
    if whole_message_is_answer:
        meaningful = [w for w in words if w not in _FILLER]
        if 0 < len(meaningful) <= 4:
            candidates.append(" ".join(meaningful))
    seen: set[str] = set()
    return [c for c in candidates if c and not (c in seen or seen.add(c))]


def suggestions(text: str, index: CommuneIndex, is_answer: bool, limit: int = 3) -> list[str]:
    """Official commune names close to what the user typed."""
    found: list[str] = []
    for candidate in candidate_names(text, is_answer):
        exact = index.get(candidate)
        names = [exact.nom] if exact else index.suggest(candidate, limit)
        for name in names:
            if name not in found:
                found.append(name)
        if len(found) >= limit:
            break
    return found[:limit]
