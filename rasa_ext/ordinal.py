"""The ``ordinal`` entity: which item of a list just shown ("le premier", "le 2e", "le
dernier"), as ``common/ordinal.py`` reads it. Deterministic: no training.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from common.ordinal import LAST, ordinals
from rasa_ext.override import RuleComponent

ENTITY = "ordinal"
__all__ = ["ENTITY", "LAST", "OrdinalExtractor", "find_ordinals"]


def find_ordinals(text: str) -> list[dict[str, Any]]:
    """The ``ordinal`` entities of ``text``."""
    return [
        {
            ENTITY_ATTRIBUTE_TYPE: ENTITY,
            ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: end,
            ENTITY_ATTRIBUTE_VALUE: value,
        }
        for value, start, end in ordinals(text)
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class OrdinalExtractor(RuleComponent, EntityExtractorMixin):
    """Extracts the ``ordinal`` entity ("1".."9" or "last")."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name(find_ordinals(text)),
                add_to_output=True,
            )
        return messages
