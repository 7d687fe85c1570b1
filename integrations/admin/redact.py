"""Personal data out of user messages before the NLU inbox shows or stores them.

People type their e-mail, phone, social security number (NIR), IBAN, postal address,
name or date of birth into a chat although they are told not to. The inbox keeps only
the redacted text, where each of them is replaced by a French placeholder such as ``<téléphone>``.

The patterns err on the side of redacting too much: a false positive costs a word in
an example, a false negative leaks personal data into the training files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


# Names come after what introduces them, written as people write: with or without
# accents and apostrophes, in any case, in SMS spelling ("jm'apel", "mwa c"). Only the
# name is replaced; the words that introduce it stay ("je m'appelle <nom>").
_APOSTROPHE = r"['’`]?\s?"
_NAME_LEADS = (
    rf"\bj(?:e|{_APOSTROPHE})\s?m{_APOSTROPHE}a+p+e+l+(?:e|s)?\b"  # je m'appelle, jmapel
    r"|\b(?:moi|mwa)[\s,]+(?:c|s)(?:['’`]?\s?est|['’`]|\s?e|\b)"  # moi c'est, mwa c
    r"|\bmon\s+(?:pr[ée]nom|nom)(?:\s+de\s+famille)?\s*(?:est|c['’`]?\s?est|:)"
    r"|\b(?:pr[ée]nom|nom)(?:\s+de\s+famille)?\s*:"  # nom : / prénom :
)
_TITLES = r"\b(?:madame|monsieur|mademoiselle|mme|mlle|mr|m\.)"
# Words that end a name: what usually follows it in a sentence ("… et je voudrais").
_NOT_A_NAME = (
    r"(?!(?:et|ou|je|j|jai|jabite|jhabite|tu|il|elle|nous|vous|on|pour|par|mais|donc|car|"
    r"merci|svp|stp|slt|bonjour|bjr|avec|sans|depuis|est|suis|sui|ai|a|au|aux|à|en|dans|sur|"
    r"qui|que|qu|quoi|comment|pourquoi|j'ai|c|ce|cest|c'est|ca|ça|voila|voilà|habite|"
    r"nom|prenom|prénom|né|ne|nee|née|date|tel|tél|téléphone|telephone|mail|mon|ma|mes|"
    r"le|la|les|l|un|une|des|du|de|d|"
    # SMS spelling: "jsp" (je sais pas), "koi", "g besoin", "jveux", "pk"
    r"jsp|jpp|koi|kwa|g|jveux|jveu|jvoudrais|jvoudrai|veux|veut|voudrais|voudrait|"
    r"aimerais|aimerait|besoin|cherche|pk|pcq|psk|tkt|mdr|lol|ok|oui|non)\b)"
)
# A particle inside a name ("Le Gall", "de la Fontaine", "d'Arc").
_PARTICLE = r"(?:le|la|de|du|des|d['’]|van|von|ben|el|al)"
_PERSON_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]*"
_NAME = (
    rf"(?:{_PARTICLE}\s?)*{_NOT_A_NAME}{_PERSON_WORD}"
    rf"(?:\s+(?:{_PARTICLE}\s?)*{_NOT_A_NAME}{_PERSON_WORD}){{0,3}}"
)
_MONTHS = (
    r"janv(?:ier)?|f[ée]v(?:r(?:ier)?)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|"
    r"ao[uû]t|sept(?:embre)?|oct(?:obre)?|nov(?:embre)?|d[ée]c(?:embre)?"
)
_DATE = (
    r"(?:[0-3]?\d[/.\s-]{1,2}[01]?\d[/.\s-]{1,2}(?:\d{4}|\d{2})\b"  # 12/03/1950, 3-3-50
    rf"|(?:1\s?er|[0-3]?\d)\s+(?:{_MONTHS})\.?(?:\s+(?:19|20)?\d{{2}}\b)?"  # 3 mars 1950
    r"|(?:19|20)\d{2}\b)"  # a year alone: né en 1950
)
_BIRTH_LEADS = (
    r"\bn[ée]+(?:\s?\(e\)|e|s|es)?\s+(?:le\s+|en\s+)?(?=\d)"  # né(e) le, nee le, né en
    r"|\bdate\s+de\s+naiss(?:ance|\.)?\s*:?\s*(?:le\s+|est\s+(?:le\s+)?)?"
    r"|\b(?:ddn|dn)\s*:?\s*"
    r"|\bnaissance\s*:?\s*"
)


def _keep_lead(placeholder: str) -> Callable[[re.Match[str]], str]:
    """The introduction kept, the secret after it replaced."""
    return lambda match: f"{match.group('lead')}{placeholder}"


@dataclass(frozen=True)
class Pattern:
    kind: str
    placeholder: str
    regex: re.Pattern[str]
    # Replaces a match when only part of it is the secret (names, dates of birth).
    replace: Callable[[re.Match[str]], str] | None = None

    def sub(self, text: str) -> tuple[str, int]:
        return self.regex.subn(self.replace or self.placeholder, text)


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
    Pattern(
        "birth_date",
        "<date de naissance>",
        re.compile(rf"(?P<lead>{_BIRTH_LEADS}){_DATE}", re.IGNORECASE),
        _keep_lead("<date de naissance>"),
    ),
    Pattern(
        "name",
        "<nom>",
        re.compile(
            rf"(?P<lead>(?:{_NAME_LEADS})[\s,]*|{_TITLES}\s+){_NAME}(?=$|[\s,.;:!?)])",
            re.IGNORECASE,
        ),
        _keep_lead("<nom>"),
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
        text, count = pattern.sub(text)
        if count:
            found.append(pattern.kind)
    return Redacted(text=re.sub(r"\s+", " ", text).strip(), kinds=tuple(found))
