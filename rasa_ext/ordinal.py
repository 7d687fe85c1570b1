"""The ``ordinal`` entity: which item of a list just shown ("le premier", "le 2e", "le dernier").

Values are "1".."9" or "last". Words are read on folded tokens (``common.text``), so
"deuxième", "deuxieme", "2ème", "2eme", "2e", "2nd" are the same. A bare digit counts
only where it names an item: alone in the message ("2"), or after "le", "la", "numéro",
"option"… and not followed by a month or a unit ("le 2 mars", "le 3 à 14h" are dates,
"2 personnes" a count). School grades ("en 6e", "classe de 3e") and "la semaine
dernière" are no ordinals. Deterministic: no training.
"""

from __future__ import annotations

import re
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

from common.text import MONTHS, tokens
from rasa_ext.override import RuleComponent

ENTITY = "ordinal"
LAST = "last"
_WORDS = {
    "premier": "1",
    "premiere": "1",
    "premie": "1",
    "premer": "1",
    "deuxieme": "2",
    "deuxiem": "2",
    "deuxime": "2",
    "deusieme": "2",
    "second": "2",
    "seconde": "2",
    "secon": "2",
    "troisieme": "3",
    "troisiem": "3",
    "troiseme": "3",
    "quatrieme": "4",
    "quatriem": "4",
    "cinquieme": "5",
    "cinquiem": "5",
    "sixieme": "6",
    "septieme": "7",
    "huitieme": "8",
    "neuvieme": "9",
    "dernier": LAST,
    "derniere": LAST,
    "dernie": LAST,
}
# "1er", "1ere", "1re", "2e", "2eme", "2ème", "2ieme", "2nd", "2nde", "3è".
_NUMBERED = re.compile(r"([1-9])(?:er|ere|re|ier|iere|e|eme|ieme|em|nd|nde)")
_DIGIT = re.compile(r"[1-9]")
# Before a bare digit: the words that make it an item number.
_DIGIT_CUES = frozenset(
    {"le", "la", "l", "numero", "num", "no", "n", "option", "choix", "lieu", "item", "ligne"}
)
# Before an ordinal word: a school grade, a date, "une seconde" (a moment).
_NOT_AFTER = frozenset({"en", "de", "une", "un", "semaine", "mois", "annee", "fois", "classe"})
# After an ordinal or a digit: a date, a duration, a count, an age, a class.
_NOT_BEFORE = frozenset(
    {
        *MONTHS,
        "h",
        "heure",
        "heures",
        "min",
        "minute",
        "minutes",
        "personne",
        "personnes",
        "pers",
        "participants",
        "ans",
        "an",
        "annee",
        "etage",
        "arrondissement",
        "enfant",
        "enfants",
        "fois",
        "jours",
        "jour",
        "semaines",
        "mois",
    }
)
# "dernier" needs a determiner or a verb of choice before it ("le dernier", "prends la
# dernière"), or to start the message: "la semaine dernière" is a date.
_LAST_CUES = frozenset(
    {"le", "la", "l", "au", "du", "sur", "celui", "celle", "ce", "cette", "prends", "choisis"}
)


def ordinal_value(word: str) -> str | None:
    """The value of one folded token read as an ordinal word, if it is one."""
    if word in _WORDS:
        return _WORDS[word]
    match = _NUMBERED.fullmatch(word)
    return match.group(1) if match else None


def find_ordinals(text: str) -> list[dict[str, Any]]:
    words = list(tokens(text))
    found = []
    for i, (word, start, end) in enumerate(words):
        before = words[i - 1][0] if i > 0 else None
        after = words[i + 1][0] if i + 1 < len(words) else None
        after_next = words[i + 2][0] if i + 2 < len(words) else ""
        if after in _NOT_BEFORE or (after is not None and after.isdigit()):
            continue
        if after == "a" and after_next[:1].isdigit():  # "le 3 à 14h"
            continue
        if _DIGIT.fullmatch(word):
            if not (len(words) == 1 or before in _DIGIT_CUES):
                continue
            value: str | None = word
        else:
            value = ordinal_value(word)
            if value is None or before in _NOT_AFTER:
                continue
            if value == LAST and before is not None and before not in _LAST_CUES:
                continue
        found.append(
            {
                ENTITY_ATTRIBUTE_TYPE: ENTITY,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: end,
                ENTITY_ATTRIBUTE_VALUE: value,
            }
        )
    return found


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
