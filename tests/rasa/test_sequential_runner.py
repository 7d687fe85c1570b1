"""rasa_ext/sequential_runner.py: the trained model's graphs give what dask gives.

The same loaded model parses held-out sentences and predicts the next action of every
state of the test stories twice, with Rasa's dask runner and with ours; the parse data
and the predictions must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner

from common.config import PROJECT_ROOT
from rasa_ext import sequential_runner
from rasa_ext.evaluation import load_examples
from tests.rasa.counting import Counted
from tests.rasa.story_states import loaded_agent, odd_turns, story_prefixes

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    return loaded_agent(trained_model)


def use(monkeypatch: pytest.MonkeyPatch, run) -> Counted:
    """``run`` as the runner's method for the rest of the test, its calls counted."""
    counted = Counted(run)
    monkeypatch.setattr(DaskGraphRunner, "run", lambda self, *a, **k: counted(self, *a, **k))
    return counted


async def test_parses_are_dasks(agent, monkeypatch):
    files = sorted((PROJECT_ROOT / "nlu_data/test").glob("*.yml"))
    texts = [e.text for e in load_examples(files)][::7]
    assert len(texts) > 50
    parsed = []
    for run in (sequential_runner._rasa_run, sequential_runner._run):
        counted = use(monkeypatch, run)
        processor = agent.processor
        parsed.append([await processor.parse_message(UserMessage(t)) for t in texts])
        assert counted.calls == len(texts)
    for text, expected, got in zip(texts, *parsed, strict=True):
        assert got["intent"] == expected["intent"], text
        assert got["intent_ranking"] == expected["intent_ranking"], text
        assert got["entities"] == expected["entities"], text


def test_predictions_are_dasks(agent, monkeypatch):
    trackers = story_prefixes(agent) + odd_turns(agent)
    assert len(trackers) > 200
    predicted = []
    for run in (sequential_runner._rasa_run, sequential_runner._run):
        counted = use(monkeypatch, run)
        predict = agent.processor._predict_next_with_tracker
        predicted.append([predict(t.copy()) for t in trackers])
        assert counted.calls == len(trackers)
    for tracker, expected, got in zip(trackers, *predicted, strict=True):
        where = [e.as_story_string() for e in list(tracker.events)[-4:]]
        assert got.policy_name == expected.policy_name, where
        assert got.probabilities == pytest.approx(expected.probabilities, abs=1e-6), where
        assert got.events == expected.events, where


def test_an_input_named_like_a_node_is_refused_as_rasa_does(agent):
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target
    for run in (sequential_runner._rasa_run, sequential_runner._run):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(runner, inputs={"__message__": target}, targets=[target])


def test_needs_come_before_the_node_that_needs_them():
    def node(*needs: str) -> SchemaNode:
        return SchemaNode(
            needs={f"n{i}": n for i, n in enumerate(needs)},
            uses=DaskGraphRunner,  # any class: the order reads only the needs
            constructor_name="create",
            fn="run",
            config={},
        )

    schema = GraphSchema(
        {"a": node("__input__"), "b": node("a"), "c": node("a", "b"), "d": node("c"), "x": node()}
    )
    assert sequential_runner.execution_order(schema, ["d"]) == ["a", "b", "c", "d"]
    assert sequential_runner.execution_order(schema, ["b", "x"]) == ["a", "b", "x"]
