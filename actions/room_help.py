"""Each visio room's how-to, from ``DATA_DIR/internal/rooms_help.yml`` (keyed by the room
ids of ``data/rooms.yml``), and the contact of each site that receives fault reports.

    room_howto("quimper-odet") -> "Mode d'emploi de la salle Odet …" | None

Pure reading of data: the booking confirmation (``actions/booking_texts.py``) calls
``room_howto``; the actions that show it on request or file a fault report are in
``actions/internal_rooms.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from actions import context
from common.content import ContentError, load_yaml

logger = logging.getLogger(__name__)

HELP_FILE = "internal/rooms_help.yml"
ROOMS_FILE = "rooms.yml"
# Words of room names that every room shares.
_ROOM_WORDS = frozenset({"salle", "bureau", "visio"})


@dataclass(frozen=True)
class RoomInfo:
    """A room of ``data/rooms.yml`` with its site."""

    code: str
    name: str
    site: str
    site_label: str


def rooms() -> list[RoomInfo]:
    """Every room of ``data/rooms.yml``, in the file's order."""
    content = load_yaml(ROOMS_FILE) or {}
    return [
        RoomInfo(
            code=str(room["id"]),
            name=str(room.get("name") or room["id"]),
            site=str(site["name"]),
            site_label=str(site.get("label") or site["name"]),
        )
        for site in content.get("sites") or []
        for room in site.get("rooms") or []
    ]


def room(code: str) -> RoomInfo | None:
    return next((r for r in rooms() if r.code == code), None)


def _help() -> dict[str, Any]:
    content = load_yaml(HELP_FILE)
    if not isinstance(content, dict) or not isinstance(content.get("rooms"), dict):
        raise ContentError(f"{HELP_FILE}: 'rooms' is missing")
    return content


def site_contact(site: str) -> str | None:
    """Who receives the fault reports of ``site`` (its name in ``data/rooms.yml``)."""
    try:
        sites = _help().get("sites") or {}
    except ContentError:
        logger.exception("room how-tos unavailable")
        return None
    contact = (sites.get(site) or {}).get("contact")
    return str(contact) if contact else None


def room_howto(room_code: str) -> str | None:
    """The how-to of a room (equipment, starting the call, sharing the screen, who to
    call), or ``None`` for a room without one (or unreadable data: logged)."""
    try:
        content = _help()
        entry = content["rooms"].get(room_code)
        info = room(room_code)
    except (ContentError, KeyError, TypeError, AttributeError):
        logger.exception("room how-tos unavailable")
        return None
    if not isinstance(entry, dict) or info is None:
        return None
    lines = [f"Mode d'emploi de « {info.name} » ({info.site_label}) :"]
    if entry.get("equipment"):
        lines.append(f"Matériel : {entry['equipment']}")
    if entry.get("start"):
        lines.append(f"Lancer la visio : {entry['start']}")
    share = entry.get("share") or content.get("share")
    if share:
        lines.append(f"Partager l'écran : {share}")
    contact = (content.get("sites") or {}).get(info.site, {}).get("contact")
    if contact:
        lines.append(f"Un souci ? {contact}, ou dites-moi « la salle ne marche pas ».")
    return "\n".join(lines)


def short_name(name: str) -> str:
    """ "Salle Odet" -> "Odet", "Bureau visio Jet" -> "Jet": the words that tell rooms apart."""
    return " ".join(w for w in name.split() if context.folded(w) not in _ROOM_WORDS)


def rooms_of_site(site: str | None) -> list[RoomInfo]:
    """The rooms of a site (any site when ``site`` is empty)."""
    known = rooms()
    if not site:
        return known
    return [r for r in known if context.folded(r.site) == context.folded(site)]


def room_in_words(text: str, site: str | None = None) -> RoomInfo | None:
    """The one room the message names ("la salle Odet", "salle iroise hs"), typos
    tolerated; else the site's only room when the message names a site of one room."""
    try:
        known = rooms()
    except (ContentError, KeyError, TypeError, AttributeError):
        logger.exception("rooms unavailable")
        return None
    named = context.pick_by_name(known, text, [(short_name(r.name), r.code) for r in known])
    if named is not None or not site:
        return named
    of_site = rooms_of_site(site)
    return of_site[0] if len(of_site) == 1 else None
