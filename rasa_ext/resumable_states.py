"""A tracker's dialogue states computed from where the last computation stopped.

Every policy turns the tracker into dialogue states before it predicts
(``Domain.states_for_tracker_history``): a fresh tracker replays every applied event of
the session, and the state before each action is read from it. Rasa predicts two or
three actions a message, and the rules do it twice a prediction, the memoization once:
``py-spy`` on a worker under ``bench.scale``'s load showed a tenth of its CPU there,
growing with the session.

Here each tracker keeps, for each set of arguments (domain, ``omit_unset_slots``,
``ignore_rule_only_turns``, ``rule_only_data``), where the computation stopped: the
applied events it read (the objects themselves), the replaying tracker after them, the
states found among them and the loop's two variables (the last state of the
machine-learning turns' previous action, whether the turn is hidden). A later call
whose applied events start with those very objects replays only the events after them;
anything else (an undo, a rewind, a restart, events dropped from the front, another
domain) starts again from the first event, as Rasa does. The last state, the one after
every event, is computed at each call and not kept.

The states are those of Rasa's method (the same loop over the same replayed trackers).
The kept ones are handed to the callers again: Rasa's featurizer changes only the last
state of a call (a new one each time) and deletes a user's text where its intent is
there too, which a second time leaves the state as it is.
``tests/rasa/test_resumable_states.py`` compares both on the test stories.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

# Rasa's own method, as imported (for the tests' comparison).
_rasa_states_for_tracker_history = Domain.states_for_tracker_history
# Set on a tracker: its _Kept.
_KEPT = "_rasa_ext_states"


@dataclass
class _Progress:
    """Where one computation stopped, for one set of arguments."""

    domain: Domain
    rule_only_data: dict[str, Any] | None
    replayed: DialogueStateTracker
    events: list[Event] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    last_ml_action: Any = None
    turn_was_hidden: bool = False

    def resumes(self, domain: Domain, applied: list[Event]) -> bool:
        """Whether ``applied`` starts with the events read, for the same domain."""
        read = len(self.events)
        return (
            self.domain is domain
            and len(applied) >= read
            and all(a is b for a, b in zip(self.events, applied[:read], strict=True))
        )


class _Kept(dict):
    """A tracker's progresses by arguments; a copy of the tracker starts without any."""

    def __copy__(self) -> _Kept:
        return _Kept()

    def __deepcopy__(self, memo: dict) -> _Kept:
        return _Kept()


def _visit(
    domain: Domain,
    progress: _Progress,
    hide_rule_turn: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
) -> State | None:
    """The state of ``progress.replayed`` now (None for a hidden turn), the loop's
    variables moved on: the body of Rasa's loop in ``states_for_tracker_history``."""
    tracker = progress.replayed
    if ignore_rule_only_turns:
        if not progress.turn_was_hidden:
            progress.last_ml_action = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
            progress.turn_was_hidden = hide_rule_turn
        if progress.turn_was_hidden:
            return None
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, progress.rule_only_data)
        if progress.states:
            domain._substitute_rule_only_user_input(state, progress.states[-1])
        if progress.last_ml_action:
            state[PREVIOUS_ACTION] = progress.last_ml_action
    return domain._clean_state(state)


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    kept = tracker.__dict__.get(_KEPT)
    if not isinstance(kept, _Kept):
        kept = tracker.__dict__[_KEPT] = _Kept()
    # rule_only_data is read only when rule-only turns are ignored.
    rule_only = rule_only_data if ignore_rule_only_turns else None
    key = (omit_unset_slots, ignore_rule_only_turns, repr(rule_only))
    applied = tracker.applied_events()
    progress = kept.get(key)
    if progress is None or not progress.resumes(self, applied):
        progress = _Progress(self, copy.deepcopy(rule_only), tracker.init_copy())
        kept[key] = progress
    for event in applied[len(progress.events) :]:
        if isinstance(event, ActionExecuted):
            state = _visit(
                self, progress, event.hide_rule_turn, omit_unset_slots, ignore_rule_only_turns
            )
            if state is not None:
                progress.states.append(state)
        progress.replayed.update(event)
        progress.events.append(event)
    # The state after every event, from a copy of the loop's variables: not kept.
    final = _visit(self, replace(progress), False, omit_unset_slots, ignore_rule_only_turns)
    return [*progress.states, final] if final is not None else list(progress.states)


def install() -> None:
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
