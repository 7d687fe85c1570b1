"""A message that is only a time ("à 11h", "vers 14h30", "plutôt 16h") is ``inform``.

Such answers come when the assistant has just asked for a time (moving a booking). They
are too short for DIET to be sure of: "à 11h" shares its character n-grams with
"à plus" and "à demain" (goodbye). This component, placed after the fallback
components, makes the reading deterministic; longer messages keep DIET's intent.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import fold
from rasa_ext.override import RuleComponent, override_intent

INFORM = "inform"
BARE_TIME = re.compile(
    r"(?:(?:a|vers|pour|plutot|disons|mettons|a partir de)\s+)*"
    r"\d{1,2}\s*(?:h|heures?|:)\s*(?:\d{2})?"
    r"(?:\s+(?:plutot|svp|stp|alors|si possible))?\s*[?!.]*"
)


def is_bare_time(text: str) -> bool:
    return BARE_TIME.fullmatch(fold(text).strip()) is not None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class BareTimeInform(RuleComponent):
    """Predicts ``inform`` (confidence 1) for a message made of a time alone."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not is_bare_time(message.get(TEXT) or ""):
                continue
            override_intent(message, INFORM)
        return messages
