"""The trained bot loaded for comparing predictions, and dialogue states to compare them
on: every prefix of the test stories, and turns that no rule or story covers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.core.test import _create_data_generator
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.tensorflow.models import RasaModel

from common.config import PROJECT_ROOT
from rasa_ext import deferred_diet, speedups


def story_prefixes(agent: Agent) -> list[DialogueStateTracker]:
    """Every state of the test stories at which the bot predicts an action."""
    prefixes = []
    for path in sorted((PROJECT_ROOT / "tests/stories").glob("*.yml")):
        trackers = _create_data_generator(str(path), agent).generate_story_trackers()
        for story in trackers:
            events = list(story.events)
            for end, event in enumerate(events):
                if isinstance(event, ActionExecuted) and end > 0:
                    prefixes.append(
                        DialogueStateTracker.from_events(
                            story.sender_id, events[:end], agent.domain.slots
                        )
                    )
    return prefixes


def odd_turns(agent: Agent) -> list[DialogueStateTracker]:
    """An intent, then an action that no rule or story has after it: TED may decide."""
    intents = [i for i in agent.domain.intents if not i.startswith("nlu_")][:30]
    actions = [a for a in agent.domain.user_actions if a.startswith("utter_")][::3]
    trackers = []
    for index, intent in enumerate(intents):
        for action in actions[index % 3 :: 3]:
            events: list[Event] = [
                ActionExecuted(ACTION_LISTEN_NAME),
                UserUttered(intent, {"name": intent, "confidence": 1.0}),
                ActionExecuted(action),
            ]
            trackers.append(DialogueStateTracker.from_events("odd", events, agent.domain.slots))
    return trackers


def loaded_agent(
    model: Path, instantiate_nodes: Callable[..., Any] = deferred_diet._rasa_instantiate_nodes
) -> Agent:
    """The trained model, loaded with the project's restore-on-create (rasa_ext.speedups)
    and its graph nodes made by ``instantiate_nodes`` (Rasa's own by default: DIET asked
    for every message, whatever ``rasa_ext.speedups.install`` did in this process)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RasaModel, "load", classmethod(speedups._load_model))
        use_graph_nodes(patch, instantiate_nodes)
        return Agent.load(str(model))


def use_graph_nodes(
    patch: pytest.MonkeyPatch,
    instantiate_nodes: Callable[..., Any] = deferred_diet._rasa_instantiate_nodes,
) -> None:
    """Graph nodes made by ``instantiate_nodes`` while ``patch`` holds (Rasa's own by
    default, whether or not ``rasa_ext.deferred_diet`` is installed)."""
    patch.setattr(DaskGraphRunner, "_instantiate_nodes", staticmethod(instantiate_nodes))


def assert_same_ranking(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Two parses rank the same intents in the same order, with the same confidences."""
    assert [i["name"] for i in got["intent_ranking"]] == [
        i["name"] for i in expected["intent_ranking"]
    ]
    np.testing.assert_allclose(
        [i["confidence"] for i in got["intent_ranking"]],
        [i["confidence"] for i in expected["intent_ranking"]],
        atol=1e-6,
    )
