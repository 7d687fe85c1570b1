"""Entity extraction from the lookup tables and synonyms of the training data.

Rasa's RegexEntityExtractor matches lookup entries literally, so every spelling
(with or without accents, hyphens, "st" for "saint"…) would have to be listed.
This extractor matches on folded keys instead (see ``common.text``) and returns
the canonical value directly: a lookup entry that is a synonym yields the
synonym's value, so ``carhaix`` comes back as ``Carhaix-Plouguer``.

Names that are also everyday French words ("Loué", "Fillé", "Changé") are listed
in the lookup table named by ``ambiguous_lookup``; they only count when written
with a capital, after a place preposition ("à", "sur"…) or as the whole message.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
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
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.text import keys, tokens

logger = logging.getLogger(__name__)

GAZETTEER_FILE = "gazetteer.json"
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
    gazetteer: dict[str, dict[str, str]] = {}
    for table in lookup_tables:
        name = table["name"]
        if name not in entities:
            continue
        elements = table["elements"]
        if isinstance(elements, str):  # a file path already read by Rasa
            elements = elements.splitlines()
        elements = [e.strip() for e in elements if e.strip()]
        element_set = set(elements)
        entries = gazetteer.setdefault(name, {})
        surface_forms = elements + [s for s, value in synonyms.items() if value in element_set]
        for surface in surface_forms:
            for k in keys(surface):
                value = synonym_of.get(k, surface)
                if value not in element_set:
                    value = surface
                previous = entries.setdefault(k, value)
                if previous != value:
                    logger.debug("'%s' is both %s and %s; keeping the first", k, previous, value)
    return gazetteer


def find_entities(
    text: str,
    gazetteer: dict[str, dict[str, str]],
    ambiguous: frozenset[str] = frozenset(),
    max_words: int = 6,
) -> list[dict[str, Any]]:
    """Longest-match scan of ``text`` for every entity of the gazetteer."""
    words = list(tokens(text))
    found: list[dict[str, Any]] = []
    for entity, entries in gazetteer.items():
        i = 0
        while i < len(words):
            for n in range(min(max_words, len(words) - i), 0, -1):
                k = " ".join(w for w, _, _ in words[i : i + n])
                if k in entries and _accept(k, words, i, n, text, ambiguous):
                    start, end = words[i][1], words[i + n - 1][2]
                    found.append(
                        {
                            ENTITY_ATTRIBUTE_TYPE: entity,
                            ENTITY_ATTRIBUTE_START: start,
                            ENTITY_ATTRIBUTE_END: end,
                            ENTITY_ATTRIBUTE_VALUE: entries[k],
                        }
                    )
                    i += n
                    break
            else:
                i += 1
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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class GazetteerEntityExtractor(GraphComponent, EntityExtractorMixin):
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
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        gazetteer: dict[str, dict[str, str]] | None = None,
        ambiguous: frozenset[str] = frozenset(),
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.gazetteer = gazetteer or {}
        self.ambiguous = ambiguous

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GazetteerEntityExtractor:
        return cls(config, model_storage, resource)

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
        for entity in self._config["entities"]:
            if entity not in self.gazetteer:
                logger.warning("No lookup table named '%s' in the training data.", entity)
        with self._model_storage.write_to(self._resource) as directory:
            payload = {"gazetteer": self.gazetteer, "ambiguous": sorted(self.ambiguous)}
            (directory / GAZETTEER_FILE).write_text(json.dumps(payload), encoding="utf-8")
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
        try:
            with model_storage.read_from(resource) as directory:
                payload = json.loads((directory / GAZETTEER_FILE).read_text(encoding="utf-8"))
        except ValueError:
            logger.warning("No trained gazetteer found; entities will not be extracted.")
            return cls(config, model_storage, resource)
        return cls(
            config,
            model_storage,
            resource,
            payload["gazetteer"],
            frozenset(payload["ambiguous"]),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = find_entities(
                text, self.gazetteer, self.ambiguous, self._config["max_words"]
            )
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name(entities),
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
