"""A postcode shared by several communes ("29600"): ask which one, with a button each."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions import geo

MAX_COMMUNE_BUTTONS = 6


def commune_choice(code: str, communes: list[geo.Commune]) -> dict[str, Any]:
    """« Le code postal 29800 correspond à plusieurs communes : laquelle ? » with buttons."""
    shown = communes[:MAX_COMMUNE_BUTTONS]
    more = len(communes) - len(shown)
    text = f"Le code postal {code} correspond à plusieurs communes. Laquelle est la vôtre ?"
    if more > 0:
        text += f" (Si elle n'est pas dans la liste, écrivez son nom : il y en a {more} autres.)"
    buttons = [{"title": c.nom, "payload": f'/inform{{"commune":"{c.nom}"}}'} for c in shown]
    return {"text": text, "buttons": buttons}


def shared_postcode(tracker: Tracker) -> tuple[str, list[geo.Commune]] | None:
    """A postcode of several communes in the latest message, with those communes."""
    code = next(tracker.get_latest_entity_values("postcode"), None)
    if not code or next(tracker.get_latest_entity_values("commune"), None):
        return None
    communes = geo.communes().by_postcode(str(code))
    return (str(code), communes) if len(communes) > 1 else None
