"""Basic digital skills, one step at a time (``DATA_DIR/guides/*.yml``).

Slots: ``guide`` (the guide's key, set by the buttons' payload
``/ask_basic_skills{"guide":"email"}``) and ``guide_step`` (index of the step
shown). Buttons: « Étape suivante » (``/guide_next``), « C'est fait »
(``/guide_done``), « Je bloque » (``/guide_stuck``).

    ask_basic_skills ─► list of guides ─(button)─► step 1 ─next/done─► … ─► last step ─► bravo
                                                     │
                                                  guide_stuck ─► nearby place / mediator
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import context, geo, place_search, place_store
from common.config import data_dir
from common.content import ContentError, load_yaml
from common.hours import PARIS

logger = logging.getLogger(__name__)

GUIDES_FOLDER = "guides"
STEP_BUTTONS = [
    {"title": "Étape suivante", "payload": "/guide_next"},
    {"title": "C'est fait", "payload": "/guide_done"},
    {"title": "Je bloque", "payload": "/guide_stuck"},
]
HELP_BUTTONS = [
    {"title": "Un lieu d'aide près de chez moi", "payload": "/find_digital_place"},
    {"title": "Parler à un médiateur", "payload": "/request_human"},
]
UNAVAILABLE = (
    "Je ne trouve pas les guides pour le moment, désolé. "
    "Un conseiller numérique peut vous montrer ces gestes : demandez à votre mairie "
    "ou dans un espace France Services."
)


def all_guides() -> dict[str, dict[str, Any]]:
    """Every guide of ``DATA_DIR/guides/*.yml`` (files re-read when they change)."""
    folder = data_dir() / GUIDES_FOLDER
    guides: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yml")):
        content = load_yaml(f"{GUIDES_FOLDER}/{path.name}") or {}
        for name, guide in (content.get("entries") or {}).items():
            if not guide.get("steps"):
                raise ContentError(f"{path.name}: guide {name!r} has no steps")
            guides[str(name)] = guide
    if not guides:
        raise ContentError(f"no guide in {folder}")
    return guides


def guide_list_message(guides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    buttons = [
        {
            "title": g.get("button") or g["title"],
            "payload": f'/ask_basic_skills{{"guide":"{name}"}}',
        }
        for name, g in guides.items()
    ]
    return {"response": "utter_choose_guide", "buttons": buttons}


def step_message(guide: dict[str, Any], index: int, praise: bool = False) -> dict[str, Any]:
    steps = guide["steps"]
    prefix = "Bravo ! " if praise else ""
    text = f"{prefix}Étape {index + 1} sur {len(steps)} : {steps[index]}"
    return {"text": text, "buttons": STEP_BUTTONS}


def start(
    guides: dict[str, dict[str, Any]], name: str | None, text: str = ""
) -> tuple[list[dict], list[EventType]]:
    """Messages and slots for ``ask_basic_skills``: the guide's first step, or the list.

    Without a guide in the payload, the message's words choose it ("comment on met un
    fichier dans un mail" -> attachment) through each guide's ``keywords``.
    """
    if not name and text:
        name = context.best_keyword_match(text, guides)
    guide = guides.get(name or "")
    if guide is None:
        return [guide_list_message(guides)], [SlotSet("guide", None), SlotSet("guide_step", None)]
    messages = [{"text": f"{guide['title']}\n{guide['intro']}"}, step_message(guide, 0)]
    return messages, [
        SlotSet("guide", name),
        SlotSet("guide_step", 0),
        SlotSet(context.LAST_TOPIC, None),
    ]


def advance(
    guides: dict[str, dict[str, Any]], name: str | None, step: Any, done: bool
) -> tuple[list[dict], list[EventType]]:
    """Messages and slots after « Étape suivante » or « C'est fait »."""
    guide = guides.get(name or "")
    if guide is None or step is None:
        return [guide_list_message(guides)], []
    following = int(step) + 1
    if following < len(guide["steps"]):
        return [step_message(guide, following, praise=done)], [SlotSet("guide_step", following)]
    others = {k: g for k, g in guides.items() if k != name}
    finished = {
        "text": f"Bravo, vous avez terminé le guide « {guide['title']} » ! "
        "Voulez-vous apprendre un autre geste ?",
        "buttons": guide_list_message(others)["buttons"],
    }
    return [finished], [SlotSet("guide", None), SlotSet("guide_step", None)]


def stuck_messages(guide: dict[str, Any] | None, nearest_place: str | None) -> list[dict[str, Any]]:
    """« Je bloque »: reassure, then offer a nearby place (shown if known) or a mediator."""
    what = f" sur « {guide['title']} »" if guide else ""
    lines = [
        f"Pas de souci, c'est normal de bloquer{what}. "
        "Une personne peut vous montrer ce geste, gratuitement."
    ]
    if nearest_place:
        lines.append(f"Le lieu d'aide le plus proche de chez vous :\n{nearest_place}")
    else:
        lines.append(
            "Je peux chercher un lieu d'aide près de chez vous, ou un médiateur peut vous aider."
        )
    buttons = list(HELP_BUTTONS)
    if guide:
        buttons.append({"title": "Continuer le guide", "payload": "/guide_next"})
    return [{"text": "\n".join(lines), "buttons": buttons}]


def nearest_place_text(commune_name: str | None) -> str | None:
    if not commune_name:
        return None
    index = geo.communes()
    commune = index.get(commune_name)
    if commune is None:
        return None
    found = place_search.nearest(place_store.places_with_seed(), commune, index, limit=1)
    if not found.places:
        return None
    place, km = found.places[0]
    return place_search.describe_place(place, km, datetime.now(PARIS))


class ActionBasicSkills(Action):
    def name(self) -> str:
        return "action_basic_skills"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wanted = next(tracker.get_latest_entity_values("guide"), None)
        text = tracker.latest_message.get("text") or ""
        try:
            guides = all_guides()
            typed = "" if text.startswith("/") else text
            if not wanted and typed and not context.best_keyword_match(typed, guides):
                from actions.reroute import is_out_of_scope, reroute, say_out_of_scope

                events = await reroute(dispatcher, tracker, domain, guides=False)
                if events is not None:  # « je dois déclarer mes revenus » -> impôts
                    return events
                if is_out_of_scope(typed):  # « comment faire une blanquette de veau »
                    say_out_of_scope(dispatcher, typed)
                    return []
            messages, events = start(guides, wanted, typed)
        except (ContentError, KeyError, TypeError, AttributeError, yaml.YAMLError):
            logger.exception("guides unusable")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=HELP_BUTTONS)
            return []
        for message in messages:
            dispatcher.utter_message(**message)
        return events


class ActionGuideStep(Action):
    def name(self) -> str:
        return "action_guide_step"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        done = (tracker.latest_message.get("intent") or {}).get("name") == "guide_done"
        if tracker.get_slot("guide") is None:
            # "c'est fait", "suivant" outside a guide: maybe the words say what is wanted.
            from actions.reroute import reroute

            events = await reroute(dispatcher, tracker, domain)
            if events is not None:
                return events
        try:
            messages, events = advance(
                all_guides(), tracker.get_slot("guide"), tracker.get_slot("guide_step"), done
            )
        except (ContentError, KeyError, TypeError, ValueError, AttributeError, yaml.YAMLError):
            logger.exception("guide step unusable")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=HELP_BUTTONS)
            return [SlotSet("guide", None), SlotSet("guide_step", None)]
        for message in messages:
            dispatcher.utter_message(**message)
        return events


class ActionGuideStuck(Action):
    def name(self) -> str:
        return "action_guide_stuck"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        guide = None
        try:
            guide = all_guides().get(tracker.get_slot("guide") or "")
        except (ContentError, TypeError, AttributeError, yaml.YAMLError):
            logger.exception("guides unusable")
        try:
            place = await asyncio.to_thread(nearest_place_text, tracker.get_slot("commune"))
        except (OSError, SQLAlchemyError, ValueError, KeyError):
            logger.exception("nearest place unavailable for a stuck user")
            place = None
        for message in stuck_messages(guide, place):
            dispatcher.utter_message(**message)
        return []
