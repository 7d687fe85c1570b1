"""rasa_ext/speedups.py's model load: the same predictions as Rasa's own load.

The trained model is loaded twice in this process, by Rasa's ``RasaModel.load`` (which
trains one step to create the weights) and by ours (weights restored as the prediction
creates them); DIET's intents, confidences and entities on the held-out sentences, and
TED's action probabilities on dialogues, must be the same.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.tensorflow.models import RasaModel

from common.config import PROJECT_ROOT
from rasa_ext import speedups
from rasa_ext.evaluation import load_examples
from tests.rasa.counting import Counted
from tests.rasa.story_states import assert_same_ranking, use_graph_nodes

pytestmark = pytest.mark.model

# Every third held-out sentence: each intent, short and long ones, SMS and formal.
HELD_OUT = load_examples(sorted((PROJECT_ROOT / "nlu_data/test").glob("*.yml")))
SENTENCES = [example.text for example in HELD_OUT[::3]]


def loaded(model: Path, monkeypatch: pytest.MonkeyPatch, ours: bool) -> tuple[Agent, int]:
    """The agent of ``model`` and how many times Rasa's own model load ran."""
    rasas_load = Counted(speedups._rasa_model_load)
    with monkeypatch.context() as patch:
        patch.setattr(speedups, "_rasa_model_load", rasas_load)
        loader = speedups._load_model if ours else rasas_load
        patch.setattr(RasaModel, "load", classmethod(loader))
        use_graph_nodes(patch)  # DIET asked for every message
        agent = Agent.load(str(model))
    return agent, rasas_load.calls


@pytest.fixture(scope="module")
def agents(trained_model: Path) -> tuple[Agent, Agent]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        rasas, rasa_calls = loaded(trained_model, monkeypatch, ours=False)
        ours, our_calls = loaded(trained_model, monkeypatch, ours=True)
    assert rasa_calls == 2  # DIET and TED
    assert our_calls == 0  # neither fell back to Rasa's load
    return rasas, ours


async def parses(agent: Agent) -> list[dict[str, Any]]:
    return [await agent.parse_message(text) for text in SENTENCES]


def test_diet_parses_the_held_out_sentences_as_rasas_load(agents):
    rasas, ours = (asyncio.run(parses(agent)) for agent in agents)
    assert len(rasas) > 100
    for expected, got in zip(rasas, ours, strict=True):
        assert got["intent"]["name"] == expected["intent"]["name"], got["text"]
        assert_same_ranking(got, expected)
        assert [(e["entity"], e["value"], e["extractor"]) for e in got["entities"]] == [
            (e["entity"], e["value"], e["extractor"]) for e in expected["entities"]
        ]


def ted(agent: Agent) -> TEDPolicy:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()  # type: ignore[union-attr]
    [policy] = [n._component for n in nodes if isinstance(n._component, TEDPolicy)]
    return policy


def test_ted_predicts_the_same_actions_as_rasas_load(agents):
    domain = agents[0].domain
    assert domain is not None
    intents = [i for i in domain.intents if not i.startswith("nlu_")][:25]
    assert len(intents) >= 20
    for first in intents:
        for second in intents[:5]:
            events: list[Event] = [ActionExecuted(ACTION_LISTEN_NAME)]
            for intent in (first, second):
                events += [
                    UserUttered(intent, {"name": intent, "confidence": 1.0}),
                    ActionExecuted(f"utter_{intent}"),
                    ActionExecuted(ACTION_LISTEN_NAME),
                ]
            tracker = DialogueStateTracker.from_events("ted", events[:-2], domain.slots)
            expected, got = (
                ted(agent).predict_action_probabilities(tracker, domain) for agent in agents
            )
            assert got.probabilities == pytest.approx(expected.probabilities, abs=1e-6)
            assert max(expected.probabilities) > 0
