"""rasa_ext/resumable_states.py: the dialogue states of Rasa's method, replayed once.

The test stories are played event by event into one tracker each, as a worker's tracker
grows; at every action (and after the last event) the states are computed with the
arguments the policies use, by Rasa's method and by ours, on that same tracker. Some
turns are hidden as the rules hide theirs, and undos, rewinds and restarts come after
some turns. Then the trained policies predict on the growing trackers, with and without
ours: the same predictions.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.test import _create_data_generator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from common.config import PROJECT_ROOT
from rasa_ext import resumable_states
from tests.rasa.counting import Counted
from tests.rasa.story_states import loaded_agent

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    return loaded_agent(trained_model)


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.setattr(
        Domain, "states_for_tracker_history", resumable_states._rasa_states_for_tracker_history
    )
    resumable_states.install()


def rule_only_data(agent: Agent) -> dict[str, Any]:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()  # type: ignore[union-attr]
    [rules] = [n._component for n in nodes if isinstance(n._component, RulePolicy)]
    data = rules._get_rule_only_data()
    assert data.get("rule_only_slots") or data.get("rule_only_loops")
    return data


def stories(agent: Agent) -> list[list[Event]]:
    """The events of every test story, every second bot action hidden as a rule's."""
    out = []
    for path in sorted((PROJECT_ROOT / "tests/stories").glob("*.yml")):
        for story in _create_data_generator(str(path), agent).generate_story_trackers():
            events, bot_actions = [], 0
            for event in story.events:
                if isinstance(event, ActionExecuted) and event.action_name != "action_listen":
                    bot_actions += 1
                    event = copy.copy(event)
                    event.hide_rule_turn = bot_actions % 2 == 0
                events.append(event)
            out.append(events)
    return out


def played(agent: Agent, events: list[Event]) -> Iterator[DialogueStateTracker]:
    """One tracker, given before each action and after the last event; undos, rewinds
    and restarts after some of the turns."""
    tracker = DialogueStateTracker("resume", agent.domain.slots)
    for index, event in enumerate(events):
        if isinstance(event, ActionExecuted):
            yield tracker
        tracker.update(event)
        if isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            if index % 7 == 3:
                tracker.update(UserUtteranceReverted())
                yield tracker
            elif index % 7 == 5:
                tracker.update(ActionReverted())
                yield tracker
            elif index % 11 == 9:
                tracker.update(Restarted())
                yield tracker
    yield tracker


def test_the_states_are_rasas_and_each_event_is_replayed_once(agent, installed, monkeypatch):
    domain, rule_only = agent.domain, rule_only_data(agent)
    arguments = [  # the rules', the memoization's and TED's, the training's
        {"ignore_rule_only_turns": False, "rule_only_data": rule_only},
        {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
        {"omit_unset_slots": True},
    ]
    copies = Counted(DialogueStateTracker.init_copy)
    monkeypatch.setattr(DialogueStateTracker, "init_copy", lambda self: copies(self))
    compared = started = hidden = rewound = 0
    for events in stories(agent):
        for tracker in played(agent, events):
            for kwargs in arguments:
                copies.calls = 0
                got = domain.states_for_tracker_history(tracker, **kwargs)
                ours = copies.calls
                expected = resumable_states._rasa_states_for_tracker_history(
                    domain, tracker, **kwargs
                )
                assert got == expected, [e.as_story_string() for e in tracker.events][-6:]
                assert ours <= 1  # Rasa's: one at every call
                compared += 1
                started += ours
            hidden += any(getattr(e, "hide_rule_turn", False) for e in tracker.events)
            rewound += bool(tracker.events) and isinstance(
                tracker.events[-1], UserUtteranceReverted | Restarted
            )
    assert compared > 500 and hidden > 50 and rewound > 20
    assert started < compared / 3  # resumed at the other calls


def test_growing_states_are_replayed_from_where_they_stopped(agent, installed, monkeypatch):
    tracker = DialogueStateTracker("resume", agent.domain.slots)
    replays = Counted(DialogueStateTracker.update)

    def update(self: DialogueStateTracker, event: Event, domain: Domain | None = None) -> None:
        (replays if self is not tracker else replays.function)(self, event, domain)

    # Without a form: a form's every step undoes the events since its previous step
    # (Rasa's applied_events), and the states are then computed from the start.
    events = max(
        (s for s in stories(agent) if not any(isinstance(e, ActiveLoop) for e in s)), key=len
    )
    assert len(events) > 10
    monkeypatch.setattr(DialogueStateTracker, "update", update)
    for event in events:
        tracker.update(event)
        agent.domain.states_for_tracker_history(tracker)
    assert replays.calls == len(events)  # each event replayed once; Rasa: 1 + 2 + ... + n
    fresh = copy.deepcopy(tracker)
    assert resumable_states._KEPT not in vars(tracker.copy())
    assert not vars(fresh)[resumable_states._KEPT]
    assert agent.domain.states_for_tracker_history(fresh) == (
        resumable_states._rasa_states_for_tracker_history(agent.domain, tracker)
    )


def test_the_policies_predict_the_same_on_growing_trackers(agent, monkeypatch):
    def predict_all() -> list[Any]:
        out = []
        for events in stories(agent):
            for tracker in played(agent, events):
                prediction = agent.processor._predict_next_with_tracker(tracker)  # type: ignore[union-attr]
                out.append((prediction.policy_name, prediction.probabilities, prediction.events))
        return out

    monkeypatch.setattr(
        Domain, "states_for_tracker_history", resumable_states._rasa_states_for_tracker_history
    )
    rasas = predict_all()
    resumable_states.install()
    ours = predict_all()
    assert len(ours) > 200
    for (name, probabilities, events), expected in zip(ours, rasas, strict=True):
        assert name == expected[0]
        assert probabilities == pytest.approx(expected[1], abs=1e-6)
        assert events == expected[2]
