"""Entity extraction from the lookup tables and synonyms of the training data.

Rasa's RegexEntityExtractor matches lookup entries literally, so every spelling
(with or without accents, hyphens, "st" for "saint"…) would have to be listed.
This extractor matches on folded keys instead (see ``common.text``) and returns
the canonical value directly: a lookup entry that is a synonym yields the
synonym's value, so ``carhaix`` comes back as ``Carhaix-Plouguer``.

Names that are also everyday French words ("Loué", "Fillé", "Changé") are listed
in the lookup table named by ``ambiguous_lookup``; they only count when written
with a capital, after a place preposition ("à", "sur"…) or as the whole message.

Misspelt names of the entities in ``fuzzy_entities`` (communes) are found too: a span
of at least ``fuzzy_min_letters`` letters within edit distance 1 of one name (2 from
nine letters on: "Concarnau", "Plougastell", "Landernau"), when that name is the only
closest one and has the same first letter. Words of the training examples are never
read as misspelt names, nor are ambiguous names, nor a name that is the span plus or
minus a final "e" or "s" ("la feuille" is no "La Feuillée").

Names written as they sound are found too, from five letters on: a span whose French
phonetic key (``phonetic_key``: "qu", "k" and hard "c" alike, nasal vowels alike, silent
"h" and final "e", "x" after a vowel...) is that of exactly one name ("kemper" and
"Quimper", "morlé" and "Morlaix", "landerno" and "Landerneau"), or a five-letter span that
is one name with two neighbouring letters swapped ("brset" for "Brest").
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.text import fold, keys, tokens
from rasa_ext.storage import StoredComponent, load_json, save_json

logger = logging.getLogger(__name__)

GAZETTEER_FILE = "gazetteer.json"
PHONETIC_MIN_LETTERS = 5
PLACE_PREPOSITIONS = frozenset({"a", "au", "sur", "vers", "pres", "de", "habite"})


def build_gazetteer(
    lookup_tables: list[dict[str, Any]],
    synonyms: dict[str, str],
    entities: list[str],
) -> dict[str, dict[str, str]]:
    """Map, for each entity, every folded key to its canonical value.

    Rasa's synonyms are global (they name no entity); a synonym counts for an entity
    only when its value is one of that entity's lookup elements. Synonyms match on
    folded keys, whatever the case or accents they were written with.
    """
    synonym_of = {k: value for surface, value in synonyms.items() for k in keys(surface)}
    tables = {
        table["name"]: _elements(table) for table in lookup_tables if table["name"] in entities
    }
    gazetteer: dict[str, dict[str, str]] = {}
    for name, elements in tables.items():
        element_set = set(elements)
        entries = gazetteer.setdefault(name, {})
        surface_forms = elements + [
            s
            for s, value in synonyms.items()
            if value in element_set and not _belongs_elsewhere(s, value, name, tables)
        ]
        for surface in surface_forms:
            for k in keys(surface):
                value = synonym_of.get(k, surface)
                if value not in element_set:
                    value = surface
                previous = entries.setdefault(k, value)
                if previous != value:
                    logger.debug("'%s' is both %s and %s; keeping the first", k, previous, value)
    return gazetteer


def _belongs_elsewhere(surface: str, value: str, entity: str, tables: dict[str, list[str]]) -> bool:
    """A synonym between two elements of another entity's table is that entity's:
    "hôtel du département" -> "Quimper" names a site, not the commune of Quimper
    (Rasa's synonyms are global), while "Carhaix" -> "Carhaix-Plouguer" stays a commune's."""
    return any(
        other != entity
        and value in items
        and bool(keys(surface) & {k for e in items for k in keys(e)})
        for other, items in tables.items()
    )


def _elements(table: dict[str, Any]) -> list[str]:
    elements = table["elements"]
    if isinstance(elements, str):  # a file path already read by Rasa
        elements = elements.splitlines()
    return [e.strip() for e in elements if e.strip()]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


_PHONETIC_RULES = [
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"[^a-z ]", ""),
        (r"sch|ch|sh", "S"),
        (r"ph", "f"),
        (r"h", ""),
        (r"sc(?=[eiy])", "s"),
        (r"qu?|ck|k", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"g(?=[eiy])", "j"),
        (r"gu(?=[eiy])", "g"),
        (r"w", "v"),
        (r"y", "i"),
        (r"z", "s"),
        (r"eau|au", "o"),
        (r"ou", "u"),
        (r"oi", "ua"),
        (r"ai|ei", "e"),
        (r"(?<![aeiou])[aeiou][mn](?=[^aeioumn]|$|\s)", "N"),
        (r"(?<=[aeiou])[sxtd](?=$|\s)", ""),
        (r"(?<=[^ ])e(?=$|\s)", ""),
        (r"(.)\1+", r"\1"),
    )
]


def phonetic_key(folded: str) -> str:
    """A rough French pronunciation of folded words: what sounds alike keys alike."""
    key = folded
    for pattern, replacement in _PHONETIC_RULES:
        key = pattern.sub(replacement, key)
    return key


def _swapped(a: str, b: str) -> bool:
    """``a`` is ``b`` with two neighbouring letters swapped."""
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    return (
        len(a) == len(b)
        and len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


class FuzzyIndex:
    """Names of one entity by (word count, first letter), for misspelt-name look-ups."""

    def __init__(
        self,
        entries: dict[str, str],
        common_words: frozenset[str],
        ambiguous: frozenset[str],
        min_letters: int = 6,
    ) -> None:
        self.common_words = common_words
        self.min_letters = min_letters
        self.buckets: dict[tuple[int, str], list[tuple[str, str]]] = {}
        self.sounds: dict[str, set[str]] = {}
        for k, value in entries.items():
            if k in ambiguous or len(k.replace(" ", "")) < PHONETIC_MIN_LETTERS:
                continue
            self.sounds.setdefault(phonetic_key(k), set()).add(value)
            self.buckets.setdefault((k.count(" ") + 1, k[0]), []).append((k, value))

    def limit(self, letters: int) -> int:
        return 0 if letters < self.min_letters else 1 if letters < 9 else 2

    def match(self, span: list[str]) -> str | None:
        """The one name closest to ``span`` (folded words) within the limit, if any;
        else the one name that sounds like it."""
        k = " ".join(span)
        letters = len(k.replace(" ", ""))
        if letters < PHONETIC_MIN_LETTERS or all(
            w in self.common_words or w.isdigit() for w in span
        ):
            return None
        return self._closest(k, span, self.limit(letters)) or self._sounding(k)

    def _sounding(self, k: str) -> str | None:
        values = self.sounds.get(phonetic_key(k), set())
        return next(iter(values)) if len(values) == 1 else None

    def _closest(self, k: str, span: list[str], limit: int) -> str | None:
        """Within ``limit`` edits (names of ``min_letters`` or more), or one swap."""
        limit = max(limit, 1)
        best, values = limit + 1, set()
        for name, value in self.buckets.get((len(span), k[0]), ()):
            if _inflected(k, name):
                continue
            if _swapped(k, name):
                d = 1
            elif len(name.replace(" ", "")) < self.min_letters or len(k) < self.min_letters:
                continue
            else:
                d = edit_distance(k, name, limit)
            if d > limit:
                continue
            if d < best:
                best, values = d, {value}
            elif d == best:
                values.add(value)
        return values.pop() if len(values) == 1 else None


def _inflected(a: str, b: str) -> bool:
    """One is the other with a final "e", "s" or "es": an everyday word's feminine or
    plural ("la feuille" is no "La Feuillée"), not a typo."""
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and long[len(short) :] in {"e", "s", "es"}


def find_entities(
    text: str,
    gazetteer: dict[str, dict[str, str]],
    ambiguous: frozenset[str] = frozenset(),
    max_words: int = 6,
    fuzzy: dict[str, FuzzyIndex] | None = None,
) -> list[dict[str, Any]]:
    """Longest-match scan of ``text`` for every entity of the gazetteer.

    Where no name matches exactly, the entities of ``fuzzy`` are looked up by edit
    distance, over spans of at most three words.
    """
    words = list(tokens(text))
    found: list[dict[str, Any]] = []
    for entity, entries in gazetteer.items():
        index = (fuzzy or {}).get(entity)
        i = 0
        while i < len(words):
            for n in range(min(max_words, len(words) - i), 0, -1):
                k = " ".join(w for w, _, _ in words[i : i + n])
                if k in entries and _accept(k, words, i, n, text, ambiguous):
                    value = entries[k]
                    break
            else:
                n, value = 0, None
                if index is not None:
                    for n in range(min(3, len(words) - i), 0, -1):
                        value = index.match([w for w, _, _ in words[i : i + n]])
                        if value is not None:
                            break
            if value is None:
                i += 1
                continue
            found.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: entity,
                    ENTITY_ATTRIBUTE_START: words[i][1],
                    ENTITY_ATTRIBUTE_END: words[i + n - 1][2],
                    ENTITY_ATTRIBUTE_VALUE: value,
                }
            )
            i += n
    return sorted(found, key=lambda e: (e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_TYPE]))


def _accept(k: str, words: list, i: int, n: int, text: str, ambiguous: frozenset[str]) -> bool:
    if k not in ambiguous:
        return True
    whole_message = n == len(words)
    capitalised = text[words[i][1]].isupper()
    # A bare "a" is the verb ("le trajet a changé"); only "à" introduces a place.
    before = words[i - 1] if i > 0 else None
    after_preposition = (
        before is not None
        and before[0] in PLACE_PREPOSITIONS
        and (before[0] != "a" or text[before[1] : before[2]] != "a")
    )
    return whole_message or capitalised or after_preposition


# Words that make a council site of a name that is also a commune ("la salle de Brest").
SITE_CUES = frozenset(
    {"salle", "salles", "sale", "visio", "visioconference", "site", "resa", "reservation"}
)
_CLOCK = re.compile(r"\b\d{1,2} ?h(?:\d{2})?\b")


def one_reading(
    entities: list[dict[str, Any]], text: str, intent: str | None, site_intents: frozenset[str]
) -> list[dict[str, Any]]:
    """Keep one of the ``commune`` and ``site`` read on the same words ("Brest" is both).

    The site for a booking intent or beside a booking word ("salle", "visio", "résa"…);
    the commune otherwise — except for a bare ``inform`` with a time ("Brest jeudi 14h"),
    which may answer the booking form as well as a place search: both stay.
    """
    communes = [e for e in entities if e[ENTITY_ATTRIBUTE_TYPE] == "commune"]
    sites = [e for e in entities if e[ENTITY_ATTRIBUTE_TYPE] == "site"]
    doubles = [(c, s) for c in communes for s in sites if _overlap(c, s)]
    if not doubles:
        return entities
    words = {w for w, _, _ in tokens(text)}
    if intent in site_intents or words & SITE_CUES:
        dropped = "commune"
    elif intent == "inform" and _CLOCK.search(fold(text)):
        return entities
    else:
        dropped = "site"
    drop = {id(c if dropped == "commune" else s) for c, s in doubles}
    return [e for e in entities if id(e) not in drop]


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a[ENTITY_ATTRIBUTE_START] < b[ENTITY_ATTRIBUTE_END]
        and b[ENTITY_ATTRIBUTE_START] < a[ENTITY_ATTRIBUTE_END]
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class GazetteerEntityExtractor(StoredComponent, EntityExtractorMixin):
    """Extracts lookup-table entities with accent-, case- and hyphen-insensitive matching."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Lookup tables (named after an entity) to match.
            "entities": [],
            # Lookup table listing names that are also common words.
            "ambiguous_lookup": "ambiguous_name",
            # Longest name, in words, to look for.
            "max_words": 6,
            # Entities whose misspelt names are found too, and their shortest length.
            "fuzzy_entities": [],
            "fuzzy_min_letters": 6,
            # Intents for which a name that is both a commune and a site is the site.
            "site_intents": [
                "book_room",
                "cancel_booking",
                "list_bookings",
                "change_booking",
                "choose_option",
                "ask_visio_help",
            ],
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        gazetteer: dict[str, dict[str, str]] | None = None,
        ambiguous: frozenset[str] = frozenset(),
        common_words: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.gazetteer = gazetteer or {}
        self.ambiguous = ambiguous
        self.common_words = common_words
        self.fuzzy = self._fuzzy_indexes()

    def _fuzzy_indexes(self) -> dict[str, FuzzyIndex]:
        return {
            entity: FuzzyIndex(
                self.gazetteer[entity],
                self.common_words,
                self.ambiguous,
                self._config["fuzzy_min_letters"],
            )
            for entity in self._config["fuzzy_entities"]
            if entity in self.gazetteer
        }

    def train(self, training_data: TrainingData) -> Resource:
        self.gazetteer = build_gazetteer(
            training_data.lookup_tables,
            training_data.entity_synonyms,
            self._config["entities"],
        )
        self.ambiguous = frozenset(
            k
            for table in training_data.lookup_tables
            if table["name"] == self._config["ambiguous_lookup"]
            for element in table["elements"]
            for k in keys(element)
        )
        names = {w for entries in self.gazetteer.values() for k in entries for w in k.split()}
        self.common_words = frozenset(
            w
            for m in training_data.training_examples
            for w, _, _ in tokens(m.get(TEXT) or "")
            if w not in names
        )
        self.fuzzy = self._fuzzy_indexes()
        for entity in self._config["entities"]:
            if entity not in self.gazetteer:
                logger.warning("No lookup table named '%s' in the training data.", entity)
        payload = {
            "gazetteer": self.gazetteer,
            "ambiguous": sorted(self.ambiguous),
            "common_words": sorted(self.common_words),
        }
        save_json(self._model_storage, self._resource, GAZETTEER_FILE, payload)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> GazetteerEntityExtractor:
        payload = load_json(model_storage, resource, GAZETTEER_FILE)
        if payload is None:
            logger.warning("No trained gazetteer found; entities will not be extracted.")
            return cls(config, model_storage, resource)
        return cls(
            config,
            model_storage,
            resource,
            payload["gazetteer"],
            frozenset(payload["ambiguous"]),
            frozenset(payload.get("common_words", ())),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = find_entities(
                text, self.gazetteer, self.ambiguous, self._config["max_words"], self.fuzzy
            )
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            entities = one_reading(entities, text, intent, frozenset(self._config["site_intents"]))
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name(entities),
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
