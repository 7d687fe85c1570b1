"""Fallback for messages made only of words the assistant has never seen ("xqzw blorp").

DIET gives such keyboard mashing a confident intent, because character n-grams always
resemble something. This component, placed after the FallbackClassifier, learns the
vocabulary of the training data (folded words, lookup entries included) and turns the
intent into ``nlu_fallback`` when no word of the message is known or close to a known
word, so the two-stage fallback asks to rephrase. Typos stay understood: "bonjoure" is
close to "bonjour". Numbers count as known words ("5", "14h").
"""

from __future__ import annotations

import difflib
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.text import tokens
from rasa_ext.override import override_intent
from rasa_ext.storage import StoredComponent, load_json, save_json

VOCABULARY_FILE = "vocabulary.json"


def is_known(word: str, vocabulary: frozenset[str], cutoff: float) -> bool:
    if word in vocabulary or any(c.isdigit() for c in word):
        return True
    return bool(difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff))


def has_no_known_word(text: str, vocabulary: frozenset[str], cutoff: float) -> bool:
    """True when ``text`` has words and none of them is known (or close to a known one)."""
    words = [w for w, _, _ in tokens(text)]
    return bool(words) and not any(is_known(w, vocabulary, cutoff) for w in words)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(StoredComponent):
    """Predicts ``nlu_fallback`` for messages without a single known word."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Similarity (difflib ratio) from which a misspelt word counts as known.
        return {"similarity_cutoff": 0.75}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.vocabulary = vocabulary

    def train(self, training_data: TrainingData) -> Resource:
        texts = [m.get(TEXT) or "" for m in training_data.training_examples]
        for table in training_data.lookup_tables:
            elements = table["elements"]
            texts += elements.splitlines() if isinstance(elements, str) else list(elements)
        texts += list(training_data.entity_synonyms) + list(training_data.entity_synonyms.values())
        self.vocabulary = frozenset(w for text in texts for w, _, _ in tokens(text))
        save_json(self._model_storage, self._resource, VOCABULARY_FILE, sorted(self.vocabulary))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        words = load_json(model_storage, resource, VOCABULARY_FILE)
        if words is None:
            raise ValueError(f"no trained vocabulary in {resource.name}: train the model again")
        return cls(config, model_storage, resource, frozenset(words))

    def process(self, messages: list[Message]) -> list[Message]:
        cutoff = self._config["similarity_cutoff"]
        for message in messages:
            text = message.get(TEXT) or ""
            intent = message.get(INTENT) or {}
            if (
                text.startswith("/")  # a button payload
                or intent.get(INTENT_NAME_KEY) == DEFAULT_NLU_FALLBACK_INTENT_NAME
                or not has_no_known_word(text, self.vocabulary, cutoff)
            ):
                continue
            override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
