"""Digital-help places near the user's commune (``find_digital_place``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import geo, place_search, place_store
from actions.context import LAST_TOPIC
from actions.postcodes import commune_choice, shared_postcode
from actions.reroute import asks_hours
from common.content import ContentError
from common.hours import PARIS

logger = logging.getLogger(__name__)

ASK_COMMUNE = "ask_commune"
UNAVAILABLE = (
    "Je ne peux pas chercher les lieux d'aide pour le moment, désolé. "
    "Vous pouvez demander à votre mairie, ou parler à un médiateur."
)
HUMAN_BUTTON = {"title": "Parler à un médiateur", "payload": "/request_human"}


def answer_places(
    entity: str | None,
    remembered: str | None,
    text: str,
    is_answer: bool,
    index: geo.CommuneIndex,
    places: list[place_store.Place],
    now: datetime,
    need: place_search.Need | None = None,
) -> tuple[list[dict[str, Any]], list[EventType]]:
    """The messages (``utter_message`` kwargs) and slot events for one request.

    ``entity`` is the commune found in the latest message, ``remembered`` the
    commune slot; a misspelt name in ``text`` gets suggestions before the slot
    is reused. ``need`` (« où imprimer »…) keeps the places offering it.
    """
    commune = index.get(entity) if entity else None
    if commune is None:
        names = place_search.suggestions(entity or text, index, is_answer or bool(entity))
        if names:
            buttons = [{"title": n, "payload": f'/inform{{"commune":"{n}"}}'} for n in names]
            return (
                [
                    {
                        "text": "Je ne connais pas cette commune. Vouliez-vous dire :",
                        "buttons": buttons,
                    }
                ],
                [SlotSet("place_step", ASK_COMMUNE)],
            )
        if is_answer or entity:
            return (
                [{"response": "utter_place_commune_unknown"}],
                [SlotSet("place_step", ASK_COMMUNE)],
            )
        commune = index.get(remembered) if remembered else None
        if commune is None:
            return [{"response": "utter_ask_place_commune"}], [SlotSet("place_step", ASK_COMMUNE)]
    found = place_search.nearest(places, commune, index, service=need)
    events: list[EventType] = [
        SlotSet("commune", commune.nom),
        SlotSet("place_step", None),
        SlotSet("listed_places", [p.id for p, _ in found.places]),
        SlotSet("last_topic", "places"),
    ]
    if not found.places:
        return [{"response": "utter_no_place_found", "commune": commune.nom}], events
    messages: list[dict[str, Any]] = [{"text": place_search.introduction(commune, found)}]
    messages += [{"text": place_search.describe_place(p, km, now)} for p, km in found.places]
    messages.append({"response": "utter_place_more_help"})
    return messages, events


def _load() -> tuple[geo.CommuneIndex, list[place_store.Place], list[place_search.Need]]:
    return geo.communes(), place_store.places_with_seed(), place_search.needs()


def preload() -> None:
    """Read the communes and fill an empty installation's places from the shipped data
    before the first request (about 1.5 s of CPU the first person asking for a place
    would otherwise wait). Never fatal: a failure is logged and the first request
    tries again."""
    try:
        _load()
    except Exception:  # any failure here: the first request loads them again
        logger.exception("places not preloaded; the first request will load them")


def request_text(tracker: Tracker, is_answer: bool) -> str:
    """The text saying what is needed: the latest message, and when it answers our
    commune question, also the message that asked for a place."""
    latest = tracker.latest_message.get("text") or ""
    if not is_answer:
        return latest
    users = [e for e in tracker.events if e.get("event") == "user"]
    earlier = next(
        (
            e.get("text") or ""
            for e in reversed(users[:-1])
            if (e.get("parse_data") or {}).get("intent", {}).get("name") == "find_digital_place"
        ),
        "",
    )
    return f"{latest} {earlier}".strip()


class ActionFindDigitalPlace(Action):
    def name(self) -> str:
        return "action_find_digital_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        postcode = await asyncio.to_thread(shared_postcode, tracker)
        if postcode is not None:  # « un EPN vers 29150 » : which of its communes?
            dispatcher.utter_message(**commune_choice(*postcode))
            return [SlotSet(LAST_TOPIC, "places"), SlotSet("place_step", None)]
        is_answer = tracker.get_slot("place_step") == ASK_COMMUNE
        text = tracker.latest_message.get("text") or ""
        if next(tracker.get_latest_entity_values("commune"), None) and asks_hours(text):
            # « l'espace numérique de Pont-l'Abbé ferme à quelle heure ? »: the hours.
            from actions.followups import ActionPlaceHours

            return await ActionPlaceHours().run(dispatcher, tracker, domain)
        try:
            index, places, known_needs = await asyncio.to_thread(_load)
            need = place_search.need_in(request_text(tracker, is_answer), known_needs)
            messages, events = answer_places(
                next(tracker.get_latest_entity_values("commune"), None),
                tracker.get_slot("commune"),
                text,
                is_answer,
                index,
                places,
                datetime.now(PARIS),
                need,
            )
        except (OSError, SQLAlchemyError, KeyError, ValueError, ContentError):
            logger.exception("digital places unavailable")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=[HUMAN_BUTTON])
            return [SlotSet("place_step", None)]
        for message in messages:
            dispatcher.utter_message(**message)
        return events
