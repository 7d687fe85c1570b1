"""Choosing the places nearest to a commune and saying them in French.

A need found in the message (« où imprimer », « accepte le Pass numérique »,
« apprendre la tablette »…) keeps only the places offering it; the needs and their
keywords are in ``DATA_DIR/places/needs.yml``. When no such place is within
:data:`NEAR_KM`, the search is widened and the answer says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions import place_store
from actions.geo import Commune, CommuneIndex, french_distance, haversine_km
from actions.place_store import Place
from common import hours
from common.content import load_yaml
from common.text import key, tokens

NEAREST = 3
NEAR_KM = 25.0
# A place known only by its commune is ranked as if this far from the commune's centre.
APPROXIMATE_PENALTY_KM = 3.0
NEEDS_FILE = "places/needs.yml"
# Free-text hours and itinerant schedules are cut at this length on a card.
TEXT_LIMIT = 400
# Words after which a misspelt commune name is looked for ("à Brset", "près de Kemper").
_PLACE_WORDS = frozenset({"a", "au", "sur", "vers", "pres", "de", "du", "habite", "commune"})
# Words that are never part of a commune name typed by a user.
_FILLER = frozenset(
    "je j suis habite a au de du pres sur vers la le les l dans ma mon commune ville "
    "c est svp merci bonjour oui non et ou pour un une".split()
)


@dataclass(frozen=True)
class Need:
    """A service asked for, and the values of the schema that offer it."""

    name: str
    phrase: str  # « qui acceptent le Pass numérique »
    keywords: tuple[str, ...]
    services: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    frais: frozenset[str] = frozenset()

    def offered_by(self, place: Place) -> bool:
        return bool(
            self.services.intersection(place.services)
            or self.labels.intersection(place.labels)
            or self.frais.intersection(place.frais_a_charge)
        )


def needs(raw: dict[str, Any] | None = None) -> list[Need]:
    """The needs of ``needs.yml`` (or of ``raw``), in the file's order."""
    content = raw if raw is not None else load_yaml(NEEDS_FILE) or {}
    return [
        Need(
            name=name,
            phrase=str(entry["phrase"]),
            keywords=tuple(key(k) for k in entry.get("keywords") or ()),
            services=frozenset(entry.get("services") or ()),
            labels=frozenset(entry.get("labels") or ()),
            frais=frozenset(entry.get("frais") or ()),
        )
        for name, entry in (content.get("needs") or {}).items()
    ]


def need_in(text: str, known: list[Need]) -> Need | None:
    """The first need whose keyword appears (whole words, accents ignored) in ``text``."""
    words = f" {key(text)} "
    for need in known:
        if any(f" {k} " in words for k in need.keywords if k):
            return need
    return None


@dataclass(frozen=True)
class Found:
    """The places to show and how they were chosen."""

    places: list[tuple[Place, float | None]]
    by_distance: bool
    scope: str = ""  # when not by distance: "code postal" or "département"
    need: Need | None = None
    widened: bool = False  # no place with the need within NEAR_KM: farther ones given
    need_unmet: bool = False  # no place of the data offers the need: any places given


def place_position(place: Place, index: CommuneIndex | None) -> tuple[float, float] | None:
    """The place's coordinates, or its commune's when the data has none."""
    if place.latitude is not None and place.longitude is not None:
        return place.latitude, place.longitude
    commune = index.get(place.code_insee or place.commune) if index else None
    if commune and commune.has_coordinates:
        return commune.latitude, commune.longitude  # type: ignore[return-value]
    return None


def nearest(
    places: list[Place],
    commune: Commune,
    index: CommuneIndex | None = None,
    limit: int = NEAREST,
    service: Need | None = None,
) -> Found:
    """The ``limit`` places nearest to ``commune``, closest first.

    With ``service``, only the places offering it: within :data:`NEAR_KM` when there
    are some (else the nearest farther ones, ``widened``); when no place offers it at
    all, the nearest places whatever they offer (``need_unmet``).
    Without coordinates for the commune, places of its postal code(s) are given,
    else places of its département, in alphabetical order.
    """
    if service is not None:
        offering = [p for p in places if service.offered_by(p)]
        if not offering:
            found = nearest(places, commune, index, limit)
            return Found(found.places, found.by_distance, found.scope, service, need_unmet=True)
        found = nearest(offering, commune, index, limit)
        near = [(p, km) for p, km in found.places if km is not None and km <= NEAR_KM]
        if found.by_distance and not near:
            return Found(found.places, True, need=service, widened=True)
        if found.by_distance:
            return Found(near, True, need=service)
        return Found(found.places, False, found.scope, need=service)
    if commune.has_coordinates:
        ranked = []
        for place in places:
            position = place_position(place, index)
            if position is not None:
                km = haversine_km(commune.latitude, commune.longitude, *position)  # type: ignore[arg-type]
                # Somewhere in its commune: ranked as if at a typical distance within it.
                rank = km + (APPROXIMATE_PENALTY_KM if place.approximate_position else 0)
                ranked.append((rank, place.nom, km, place))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return Found([(p, km) for _, _, km, p in ranked[:limit]], by_distance=True)
    same_postcode = [p for p in places if p.code_postal in commune.codes_postaux]
    if same_postcode:
        chosen, scope = same_postcode, "code postal"
    else:
        chosen = [p for p in places if p.departement == commune.departement]
        scope = "département"
    chosen = sorted(chosen, key=lambda p: p.nom)[:limit]
    return Found([(p, None) for p in chosen], by_distance=False, scope=scope)


def place_by_id(place_id: str, places: list[Place] | None = None) -> Place | None:
    """The place with this ``id`` (as listed in the ``listed_places`` slot), or ``None``.

    The id of a source row merged into a place finds that place too.
    """
    if places is None:
        places = place_store.places_with_seed()
    return next((p for p in places if p.id == place_id), None) or next(
        (p for p in places if place_id in p.member_ids), None
    )


def french_phone(phone: str) -> str:
    """``+33298410066`` -> ``02 98 41 00 66``; other numbers unchanged."""
    if re.fullmatch(r"\+33\d{9}", phone):
        national = "0" + phone[3:]
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return phone


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def describe_place(place: Place, km: float | None, now: datetime) -> str:
    """A short French card: name, distance, address, phone, services, hours, accessibility,
    and where the information comes from and how old it is."""
    if place.approximate_position:
        title = f"{place.nom} (dans la commune de {place.commune})"
    elif km is None:
        title = place.nom
    else:
        title = f"{place.nom} ({french_distance(km)})"
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
    if place.labels:
        lines.append("Labels : " + ", ".join(place.labels) + ".")
    lines += schedule(place, now)
    lines.append(accessibility(place))
    if place.prise_rdv.startswith(("http://", "https://")):
        lines.append(f"Prendre rendez-vous : {place.prise_rdv}")
    lines.append(provenance(place))
    return "\n".join(lines)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "…"


def schedule(place: Place, now: datetime) -> list[str]:
    """Opening hours: open now (OSM hours), or the schedule as the source wrote it."""
    if place.itinerant:
        text = place.horaires_texte or "programme non renseigné"
        return [f"Service itinérant, présent selon ce programme : {_shorten(text)}"]
    if place.horaires and hours.is_valid(place.horaires):
        lines = [hours.describe(place.horaires, now)]
        if place.horaires_texte:
            lines.append(f"À savoir : {_shorten(place.horaires_texte)}")
        return lines
    if place.horaires_texte:
        return [f"Horaires indiqués par le lieu : {_shorten(place.horaires_texte)}"]
    return ["Horaires non renseignés."]


def provenance(place: Place) -> str:
    """« Informations de 2024 (ANCT) : appelez avant de vous déplacer. »"""
    year = place.date_maj[:4]
    publisher = place.publisher.split(" ; ")[0].split(" (")[0] if place.publisher else ""
    said = f"Informations de {year}" if year else "Informations non datées"
    if publisher:
        said += f" ({publisher})"
    return f"{said} : appelez avant de vous déplacer."


def accessibility(place: Place) -> str:
    parts = []
    if place.prise_en_charge_specifique:
        adapted = ", ".join(_lower_first(v) for v in place.prise_en_charge_specifique)
        parts.append(f"Accueil adapté : {adapted}.")
    if place.fiche_acces_libre:
        parts.append(f"Fiche d'accessibilité : {place.fiche_acces_libre}")
    return " ".join(parts) if parts else "Accessibilité : non renseignée."


def of_commune(name: str) -> str:
    """« de Brest », « d'Ouessant », « du Mans », « des Rairies »."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if name[:1] in "AEIOUYÉÈÊÎÔH":
        return "d'" + name
    return "de " + name


def introduction(commune: Commune, found: Found) -> str:
    need = found.need
    of = of_commune(commune.nom)
    if need is not None and found.need_unmet:
        return (
            f"Je ne trouve aucun lieu {need.phrase} dans nos données. "
            f"Voici les lieux d'aide au numérique les plus proches {of} : "
            "appelez-les pour savoir s'ils peuvent vous aider."
        )
    if need is not None and found.widened:
        return (
            f"Je ne trouve aucun lieu {need.phrase} à moins de {NEAR_KM:.0f} km {of}. "
            "En cherchant plus loin, voici les plus proches :"
        )
    if need is not None and found.by_distance:
        count = len(found.places)
        noun = "le lieu le plus proche" if count == 1 else f"les {count} lieux les plus proches"
        return f"Voici {noun} {of} {need.phrase} :"
    if found.by_distance:
        count = len(found.places)
        noun = (
            "le lieu d'aide au numérique le plus proche"
            if count == 1
            else (f"les {count} lieux d'aide au numérique les plus proches")
        )
        return f"Voici {noun} {of} :"
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
