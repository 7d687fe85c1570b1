"""French numbers and clock times written in words or SMS style, turned into digits.

"dix-huit personnes" → "18 personnes", "quatorze heures trente" → "14 heures 30",
"midi et quart" → "12h15", "pr 4" → "pour 4". Number words are read by ``text2num``
(``text_to_num.alpha2digit``), the well-kept library for French numerals; this module
only adds what it leaves aside: the clock idioms (« et demie », « et quart », « moins le
quart », « midi », « minuit ») and SMS abbreviations. The small numbers text2num keeps as
words when they may be articles ("une", "deux jours") are read by :func:`number`.
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit, text2num

# SMS abbreviations agents write in booking requests.
_SMS = {r"\bpr\b": "pour", r"\bds\b": "dans", r"\bpers\b": "personnes", r"\bmn\b": "min"}
_HOUR = r"(\d{1,2})\s*(?:h|heures?)"
_NOON = r"(?<!apres )(?<!après )(?<!apres-)(?<!après-)(?<!ce )\bmidi\b"


def _minus_quarter(match: re.Match[str]) -> str:
    hour = (int(match.group(1)) - 1) % 24
    return f"{hour}h45"


def _clock_idioms(text: str) -> str:
    text = re.sub(_NOON, "12h", text)
    text = re.sub(r"\bminuit\b", "0h", text)
    text = re.sub(_HOUR + r"\s+et\s+demie?\b", r"\1h30", text)
    text = re.sub(_HOUR + r"\s+et\s+quart\b", r"\1h15", text)
    text = re.sub(_HOUR + r"\s+moins\s+(?:le\s+)?quart\b", _minus_quarter, text)
    return text


def digits_in(text: str) -> str:
    """``text`` with its number words as digits and its clock idioms as "14h30"."""
    lowered = text.lower()
    for pattern, replacement in _SMS.items():
        lowered = re.sub(pattern, replacement, lowered)
    return _clock_idioms(alpha2digit(lowered, "fr"))


def number(word: str) -> int | None:
    """One number written in digits or in words ("6", "six", "dix-huit"); ``None`` otherwise."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    if word in ("un", "une"):
        return 1
    try:
        return int(text2num(word, "fr"))
    except ValueError:
        return None
