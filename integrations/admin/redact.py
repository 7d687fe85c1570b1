"""Personal data out of user messages before the NLU inbox shows or stores them.

People type their e-mail, phone, social security number (NIR), IBAN or postal address
into a chat although they are told not to. The inbox keeps only the redacted text,
where each of them is replaced by a French placeholder such as ``<téléphone>``.

The patterns err on the side of redacting too much: a false positive costs a word in
an example, a false negative leaks personal data into the training files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Street types that start a French postal address ("12 rue de la Paix").
_STREET_TYPES = (
    r"rue|avenue|av\.?|boulevard|bd|bld|place|pl\.|chemin|ch\.|impasse|imp\.|all[ée]e|"
    r"route|rte|quai|cours|square|r[ée]sidence|lotissement|lot\.|lieu[- ]dit|hameau|"
    r"voie|venelle|sentier|passage|cit[ée]|parvis|esplanade|faubourg|mont[ée]e|rond[- ]point"
)
# A word of a street or town name; the words that usually follow an address in a
# sentence ("… et je voudrais") end it.
_NAME_WORD = (
    r"(?!(?:et|ou|pour|mais|donc|car|je|j'|merci|svp|avec|depuis|est|c'est)\b)"
    r"[A-Za-zÀ-ÖØ-öø-ÿ'’-]+"
)


@dataclass(frozen=True)
class Pattern:
    kind: str
    placeholder: str
    regex: re.Pattern[str]


# Order matters: the longest, most specific numbers first, so that an IBAN or a NIR is
# not half-taken for a phone number.
PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "email",
        "<courriel>",
        re.compile(r"[\w.+-]+\s?@\s?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE),
    ),
    Pattern(
        "iban",
        "<IBAN>",
        # FR76 3000 6000 0112 3456 7890 189: country, check digits, up to 30 characters.
        re.compile(r"\b[A-Z]{2}\d{2}(?:[ .-]?[A-Z0-9]{4}){2,7}(?:[ .-]?[A-Z0-9]{1,3})?\b", re.I),
    ),
    Pattern(
        "nir",
        "<numéro de sécurité sociale>",
        # 1 85 05 78 006 084 36: sex, year, month, département (2A/2B for Corsica),
        # commune, order number, and the optional two-digit key.
        re.compile(
            r"\b[12][ .-]?\d{2}[ .-]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .-]?(?:\d{2}|2[AB])"
            r"[ .-]?\d{3}[ .-]?\d{3}(?:[ .-]?\d{2})?\b",
            re.IGNORECASE,
        ),
    ),
    Pattern(
        "phone",
        "<téléphone>",
        # 06 12 34 56 78, 06.12.34.56.78, 0612345678, +33 6 12 34 56 78, 0033 (0)6…
        re.compile(r"(?:(?:\+|\b00)\s?33[\s.-]?(?:\(0\)[\s.-]?)?|\b0)[1-9](?:[\s.-]?\d{2}){4}\b"),
    ),
    Pattern(
        "address",
        "<adresse>",
        # 12 rue de la Paix 29000 Quimper, 3 bis avenue Jean Jaurès, 72000 Le Mans
        re.compile(
            rf"\b\d{{1,4}}\s?(?:bis|ter|[a-d]\b)?,?\s+(?:{_STREET_TYPES})\s+"
            rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,5}}"
            rf"(?:,?\s+\d{{5}}(?:\s+[A-ZÀ-Ö]{_NAME_WORD}(?:[\s-]+{_NAME_WORD}){{0,3}})?"
            rf"|(?=[\s,.;!?]|$))",
            re.IGNORECASE,
        ),
    ),
)


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]  # which kinds of personal data were found, in pattern order


def redact(text: str) -> Redacted:
    """``text`` with every detected piece of personal data replaced by its placeholder."""
    found: list[str] = []
    for pattern in PATTERNS:
        text, count = pattern.regex.subn(pattern.placeholder, text)
        if count:
            found.append(pattern.kind)
    return Redacted(text=re.sub(r"\s+", " ", text).strip(), kinds=tuple(found))
