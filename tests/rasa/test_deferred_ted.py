"""rasa_ext/deferred_ted.py: the trained model chooses the same actions as Rasa's.

Each prediction of the test stories (every prefix ending before a bot action) and of
pairs of intents is made twice with the same loaded model, TED computed every time
(Rasa) and TED deferred (ours); the chosen action, policy and confidences must agree,
and the deferral must have left TED uncomputed for some of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, Event
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import deferred_ted
from tests.rasa.counting import Counted
from tests.rasa.story_states import loaded_agent, odd_turns, story_prefixes

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    return loaded_agent(trained_model)


def policy_node(agent: Agent, policy: type) -> Any:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()  # type: ignore[union-attr]
    [node] = [n for n in nodes if isinstance(n._component, policy)]
    return node


def predictions(agent: Agent, trackers: list[DialogueStateTracker]) -> list[PolicyPrediction]:
    return [
        agent.processor._predict_next_with_tracker(tracker.copy())  # type: ignore[union-attr]
        for tracker in trackers
    ]


# As trained, the rules or the memoization decide every prediction of this bot (the
# rules' fallback, 0.3, beats TED where no rule applies); with the rules' fallback at
# 0.01, TED decides those.
@pytest.mark.parametrize("fallback", [None, 0.01])
def test_the_chosen_actions_are_rasas_and_ted_is_often_skipped(agent, monkeypatch, fallback):
    if fallback is not None:
        rules = policy_node(agent, RulePolicy)._component
        monkeypatch.setitem(rules.config, "core_fallback_threshold", fallback)
    trackers = story_prefixes(agent) + odd_turns(agent)
    assert len(trackers) > 200
    rasas = predictions(agent, trackers)

    computed = Counted(deferred_ted._rasa_ted_predict)
    monkeypatch.setattr(deferred_ted, "_rasa_ted_predict", computed)
    install(monkeypatch)
    # A graph node keeps the method of its class as it was when the model was loaded.
    monkeypatch.setattr(policy_node(agent, TEDPolicy), "_fn", deferred_ted._ted_predict)
    ours = predictions(agent, trackers)

    for tracker, expected, got in zip(trackers, rasas, ours, strict=True):
        where = [e.as_story_string() for e in list(tracker.events)[-4:]]
        assert got.policy_name == expected.policy_name, where
        assert got.max_confidence_index == expected.max_confidence_index, where
        assert got.probabilities == pytest.approx(expected.probabilities, abs=1e-6), where
        assert got.events == expected.events
    skipped = sum(p.max_confidence == 1.0 and p.policy_name != "TEDPolicy" for p in rasas)
    assert skipped > 100
    assert computed.calls == len(trackers) - skipped
    ted_chosen = sum(p.policy_name == "TEDPolicy" for p in rasas)
    assert ted_chosen == 0 if fallback is None else ted_chosen > 50


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """``deferred_ted.install()``, undone at the end of the test."""
    ensemble = DefaultPolicyPredictionEnsemble
    monkeypatch.setattr(
        TEDPolicy, "predict_action_probabilities", TEDPolicy.predict_action_probabilities
    )
    monkeypatch.setattr(ensemble, "_best_policy_prediction", ensemble._best_policy_prediction)
    deferred_ted.install()


@pytest.fixture
def installed(monkeypatch):
    install(monkeypatch)


def prediction(name: str, priority: int, best: float, **flags: Any) -> PolicyPrediction:
    return PolicyPrediction([best, 1.0 - best], name, priority, **flags)


def deferred(best: float) -> tuple[deferred_ted.DeferredPrediction, list[int]]:
    calls: list[int] = []

    def compute() -> PolicyPrediction:
        calls.append(1)
        return prediction("TEDPolicy", 1, best)

    return deferred_ted.DeferredPrediction(compute, "TEDPolicy", 1), calls


def choose(predictions: list[PolicyPrediction], events: list[Event] | None = None):
    tracker = DialogueStateTracker.from_events("t", events or [ActionExecuted(ACTION_LISTEN_NAME)])
    return DefaultPolicyPredictionEnsemble._best_policy_prediction(
        predictions, tracker, Domain.empty()
    )


def test_a_certain_rule_wins_without_computing_ted(installed):
    ted, calls = deferred(0.99)
    best = choose([prediction("RulePolicy", 6, 1.0), ted])
    assert (best.policy_name, calls) == ("RulePolicy", [])


@pytest.mark.parametrize("best", [0.3, 0.99])
def test_an_uncertain_rule_computes_ted_and_the_higher_confidence_wins(installed, best):
    ted, calls = deferred(0.9)
    chosen = choose([prediction("RulePolicy", 6, best), ted])
    assert calls == [1]
    assert chosen.policy_name == ("TEDPolicy" if best < 0.9 else "RulePolicy")


def test_a_certain_policy_of_lower_priority_does_not_skip_ted(installed):
    ted, calls = deferred(1.0)
    chosen = choose([prediction("LowPolicy", 0, 1.0), ted])
    assert (chosen.policy_name, calls) == ("TEDPolicy", [1])


def test_after_a_rejected_action_ted_is_computed(installed):
    ted, calls = deferred(0.9)
    events = [ActionExecuted(ACTION_LISTEN_NAME), ActionExecutionRejected(ACTION_LISTEN_NAME)]
    choose([prediction("RulePolicy", 6, 1.0), ted], events)
    assert calls == [1]


def test_any_read_of_its_confidences_computes_it():
    ted, calls = deferred(0.8)
    assert ted.max_confidence == 0.8
    assert ted.probabilities == [0.8, pytest.approx(0.2)]
    assert calls == [1]
