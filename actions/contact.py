"""The council's phone, address, hours and in-person desks."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.datetime_fr import parse_moment
from common.content import ContentError
from common.council import load_council
from common.hours import PARIS
from common.text import key, tokens

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "Je ne trouve pas les coordonnées pour le moment, désolé. "
    "Vous pouvez vous rendre à l'accueil de votre mairie ou dans un espace France Services."
)


def contact_text(council: dict[str, Any], commune: str | None) -> str:
    """The French answer: the desk of ``commune`` if there is one, else the switchboard."""
    board = council["switchboard"]
    lines = [
        f"Vous pouvez appeler le {council['name']} au {board['phone']}, {board['hours']}.",
        f"Par courriel : {board['email']}.",
    ]
    desk = next(
        (d for d in council.get("desks", []) if commune and key(d["commune"]) == key(commune)),
        None,
    )
    if desk:
        lines.append(
            f"Près de chez vous, le {desk['name']} vous accueille {desk['hours']}, "
            f"{desk['address']} (téléphone : {desk['phone']})."
        )
    else:
        main = council["main_desk"]
        lines.append(f"Accueil en personne : {main['name']}, {main['address']}, {main['hours']}.")
        if council.get("desks"):
            lines.append(
                "Il existe aussi des accueils dans plusieurs villes : "
                "dites-moi votre commune pour connaître le plus proche."
            )
    return "\n".join(lines)


class ActionContact(Action):
    def name(self) -> str:
        return "action_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if context.current_places(context.before_latest(tracker.events)) and looks_like_hours(text):
            # « Vous êtes ouverts dimanche ? » right after a list of places: their hours.
            from actions.followups import ActionPlaceHours

            return await ActionPlaceHours().run(dispatcher, tracker, domain)
        commune = next(tracker.get_latest_entity_values("commune"), None) or tracker.get_slot(
            "commune"
        )
        try:
            council = load_council()
            text = contact_text(council, commune)
        except (ContentError, KeyError, TypeError):
            logger.exception("council contact data unusable")
            text = UNAVAILABLE
        dispatcher.utter_message(text=text)
        return [SlotSet(context.LAST_TOPIC, "contact")]


def looks_like_hours(text: str) -> bool:
    """A question about opening hours or days ("ouvert dimanche ?", "horaires ?")."""
    words = {w for w, _, _ in tokens(text)}
    if words & {"ouvert", "ouverts", "ouverte", "ouvre", "ferme", "fermez", "horaire", "horaires"}:
        return True
    return not parse_moment(text, datetime.now(PARIS).date()).is_empty()
