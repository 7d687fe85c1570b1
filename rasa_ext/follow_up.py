"""Deterministic readings of two kinds of short follow-ups, whatever DIET guessed.

- A commune or a postcode with nothing else but filler words ("et à Concarneau ?",
  "je suis à Mamers", "29200", "Brest svp") is ``inform``: it answers "which commune?"
  or moves the last question to another commune. DIET alone mistook a bare "Mamers"
  for a topic, because character n-grams of a name look like anything.
- A rank with nothing else but filler words ("le premier", "la 2e svp", "et le
  dernier ?", "le n°3", "plus d'infos sur le 3") is ``select_item``. A digit alone
  ("2", "le 2") is not: it may answer "how many?" or be a day of the month.

Placed after the fallback components, like ``rasa_ext.bare_time``.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import tokens
from rasa_ext.override import RuleComponent, override_intent

INFORM, SELECT_ITEM = "inform", "select_item"
PLACE_ENTITIES = frozenset({"commune", "postcode"})
_POLITE = {"svp", "stp", "s", "il", "vous", "te", "plait", "merci", "ok", "alors", "bon", "euh"}
PLACE_FILLERS = frozenset(
    _POLITE
    | {"et", "a", "au", "aux", "pour", "pr", "sur", "vers", "dans", "le", "la", "l", "les"}
    | {"de", "du", "d", "cote", "pres", "coin", "secteur", "region", "chez", "moi", "nous"}
    | {"j", "je", "jhabite", "habite", "habitons", "suis", "vis", "reside", "demeure", "on"}
    | {"est", "c", "ce", "mais", "plutot", "non", "oui", "ma", "mon", "commune", "ville"}
    | {"code", "ds", "jsuis", "chui", "jvis", "jsui", "autour", "environs", "proche"}
    | {"postal", "cp", "en", "fait", "aussi", "pareil", "meme", "question", "chose", "ici"}
    # "j'habite à Brest, où aller ?": where to go for what was just asked
    | {"ou", "aller", "vais", "va", "dois", "faut", "il", "y"}
)
_NUMBER_WORDS = frozenset({"numero", "num", "no", "n"})
_INFO_WORDS = frozenset({"info", "infos", "information", "informations", "detail", "details"})
RANK_FILLERS = frozenset(
    _POLITE
    | {"le", "la", "l", "et", "plutot", "numero", "num", "no", "n", "celui", "celle"}
    # "plus d'infos sur le 3", "détails du 2e", "voir le premier lieu"
    | {"plus", "d", "info", "infos", "information", "informations", "detail", "details"}
    | {"sur", "du", "de", "des", "voir", "lieu", "endroit"}
)


def _outside(text: str, entities: list[dict[str, Any]], names: frozenset[str]) -> list[str]:
    spans = [(e["start"], e["end"]) for e in entities if e.get("entity") in names]
    return [
        w for w, start, end in tokens(text) if not any(a <= start and end <= b for a, b in spans)
    ]


def is_bare_place(text: str, entities: list[dict[str, Any]]) -> bool:
    """Only a commune or postcode, and filler words."""
    if not any(e.get("entity") in PLACE_ENTITIES for e in entities):
        return False
    return all(w in PLACE_FILLERS for w in _outside(text, entities, PLACE_ENTITIES))


def is_bare_rank(text: str, entities: list[dict[str, Any]]) -> bool:
    """Only a rank word ("premier", "2e", "dernière"), and filler words."""
    ranks = [e for e in entities if e.get("entity") == "ordinal"]
    others = _outside(text, entities, frozenset({"ordinal"}))
    numbered = any(w in _NUMBER_WORDS or w in _INFO_WORDS for w in others)
    if not ranks or (not numbered and all(text[e["start"] : e["end"]].isdigit() for e in ranks)):
        return False
    return all(w in RANK_FILLERS for w in others)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FollowUpRules(RuleComponent):
    """``inform`` for a bare commune or postcode, ``select_item`` for a bare rank."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue
            entities = message.get(ENTITIES) or []
            if is_bare_place(text, entities):
                override_intent(message, INFORM)
            elif is_bare_rank(text, entities):
                override_intent(message, SELECT_ITEM)
        return messages
