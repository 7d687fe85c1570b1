"""Ranks in a list just shown ("le premier", "le 2e", "le dernier"), read from the text.

Values are "1".."9" or "last". Words are read on folded tokens (``common.text``), so
"deuxième", "deuxieme", "2ème", "2eme", "2e", "2nd" are the same. A bare digit counts
only where it names an item: alone in the message ("2"), or after "le", "la", "numéro",
"option"… and not followed by a month or a unit ("le 2 mars", "le 3 à 14h" are dates,
"2 personnes" a count). School grades ("en 6e", "classe de 3e") and "la semaine
dernière", "le mois dernier" are no ranks. Pure text: used by Rasa's ``ordinal`` entity
(``rasa_ext/ordinal.py``) and by the actions when a message has no entity.
"""

from __future__ import annotations

import re

from common.text import MONTHS, tokens

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
# "un", "deux", "trois" are ranks only after "numéro" (« numéro deux »).
_COUNTED = {"un": "1", "deux": "2", "trois": "3"}
_NUMBER_CUES = frozenset({"numero", "num", "no", "n"})
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


def ordinals(text: str) -> list[tuple[str, int, int]]:
    """Each rank the message names: (value, start, end) in ``text``."""
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
        elif word in _COUNTED and before in _NUMBER_CUES:  # « numéro un »
            value = _COUNTED[word]
        else:
            value = ordinal_value(word)
            if value is None or before in _NOT_AFTER:
                continue
            if value == LAST and before is not None and before not in _LAST_CUES:
                continue
        found.append((value, start, end))
    return found


def first_ordinal(text: str) -> str | None:
    """The first rank the message names ("2", "last"), if any."""
    found = ordinals(text)
    return found[0][0] if found else None
