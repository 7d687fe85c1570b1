"""Text normalisation used wherever French names are matched loosely.

Users type "carhaix", "Carhaix Plouguer", "st pol de leon" or "CHATEAULIN";
all of these must meet the official names. Folding is done token by token so
that callers can keep the character offsets of the original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Month names as ``fold`` writes them (dates in French, in any component or action).
MONTHS = (
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
)

_TOKEN = re.compile(r"\w+", re.UNICODE)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
# Abbreviations that people use for the first word of many commune names.
_TOKEN_ALIASES = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents and ligatures ("Œuvre" -> "oeuvre")."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(folded_token, start, end)`` for every word of ``text``.

    Hyphens, apostrophes and punctuation separate words; abbreviations such as
    "st" are expanded so that "St-Renan" and "saint renan" give the same tokens.
    """
    for match in _TOKEN.finditer(text):
        word = fold(match.group())
        yield _TOKEN_ALIASES.get(word, word), match.start(), match.end()


def key(text: str) -> str:
    """A matching key: folded words joined by single spaces ("Pont-l'Abbé" -> "pont l abbe")."""
    return " ".join(token for token, _, _ in tokens(text))


def keys(name: str) -> set[str]:
    """Every key under which ``name`` should be found.

    Besides the plain key, a name with an apostrophe is also found with the
    apostrophe dropped and the words joined ("Pont-l'Abbé" -> "pont labbe").
    """
    variants = {key(name)}
    if "'" in name or "’" in name:
        variants.add(key(re.sub(r"['’]", "", name)))
    variants.discard("")
    return variants
