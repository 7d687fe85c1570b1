"""Two-stage fallback: rephrase with the likeliest topics, then offer a mediator."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from common.content import ContentError, load_yaml
from common.nlu import FALLBACK_INTENT

logger = logging.getLogger(__name__)


MAX_TOPICS = 3


def consecutive_fallbacks(events: list[dict[str, Any]]) -> int:
    """How many of the latest user messages in a row the NLU did not understand."""
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") != FALLBACK_INTENT:
            break
        count += 1
    return count


def likely_topics(
    intent_ranking: list[dict[str, Any]], labels: dict[str, str], limit: int = MAX_TOPICS
) -> list[tuple[str, str]]:
    """The ``(intent, label)`` pairs worth proposing, likeliest first.

    Only intents with a topic label are proposed: "greet" or "affirm" make poor
    suggestions.
    """
    topics = []
    for candidate in intent_ranking:
        name = candidate.get("name")
        if name in labels and name not in {t for t, _ in topics}:
            topics.append((name, labels[name]))
        if len(topics) == limit:
            break
    return topics


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from actions.reroute import out_of_scope_answer, reroute

        events = await reroute(dispatcher, tracker, domain)
        if events is not None:
            return events
        answer = out_of_scope_answer(tracker.latest_message.get("text") or "")
        if answer is not None:
            # Weather, sport, recipes, insults: say so, never a menu of unrelated topics;
            # a passport, a Vitale card: who handles it, and France Services.
            dispatcher.utter_message(**answer)
            return []
        if consecutive_fallbacks(tracker.events) >= 2:
            dispatcher.utter_message(response="utter_fallback_offer_human")
            return []
        try:
            labels = load_yaml("topics.yml") or {}
        except ContentError:
            logger.exception("topic labels unavailable; asking to rephrase without buttons")
            labels = {}
        ranking = tracker.latest_message.get("intent_ranking") or []
        topics = likely_topics(ranking, labels)
        if not topics:
            dispatcher.utter_message(response="utter_fallback_rephrase")
            return []
        buttons = [{"title": label, "payload": f"/{intent}"} for intent, label in topics]
        dispatcher.utter_message(response="utter_fallback_rephrase_topics", buttons=buttons)
        return []
