"""TED's prediction computed only when it can change the chosen action.

Rasa runs every policy at every prediction and then keeps one: the highest confidence,
ties to the higher priority (``DefaultPolicyPredictionEnsemble._pick_best_policy``).
``py-spy`` on a worker under ``bench.scale``'s load: TED was a quarter of its CPU (two
predictions a message, a TensorFlow call each), and most of its predictions lost to
the rules' or the memoization's, which predict with confidence 1.0 and a higher
priority.

Here TED's prediction is deferred: it is computed when the ensemble needs it, or when
any other code reads it. The ensemble leaves it out, uncomputed, only when it cannot
win whatever it holds:

- another policy predicted with confidence 1.0 and a higher priority (TED's softmax
  confidences are at most 1.0, and a tie goes to the higher priority), or made a
  "no user" or end-to-end prediction, which overrule TED's;
- no action was rejected just before (Rasa then zeroes the rejected action in every
  prediction, which can leave TED the best);
- TED was trained without end-to-end text (else its prediction may be an end-to-end
  one, which overrules the others), and with softmax confidences.

A TED prediction has no events, and the chosen prediction carries only its own fields:
the answer is the same as Rasa's. ``tests/rasa/test_deferred_ted.py`` compares both on
the test stories and on pairs of intents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT
from rasa.utils.tensorflow.constants import MODEL_CONFIDENCE, SOFTMAX

# Rasa's own methods, as imported (for the tests' comparison and the computation).
_rasa_ted_predict = TEDPolicy.predict_action_probabilities
_rasa_best_policy_prediction = DefaultPolicyPredictionEnsemble._best_policy_prediction


class DeferredPrediction(PolicyPrediction):
    """TED's prediction, computed at the first read of a field that depends on it."""

    def __init__(self, compute: Callable[[], PolicyPrediction], name: str, priority: int):
        # No call to PolicyPrediction.__init__: its computed fields are properties here.
        self._compute = compute
        self._computed: PolicyPrediction | None = None
        self.policy_name = name
        self.policy_priority = priority
        self.events: list[Any] = []  # TED's predictions never have mandatory events
        self.is_no_user_prediction = False
        self.is_end_to_end_prediction = False  # no end-to-end text: see deferrable()
        self.hide_rule_turn = False
        self.action_metadata = None

    def computed(self) -> PolicyPrediction:
        if self._computed is None:
            self._computed = self._compute()
        return self._computed

    @property
    def probabilities(self) -> list[float]:  # type: ignore[override]
        return self.computed().probabilities

    @property
    def optional_events(self) -> list[Any]:  # type: ignore[override]
        return self.computed().optional_events

    @property
    def diagnostic_data(self) -> dict[str, Any]:  # type: ignore[override]
        return self.computed().diagnostic_data


def deferrable(policy: TEDPolicy) -> bool:
    return (
        policy.model is not None
        and TEXT not in policy.fake_features
        and policy.config[MODEL_CONFIDENCE] == SOFTMAX
    )


def _ted_predict(
    self: TEDPolicy, tracker: DialogueStateTracker, domain: Domain, *args: Any, **kwargs: Any
) -> PolicyPrediction:
    if not deferrable(self):
        return _rasa_ted_predict(self, tracker, domain, *args, **kwargs)
    return DeferredPrediction(
        lambda: _rasa_ted_predict(self, tracker, domain, *args, **kwargs),
        self.__class__.__name__,
        self.priority,
    )


def cannot_win(deferred: DeferredPrediction, others: list[PolicyPrediction]) -> bool:
    return any(
        other.is_no_user_prediction
        or other.is_end_to_end_prediction
        or (other.max_confidence >= 1.0 and other.policy_priority > deferred.policy_priority)
        for other in others
    )


def _just_rejected(tracker: DialogueStateTracker) -> bool:
    """An action was rejected since the last one executed (Rasa's own test)."""
    for event in reversed(tracker.events):
        if isinstance(event, (ActionExecutionRejected, ActionExecuted)):
            return isinstance(event, ActionExecutionRejected)
    return False


def _best_policy_prediction(
    predictions: list[PolicyPrediction], tracker: DialogueStateTracker, domain: Domain
) -> PolicyPrediction:
    deferred = [p for p in predictions if isinstance(p, DeferredPrediction)]
    if deferred:
        others = [p for p in predictions if not isinstance(p, DeferredPrediction)]
        if not _just_rejected(tracker) and all(cannot_win(d, others) for d in deferred):
            predictions = others
        else:
            predictions = [
                p.computed() if isinstance(p, DeferredPrediction) else p for p in predictions
            ]
    return _rasa_best_policy_prediction(predictions, tracker, domain)


def install() -> None:
    TEDPolicy.predict_action_probabilities = _ted_predict  # type: ignore[method-assign]
    DefaultPolicyPredictionEnsemble._best_policy_prediction = staticmethod(  # type: ignore[method-assign]
        _best_policy_prediction
    )
