"""A second intent classifier, linear on TF-IDF n-grams, averaged with DIET's ranking.

DIET, trained for a few minutes on a few thousand short examples, is sure of itself on
what it has seen and erratic on long or oddly spelt messages; a logistic regression on
TF-IDF character n-grams (within word boundaries) and word uni- and bigrams of the
folded text (no accents, no case) is steadier there, and trains in seconds. This
component, placed right after DIET and before the FallbackClassifier, replaces the
intent and its ranking by the weighted mean of both probabilities
(``diet_weight`` × DIET + (1 − ``diet_weight``) × linear), so that the fallback
threshold applies to the combined confidence. Weight and regularisation were chosen on
a dev fold of the training data (``python -m bench.nlu --dev 5``), never on a held-out set.

In the prediction graphs the workers load, DIET's own prediction is made here, and only
for the messages whose intent it can change (``rasa_ext.deferred_diet``, ``decided``).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.text import fold
from rasa_ext.storage import StoredComponent

MODEL_FILE = "linear_intent.pkl"
RANKING_LENGTH = 10


def build_classifier(config: dict[str, Any]) -> Any:
    """The TF-IDF + logistic regression pipeline (scikit-learn, Rasa's own dependency)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(config["min_ngram"], config["max_ngram"]),
            preprocessor=fold,
            sublinear_tf=True,
        ),
        TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            preprocessor=fold,
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
        ),
    )
    return make_pipeline(features, LogisticRegression(C=config["C"], max_iter=5000))


class Scorer:
    """The fitted pipeline's ``predict_proba`` for one text, computed from its fitted
    parts: each vectorizer's analyzer, vocabulary and idf, then the regression's weights
    and softmax. scikit-learn's own call (one text a message) spent most of its time in
    checks: ``TfidfTransformer.transform`` sums the 27,000-entry idf diagonal to test
    that ``idf_`` exists, ``FeatureUnion`` goes through joblib, scipy builds sparse
    matrices for one row. The same arithmetic (counts, ``1 + log`` when sublinear, × idf,
    l2 norm, weights, softmax); ``tests/rasa/test_nlu_ensemble.py`` compares both."""

    def __init__(self, classifier: Any) -> None:
        union, regression = classifier[0], classifier[-1]
        self.classes = list(regression.classes_)
        self._parts = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            tfidf = vectorizer._tfidf
            idf = tfidf.idf_ if tfidf.use_idf else None  # computed once here
            analyzer, vocabulary = vectorizer.build_analyzer(), vectorizer.vocabulary_
            self._parts.append((analyzer, vocabulary, offset, idf, tfidf.sublinear_tf, tfidf.norm))
            offset += len(vectorizer.vocabulary_)
        # Column-major: the columns of a message's n-grams are contiguous to gather.
        self._weights = np.asfortranarray(regression.coef_)
        self._intercept = regression.intercept_
        multinomial = regression.multi_class == "multinomial" or (
            regression.multi_class == "auto"
            and len(self.classes) > 2
            and regression.solver != "liblinear"
        )
        plain = all(
            not v.binary and v._tfidf.norm in ("l2", None) for _, v in union.transformer_list
        )
        # Another pipeline (a binary or one-vs-rest regression, another norm): its own call.
        self._pipeline = None if multinomial and plain else classifier

    def probabilities(self, text: str) -> np.ndarray:
        if self._pipeline is not None:
            return self._pipeline.predict_proba([text])[0]
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for analyzer, vocabulary, offset, idf, sublinear, norm in self._parts:
            counts: dict[int, int] = {}
            for term in analyzer(text):
                column = vocabulary.get(term)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            index = np.fromiter(counts, dtype=np.int64, count=len(counts))
            value = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if sublinear:
                value = np.log(value) + 1
            if idf is not None:
                value *= idf[index]
            if norm == "l2":
                length = np.sqrt(np.dot(value, value))
                if length > 0:
                    value /= length
            columns.append(index + offset)
            values.append(value)
        decision = self._intercept.copy()
        if columns:
            index, value = np.concatenate(columns), np.concatenate(values)
            decision += self._weights[:, index] @ value
        decision -= decision.max()
        exp = np.exp(decision)
        return exp / exp.sum()


def decided(
    probabilities: np.ndarray, diet_weight: float, threshold: float, ambiguity: float
) -> bool:
    """Whether the linear probabilities settle the blend whatever DIET's ranking: its
    best intent, and the fallback's decisions on it (confidence under ``threshold``, the
    two best within ``ambiguity``). DIET's share moves two intents' scores apart by
    ``diet_weight`` at most, and the best one's down to ``(1 − diet_weight)`` × linear."""
    if diet_weight >= 1 or len(probabilities) < 2:
        return False
    second, first = np.partition(probabilities, -2)[-2:]
    lead = (1 - diet_weight) * (first - second) - diet_weight
    return lead > 0 and lead >= ambiguity and (1 - diet_weight) * first >= threshold


def blend(
    diet_ranking: list[dict[str, Any]], linear: dict[str, float], diet_weight: float
) -> list[dict[str, Any]]:
    """The weighted mean of both rankings, best first (intents DIET left out count 0)."""
    diet = {r[INTENT_NAME_KEY]: float(r.get("confidence") or 0.0) for r in diet_ranking}
    scores = {
        name: diet_weight * diet.get(name, 0.0) + (1 - diet_weight) * linear.get(name, 0.0)
        for name in set(diet) | set(linear)
    }
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [{INTENT_NAME_KEY: n, "confidence": s} for n, s in ranked[:RANKING_LENGTH]]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentEnsemble(StoredComponent):
    """Averages DIET's intent ranking with a TF-IDF logistic regression's."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"diet_weight": 0.4, "C": 30.0, "min_ngram": 1, "max_ngram": 5}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.classifier = classifier
        self.scorer = Scorer(classifier) if classifier is not None else None
        self._diet: Any = None  # the DIET whose prediction is made here (take_over)
        self._featurizers: list[Any] = []  # the featurizers run here before it
        self._fallback = (0.0, 0.0)  # the fallback's threshold and ambiguity threshold

    def take_over(
        self, diet: Any, threshold: float, ambiguity: float, featurizers: Sequence[Any] = ()
    ) -> bool:
        """Make ``diet``'s prediction here, after ``featurizers`` in their order, for the
        messages whose intent or fallback it can change (``decided``), given the fallback
        classifier's thresholds that follow. False when this ensemble was never trained:
        DIET's ranking then stays as it is."""
        if self.scorer is None:
            return False
        self._diet, self._fallback = diet, (threshold, ambiguity)
        self._featurizers = list(featurizers)
        return True

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        if len({m.get(INTENT) for m in examples}) >= 2:
            self.classifier = build_classifier(self._config)
            self.classifier.fit([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])
            with self._model_storage.write_to(self._resource) as directory:
                (directory / MODEL_FILE).write_bytes(pickle.dumps(self.classifier))
            self.scorer = Scorer(self.classifier)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentEnsemble:
        try:
            with model_storage.read_from(resource) as directory:
                classifier = pickle.loads((directory / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            classifier = None  # never trained into this model: DIET's ranking stays
        return cls(config, model_storage, resource, classifier)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.scorer is None:
            return messages
        weight = self._config["diet_weight"]
        for message in messages:
            text = message.get(TEXT)
            probabilities = self.scorer.probabilities(text) if text else None
            # Settled: DIET, deferred to here, is not asked; the ranking is the linear one.
            settled = (
                self._diet is not None
                and probabilities is not None
                and decided(probabilities, weight, *self._fallback)
            )
            if self._diet is not None and not settled:
                for featurizer in self._featurizers:
                    type(featurizer).process(featurizer, [message])
                type(self._diet).process(self._diet, [message])
            if probabilities is None:
                continue
            linear = dict(zip(self.scorer.classes, map(float, probabilities), strict=True))
            diet_ranking = [] if settled else message.get(INTENT_RANKING_KEY) or []
            ranking = blend(diet_ranking, linear, 0.0 if settled else weight)
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
