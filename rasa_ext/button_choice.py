"""A typed answer that designates one of the buttons just shown *is* that button.

People do not always click: they type « envoyer une piece jointe », « handicap pch
mdph » or « non je reformule » — on the web, on Telegram, on Matrix, in any flow.
Rasa hands this component the conversation's tracker (a ``process`` argument named
``tracker``), whose latest bot messages carry their buttons. When the message,
folded (case, accents, punctuation), is a button's title — or, for a list of two
or more buttons, its rank ("le 2e", "2") — the message gets that button's payload's
intent and entities, with confidence 1, exactly as if it had been clicked. The text
stays what the person wrote.

Ranks are not mapped when the latest answer listed places (the ``listed_places``
slot was set with it): "le 2e" then means the second place (``select_item``).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import fold, key
from rasa_ext.override import RuleComponent, override_intent

LISTED_PLACES = "listed_places"
_ORDINALS = {
    "premier": 1, "premiere": 1, "1er": 1, "1ere": 1,
    "deuxieme": 2, "second": 2, "seconde": 2, "2e": 2, "2eme": 2,
    "troisieme": 3, "3e": 3, "3eme": 3, "quatrieme": 4, "4e": 4, "4eme": 4,
    "cinquieme": 5, "5e": 5, "5eme": 5, "sixieme": 6, "6e": 6, "6eme": 6,
}  # fmt: skip
_RANK = re.compile(
    r"(?:(?:je (?:veux|voudrais|prends|choisis)|plutot|alors|ok|oui)\s+)?"
    r"(?:(?:le|la|l|numero|n|no|choix)\s+)?(?P<rank>\w+)(?:\s+(?:choix|svp|stp|merci|option))?"
)


def latest_buttons(tracker: DialogueStateTracker) -> tuple[list[dict[str, Any]], bool]:
    """The buttons of the bot's latest answer, and whether that answer listed places.

    Looks back to the previous user message: the answer may be several messages long,
    with the buttons on any of them.
    """
    buttons: list[dict[str, Any]] = []
    listed_places = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            buttons = list((event.data or {}).get("buttons") or []) + buttons
        elif isinstance(event, SlotSet) and event.key == LISTED_PLACES and event.value:
            listed_places = True
    return buttons, listed_places


def chosen_payload(text: str, buttons: list[dict[str, Any]], allow_rank: bool) -> str | None:
    """The payload of the button ``text`` designates, if any."""
    wanted = key(text)
    if not wanted:
        return None
    for button in buttons:
        if key(str(button.get("title", ""))) == wanted:
            return str(button.get("payload", ""))
    if not allow_rank or len(buttons) < 2:
        return None
    match = _RANK.fullmatch(" ".join(fold(text).replace("'", " ").split()).strip(" ?!."))
    if not match:
        return None
    word = match.group("rank")
    rank = int(word) if word.isdigit() else _ORDINALS.get(word)
    if rank is None and word in ("dernier", "derniere"):
        rank = len(buttons)
    if rank is not None and 1 <= rank <= len(buttons):
        return str(buttons[rank - 1].get("payload", ""))
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ButtonChoice(RuleComponent):
    """Reads a typed button title (or rank) as the button's payload."""

    def process(
        self,
        messages: list[Message],
        domain: Optional[Domain] = None,  # noqa: UP045 - Rasa's graph validation needs Optional
        tracker: Optional[DialogueStateTracker] = None,  # noqa: UP045
    ) -> list[Message]:
        if tracker is None:
            return messages
        buttons, listed_places = latest_buttons(tracker)
        if not buttons:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            payload = chosen_payload(text, buttons, allow_rank=not listed_places)
            if payload and payload.startswith("/"):
                self._apply(message, payload, domain)
        return messages

    @staticmethod
    def _apply(message: Message, payload: str, domain: Optional[Domain]) -> None:  # noqa: UP045
        from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
            YAMLStoryReader,
        )

        clicked = YAMLStoryReader.unpack_regex_message(Message({TEXT: payload}), domain)
        intent = clicked.get(INTENT)
        if not intent or not intent.get("name"):
            return
        override_intent(message, intent["name"])
        message.set(ENTITIES, clicked.get(ENTITIES) or [], add_to_output=True)
