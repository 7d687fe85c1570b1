"""Per-message costs of Rasa 3.6 that a profile of our workers showed, removed.

``py-spy`` on two workers under ``bench.scale``'s load (20 conversations):

- 10 % of their CPU in ``RemoteAction._validate_action_result``: ``jsonschema.validate``
  checks the *schema* against its meta-schema before checking the action server's
  answer, at every custom action. Here the schema is checked once and each answer is
  validated by the same validator: an invalid answer is refused exactly as before (the
  same ``ValidationError``, the same message).
- Half of the time of loading a tracker in ``Event.resolve_by_type``: it walks every
  subclass of ``Event`` (``all_subclasses``, recursive, ``inspect.isabstract`` on each)
  for every stored event. Here the walk is made once and its answer kept by type name;
  a name it does not know walks again (an event class imported since), then Rasa's own
  answer (its default, ``None`` for the old ``topic``, or its ``ValueError``).

Installed by ``rasa_ext.serve`` in every worker, before Rasa starts. It replaces one
method of Rasa's pinned version (``requirements/rasa.txt``); ``tests/rasa/test_speedups.py``
checks it keeps Rasa's behaviour.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

# Rasa's own methods, as imported (for the tests' comparison and the fallback).
_rasa_validate_action_result = RemoteAction._validate_action_result
_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


@cache
def _action_result_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = best_match(_action_result_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_classes.get(type_name)
    if found is None:
        for cls in all_subclasses(Event):
            _event_classes.setdefault(cls.type_name, cls)  # the first, as Rasa's walk
        found = _event_classes.get(type_name)
    return found or _rasa_resolve_by_type(type_name, default)


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign,assignment]
