"""Rule-based components: no training, no state, and one way to override DIET's intent.

class MyRule(RuleComponent): ...   Rasa builds it with ``create`` (no configuration)
override_intent(message, "inform") the ranking stays consistent
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message


def override_intent(message: Message, name: str) -> None:
    """Make ``name`` the message's intent (confidence 1), first of the ranking."""
    intent = {INTENT_NAME_KEY: name, "confidence": 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)


class RuleComponent(GraphComponent):
    """A deterministic component: nothing to train, nothing stored, no configuration."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RuleComponent:
        return cls()
