"""rasa_ext/deferred_diet.py: DIET asked only where it can change the intent, and the
same intents and fallbacks as Rasa's graph on every held-out sentence."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

from common.config import PROJECT_ROOT
from rasa_ext import deferred_diet
from rasa_ext.evaluation import load_examples
from rasa_ext.linear_intent import blend, decided
from tests.rasa.counting import Counted
from tests.rasa.story_states import assert_same_ranking, loaded_agent

SENTENCES = [
    e.text
    for folder in ("nlu_data/test", "nlu_data/test_fresh")
    for e in load_examples(sorted((PROJECT_ROOT / folder).glob("*.yml")))
] + ["", "xqzw blorp", "ok", "a" * 300]


def test_a_settled_lead_keeps_the_blends_best_intent_and_fallback_whatever_diet_says():
    rng = np.random.default_rng(7)
    names = [f"intent_{i}" for i in range(12)]
    seen = {True: 0, False: 0}
    for _ in range(3000):
        linear = rng.dirichlet(np.full(len(names), rng.choice([0.05, 0.3, 1.0])))
        weight, threshold, ambiguity = rng.choice([0.2, 0.4]), rng.choice([0.2, 0.5]), 0.05
        settled = decided(linear, weight, threshold, ambiguity)
        seen[settled] += 1
        if not settled:
            continue
        # DIET's worst case: all its confidence on one rival.
        for rival in names:
            diet = [{"name": rival, "confidence": 1.0}]
            ranking = blend(diet, dict(zip(names, linear, strict=True)), weight)
            assert ranking[0]["name"] == names[int(linear.argmax())]
            assert ranking[0]["confidence"] >= threshold
            assert ranking[0]["confidence"] - ranking[1]["confidence"] >= ambiguity
    assert seen[True] > 300 and seen[False] > 300


def test_no_diet_weight_left_or_a_single_intent_is_never_settled_here():
    assert not decided(np.array([0.9, 0.1]), 1.0, 0.0, 0.0)
    assert not decided(np.array([1.0]), 0.2, 0.0, 0.0)
    assert decided(np.array([0.9, 0.1]), 0.2, 0.2, 0.0)
    assert not decided(np.array([0.5, 0.4, 0.1]), 0.2, 0.2, 0.0)


@pytest.mark.model
def test_the_intents_and_fallbacks_are_rasas_and_diet_is_seldom_asked(trained_model: Path):
    rasas = loaded_agent(trained_model)
    handed: list[list[str]] = []

    def instantiate(schema: Any, *args: Any) -> Any:
        nodes = deferred_diet._rasa_instantiate_nodes(schema, *args)
        handed.append(deferred_diet.defer(schema, nodes))
        return nodes

    ours = loaded_agent(trained_model, instantiate)
    [deferred] = [h for h in handed if h]  # the NLU graph's, not the policies'
    assert [name.rstrip("0123456789") for name in deferred] == [
        "run_LexicalSyntacticFeaturizer",
        "run_CountVectorsFeaturizer",
        "run_CountVectorsFeaturizer",
        "run_DIETClassifier",
    ]

    asked = Counted(DIETClassifier.process)
    featurized = Counted(CountVectorsFeaturizer.process)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DIETClassifier, "process", asked)
        patch.setattr(CountVectorsFeaturizer, "process", featurized)
        got = []
        for text in SENTENCES:
            before = asked.calls
            got.append((asyncio.run(ours.parse_message(text)), asked.calls > before))
    assert featurized.calls == 2 * asked.calls  # words and characters, for DIET only
    expected = [asyncio.run(rasas.parse_message(text)) for text in SENTENCES]

    for (parse, diet_asked), rasa in zip(got, expected, strict=True):
        assert parse["intent"]["name"] == rasa["intent"]["name"], parse["text"]
        if diet_asked:  # the blend itself
            assert_same_ranking(parse, rasa)
    fallbacks = sum(r["intent"]["name"] == "nlu_fallback" for r in expected)
    assert fallbacks > 0
    assert 0 < asked.calls < len(SENTENCES) / 10
