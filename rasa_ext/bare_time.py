"""A message that is only a time, a date, a count or a duration ("à 11h", "lundi
prochain", "le 3 mars", "ce soir", "on sera sept", "trois quarts d'heure") is ``inform``.

Such answers come when the assistant has just asked for a day or a time (booking a room,
moving a booking) or has listed places ("samedi ?": their hours that day). They are too
short for the classifiers to be sure of: "à 11h" shares its character n-grams with
"à plus" and "à demain" (goodbye), "ce soir" was read as out of scope (0.99) and "lundi
prochain" as a farewell, "on va être sept" as a social question and "une bonne heure" as
a farewell on dev folds of the training data. This component, placed after
the fallback components, makes the reading deterministic; farewells that name a day ("à
demain", "à lundi", "bon lundi", "bonne soirée") and longer messages keep the classifiers'
intent.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import MONTHS, fold
from rasa_ext.override import RuleComponent, override_intent

INFORM = "inform"
BARE_TIME = re.compile(
    r"(?:(?:a|vers|pour|plutot|disons|mettons|a partir de)\s+)*"
    r"\d{1,2}\s*(?:h|heures?|:)\s*(?:\d{2})?"
    r"(?:\s+(?:plutot|svp|stp|alors|si possible))?\s*[?!.]*"
)


# Numbers written out, in dates ("le trois mars") and counts ("on va être sept").
NUMBER_WORDS = frozenset(
    {"un", "une", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"}
    | {"onze", "douze", "treize", "quatorze", "quinze", "seize", "vingt", "trente"}
    | {"quarante", "cinquante"}
)
WEEKDAYS = frozenset({"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"})
# Words that name a day or a part of one by themselves.
DAY_WORDS = (
    WEEKDAYS
    | frozenset(MONTHS)
    | {"demain", "aujourd", "aujourdhui", "auj", "lendemain", "soir", "soiree", "matin"}
    | {"matinee", "midi", "aprem", "prochain", "prochaine", "semaine", "mois", "jours"}
    | {"huit", "quinze"}
)
# Words that go with them: "le 3 mars", "jeudi prochain plutôt", "en fin de matinée".
MOMENT_FILLERS = frozenset(
    {"le", "la", "l", "les", "ce", "cet", "cette", "du", "de", "d", "au", "en", "dans"}
    | {"pour", "pr", "plutot", "vers", "apres", "avant", "hui", "debut", "fin", "milieu"}
    | {"tot", "tard", "ou", "alors", "svp", "stp", "si", "possible", "plait", "s", "il"}
    | {"vous", "te", "a", "partir", "sinon", "entre", "heure", "heures", "h", "bien"}
    | {"disons", "mettons", "euh", "ben", "bah"}
    | NUMBER_WORDS  # "le trois mars"
)
# "à demain", "à lundi", "bon lundi", "bonne soirée" are farewells ("à 14h" is a time).
_FAREWELL = re.compile(r"(?:a|au|bon|bonne|bonnes)\s+(?!\d|partir\b)")
_NUMERIC_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?")
_WORD = re.compile(r"\d+(?:h\d*|er|e)?|[^\W\d_]+")

# Counts and durations, the booking form's other answers: "pour six", "on sera 4 avec moi",
# "une quinzaine de participants", "pas plus d'une heure", "une demi-heure".
COLLECTIVES = frozenset(
    {"dizaine", "douzaine", "quinzaine", "vingtaine", "trentaine", "cinquantaine"}
)
UNITS = frozenset(
    {"personnes", "personne", "pers", "participants", "participant", "collegues", "gens"}
    | {"agents", "heure", "heures", "h", "minutes", "minute", "min", "mn", "demi", "quart"}
    | {"quarts"}
)
QUANTITY_FILLERS = frozenset(
    {"on", "sera", "serons", "sommes", "est", "va", "etre", "nous", "pour", "pr", "a"}
    | {"environ", "max", "maximum", "au", "plus", "moins", "de", "d", "pendant", "durant"}
    | {"et", "bonne", "petite", "grosse", "pas", "svp", "stp", "ca", "fera", "dure"}
    | {"durera", "peu", "pres", "disons", "mettons", "moi", "avec", "collegue", "il", "y"}
    | {"aura", "aurait", "en", "tout", "total", "vers", "mais", "non", "plutot", "euh"}
)
_OPERATORS = frozenset({"plus", "moins", "fois"})  # "2 plus 2" is arithmetic
_ONE = frozenset({"un", "une"})  # "une" alone counts nothing; "une heure" does


def is_bare_time(text: str) -> bool:
    return BARE_TIME.fullmatch(fold(text).strip()) is not None


def is_bare_moment(text: str) -> bool:
    """A day, a date or a part of the day, with a time or not, and nothing else: "lundi
    prochain", "le 3 mars", "12/03 à 16h", "demain matin ?", "ce soir". A rank ("le
    1er") and a number alone ("le 2") are not: they may pick an item or answer "how many?"."""
    folded = fold(text).strip()
    if _FAREWELL.match(folded):
        return False
    numeric = _NUMERIC_DATE.search(folded) is not None
    words = _WORD.findall(_NUMERIC_DATE.sub(" ", folded))
    if not numeric and not any(w in DAY_WORDS for w in words):
        return False
    return all(w in DAY_WORDS or w in MOMENT_FILLERS or w[0].isdigit() for w in words)


def _is_number(word: str) -> bool:
    return word[0].isdigit() or word in NUMBER_WORDS


def is_bare_quantity(text: str) -> bool:
    """A number of people or a duration, and nothing else: "pour six", "on va être sept",
    "trois quarts d'heure", "2". "Un" or "une" alone count nothing; "le 2" is a rank or a
    day, left to the other readings; "2 plus 2" is arithmetic (out of scope)."""
    words = _WORD.findall(fold(text))
    if any(
        w in _OPERATORS
        and 0 < i < len(words) - 1
        and _is_number(words[i - 1])
        and _is_number(words[i + 1])
        for i, w in enumerate(words)
    ):
        return False
    counts = any(
        w[0].isdigit() or w in COLLECTIVES or w in UNITS or (w in NUMBER_WORDS and w not in _ONE)
        for w in words
    )
    return counts and all(
        _is_number(w) or w in COLLECTIVES or w in UNITS or w in QUANTITY_FILLERS for w in words
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class BareTimeInform(RuleComponent):
    """Predicts ``inform`` (confidence 1) for a message made of a time, a date, a count or a
    duration alone."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not (is_bare_time(text) or is_bare_moment(text) or is_bare_quantity(text)):
                continue
            override_intent(message, INFORM)
        return messages
