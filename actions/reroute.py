"""When the intent says little, the message's own words choose the answer.

Used where the assistant would otherwise give a generic answer: a misunderstanding
(``nlu_fallback``), « hors sujet », the list of guides, a bare answer. The words of each
guide and procedure (their ``keywords`` in the data files) and of the topics without an
entry (``data/followups.yml``) decide; nothing is guessed when they do not.

    "mon mari est en fauteuil, une carte pour se garer" (misunderstood) -> PCH / MDPH
    "non en fait je veux apprendre à faire un mot de passe" (misunderstood) -> the guide
    "vous êtes ouverts dimanche ?" right after a list of places -> their hours
    "ah non c'est pour ma mère à Morlaix" right after a list of places -> places at Morlaix
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.datetime_fr import parse_moment
from common.content import ContentError, load_yaml
from common.hours import PARIS
from common.nlu import FALLBACK_INTENT
from common.ordinal import first_ordinal

logger = logging.getLogger(__name__)

WORDS_FILE = "followups.yml"
HOURS_WORDS = frozenset(
    "ouvert ouverts ouverte ouvre ouvrez ferme fermez fermé horaire horaires".split()
)


def out_of_scope_words() -> list[str]:
    try:
        return list(((load_yaml(WORDS_FILE) or {}).get("out_of_scope") or {}).get("keywords") or [])
    except ContentError:
        logger.exception("out-of-scope words unavailable")
        return []


def elsewhere_message(text: str) -> dict[str, Any] | None:
    """For another administration's procedure (a passport, a Vitale card: an entry of
    ``data/followups.yml``'s ``elsewhere`` whose words the message names), who handles
    it, how to do it without internet, and that a France Services desk helps; None for
    any other message."""
    from actions.knowledge import OFFER_BUTTONS

    try:
        entries = (load_yaml(WORDS_FILE) or {}).get("elsewhere") or {}
        name = context.best_keyword_match(text, entries) if text else None
    except ContentError:
        logger.exception("other administrations' words unavailable")
        return None
    if name is None or not entries[name].get("text"):
        return None
    return {"text": str(entries[name]["text"]), "buttons": OFFER_BUTTONS}


def say_out_of_scope(dispatcher: CollectingDispatcher, text: str) -> None:
    """« Hors sujet », or for another administration's procedure :func:`elsewhere_message`."""
    dispatcher.utter_message(**(elsewhere_message(text) or {"response": "utter_out_of_scope"}))


def out_of_scope_answer(text: str) -> dict[str, Any] | None:
    """The answer to a subject that is not the council's (:func:`elsewhere_message`, or
    « hors sujet » for the out-of-scope words); None for any other message."""
    if message := elsewhere_message(text):
        return message
    return {"response": "utter_out_of_scope"} if is_out_of_scope(text) else None


def is_out_of_scope(text: str) -> bool:
    """Whether the message names a subject the assistant does not cover."""
    return bool(text) and context.matches_keywords(text, out_of_scope_words()) > 0


def named_guide(text: str) -> str | None:
    from actions.guides import all_guides

    try:
        return context.best_keyword_match(text, all_guides())
    except ContentError:
        return None


def named_procedure(text: str) -> str | None:
    from actions.knowledge import PROCEDURES_FILE, entries

    try:
        return context.best_keyword_match(text, entries(PROCEDURES_FILE))
    except ContentError:
        return None


def asks_hours(text: str) -> bool:
    """A question about opening hours or days ("ouvert dimanche ?", "horaires ?")."""
    words = {w for w in context.folded(text).replace("'", " ").split()}
    today = datetime.now(PARIS).date()
    return bool(words & HOURS_WORDS) or not parse_moment(text, today).is_empty()


async def reroute(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    guides: bool = True,
    procedures: bool = True,
) -> list[EventType] | None:
    """Answer from the message's words if they are clear; ``None`` when they are not."""
    text = tracker.latest_message.get("text") or ""
    if not text or text.startswith("/"):
        return None
    if context.current_places(context.before_latest(tracker.events)):
        from actions.followups import ActionPlaceHours, ActionSelectItem

        if first_ordinal(text) or next(tracker.get_latest_entity_values("ordinal"), None):
            return await ActionSelectItem().run(dispatcher, tracker, domain)
        if asks_hours(text):
            return await ActionPlaceHours().run(dispatcher, tracker, domain)
        from actions.followups import asks_the_way

        if asks_the_way(text):  # « comment y aller ? » read as a guide question
            return await ActionSelectItem().run(dispatcher, tracker, domain)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if (
            intent == FALLBACK_INTENT
            and next(tracker.get_latest_entity_values("commune"), None)
            and not next(tracker.get_latest_entity_values("procedure"), None)
            and not is_out_of_scope(text)
        ):  # « ah non pardon c'est pour ma mère à Morlaix » : the same search, elsewhere
            from actions.places import ActionFindDigitalPlace

            return await ActionFindDigitalPlace().run(dispatcher, tracker, domain)
    if procedures and (
        next(tracker.get_latest_entity_values("procedure"), None) or named_procedure(text)
    ):
        from actions.knowledge import ActionProcedure

        return await ActionProcedure().run(dispatcher, tracker, domain)
    if guides:
        guide = named_guide(text)
        if guide:
            from actions.guides import ActionBasicSkills

            return await ActionBasicSkills().run(dispatcher, tracker, domain)
    if next(tracker.get_latest_entity_values("commune"), None):
        from actions.followups import topic_in_words

        if topic_in_words(text) == "places":  # « de l'aide pour l'ordinateur à Quimperlé »
            from actions.places import ActionFindDigitalPlace

            return await ActionFindDigitalPlace().run(dispatcher, tracker, domain)
    return None


class ActionOutOfScope(Action):
    """« Hors sujet » — unless the words name a procedure, a guide, or the places' hours."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await reroute(dispatcher, tracker, domain)
        if events is not None:
            return events
        say_out_of_scope(dispatcher, tracker.latest_message.get("text") or "")
        return [SlotSet(context.LAST_TOPIC, None)]
