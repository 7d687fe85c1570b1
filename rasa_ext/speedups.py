"""Costs of Rasa 3.6 that profiles of our workers showed, removed.

``py-spy`` on two workers under ``bench.scale``'s load (20 conversations):

- 10 % of their CPU in ``RemoteAction._validate_action_result``: ``jsonschema.validate``
  checks the *schema* against its meta-schema before checking the action server's
  answer, at every custom action; then each event is tried against the 23 alternatives
  of the event schema's ``oneOf`` (6 % more, once the first cost was gone). Here the
  schema is checked once, and each event against the one alternative of its name; an
  answer that fails that (or is not the usual shape) goes through the whole schema and
  is refused exactly as before (the same ``ValidationError``, the same message).
- Half of the time of loading a tracker in ``Event.resolve_by_type``: it walks every
  subclass of ``Event`` (``all_subclasses``, recursive, ``inspect.isabstract`` on each)
  for every stored event. Here the walk is made once and its answer kept by type name;
  a name it does not know walks again (an event class imported since), then Rasa's own
  answer (its default, ``None`` for the old ``topic``, or its ``ValueError``).
- Two thirds of loading a model (27 s of 40 s for DIET and TED together, at every
  worker start, model activation and evaluation) in ``RasaModel.load``: it *trains one
  step* on an example, only to create the weights, then overwrites them with the saved
  ones — tracing TensorFlow's whole training graph. Here the saved weights are
  restored as the prediction graph creates them (TensorFlow's restore-on-create), and a
  weight that the checkpoint does not hold is an error, after which Rasa's own load
  runs. Fine-tuning (``rasa train --finetune``) and a model without a prediction
  example keep Rasa's load.
- A quarter of a worker's CPU in TED, whose predictions mostly lose to the rules':
  ``rasa_ext.deferred_ted`` computes TED's prediction only when it can win.
- 4 % in ``EndpointConfig.request``, which opens a client session, hence a new
  connection, for every call to the action server: here each endpoint keeps one
  session per event loop, its connections kept alive 2 s (under the 5 s after which the
  action server's Sanic closes an idle one, so a connection is never reused as the
  server closes it).
- A fifth in DIET, whose ranking seldom changes the ensemble's intent:
  ``rasa_ext.deferred_diet`` asks DIET only for the messages where it can.
- 7.5 % in dask's scheduling of the graphs (three runs a message at least):
  ``rasa_ext.sequential_runner`` calls the nodes in an order computed once.
- A tenth in the policies' dialogue states, replayed from the session's first event
  three times a prediction: ``rasa_ext.resumable_states`` replays each event once.
- 9 % in ``RulePolicy._get_possible_keys``, which checks every rule against the latest
  state, though a rule whose last state names a previous action can only match a state
  with that previous action: here the rules are indexed by that name once, and only the
  rules of the state's previous action, and those naming none, are checked (by Rasa's
  own check, as the earlier states after them; the same rules are returned).

Installed by ``rasa_ext.serve`` in every worker, before Rasa starts, and by
``rasa_ext.evaluation``. It replaces ten methods of Rasa's pinned version
(``requirements/rasa.txt``); ``tests/rasa/test_speedups.py`` and
``tests/rasa/test_model_load.py`` check they keep Rasa's behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from functools import cache
from typing import Any

import aiohttp
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.events import Event
from rasa.shared.nlu.constants import ACTION_NAME
from rasa.shared.utils.common import all_subclasses
from rasa.shared.utils.schemas.events import EVENT_SCHEMA
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

from rasa_ext import deferred_diet, deferred_ted, resumable_states, sequential_runner

log = logging.getLogger(__name__)

# Rasa's own methods, as imported (for the tests' comparison and the fallback).
_rasa_validate_action_result = RemoteAction._validate_action_result
_rasa_resolve_by_type = Event.resolve_by_type
_rasa_model_load = RasaModel.load.__func__  # type: ignore[attr-defined]
_rasa_endpoint_session = EndpointConfig.session
_rasa_get_possible_keys = RulePolicy._get_possible_keys
_event_classes: dict[str, type[Event]] = {}
# Under the 5 s of Sanic's KEEP_ALIVE_TIMEOUT (the action server's).
KEEPALIVE_S = 2.0


@cache
def _action_result_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@cache
def _event_validators() -> dict[str, Any]:
    """One validator per event name: the event schema with only the alternative of its
    ``oneOf`` whose ``event`` constant is that name. The alternatives differ by that
    constant alone, and ``event`` is required, so an event is valid for Rasa's schema
    exactly when it is valid for its name's schema."""
    validator_class = type(_action_result_validator())
    base = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    validators = {}
    for alternative in EVENT_SCHEMA["oneOf"]:
        name = alternative["properties"]["event"]["const"]
        validators[name] = validator_class({**base, "allOf": [alternative]})
    return validators


def _surely_valid(result: Any) -> bool:
    """True only when ``result`` is valid for Rasa's schema of an action server's answer
    (an object; ``events`` an array of events; ``responses`` an array of objects), each
    event checked against its own name's schema instead of trying all 23; False when in
    doubt (then the whole schema decides, and gives Rasa's error)."""
    if not isinstance(result, dict):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if not isinstance(events, list) or not isinstance(responses, list):
        return False
    if not all(isinstance(response, dict) for response in responses):
        return False
    validators = _event_validators()
    for event in events:
        name = event.get("event") if isinstance(event, dict) else None
        validator = validators.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if _surely_valid(result):
        return True
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


def _load_model(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    if not finetune_mode and predict_data_example is not None:  # else: the optimizer's state
        model = cls(*args, **kwargs)
        status = model.load_weights(model_file_name)  # restored when each weight is created
        model.run_inference(predict_data_example)  # creates them, as Rasa's load does after
        try:
            # Every weight the prediction created was in the checkpoint; the training-only
            # ones (optimizer, losses) are not created, hence not checked.
            status.assert_existing_objects_matched()
        except AssertionError as err:
            log.warning("%s: weights not restored (%s); Rasa's own load", cls.__name__, err)
        else:
            status.expect_partial()  # no warning at exit for the training-only values
            return model
    return _rasa_model_load(
        cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
        *args, **kwargs,
    )  # fmt: skip


class _KeptSession:
    """``async with`` on a client session that outlives the block."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc: object) -> None:
        return None


def _endpoint_session(self: EndpointConfig) -> Any:
    """The endpoint's session of the running loop, made as Rasa makes it (headers, basic
    auth, timeout) with a connector that keeps connections; Rasa's own outside a loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _rasa_endpoint_session(self)
    kept: weakref.WeakKeyDictionary = self.__dict__.setdefault(
        "_kept_sessions", weakref.WeakKeyDictionary()
    )
    session = kept.get(loop)
    if session is None or session.closed:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
        )
        kept[loop] = session
    return _KeptSession(session)


def _rules_by_previous_action(policy: RulePolicy, lookup: dict[str, str]) -> dict[Any, set[str]]:
    """The rules of ``lookup`` by the previous action their last state names (an
    ``action_name`` to match), None for those that name none; made once per lookup."""
    kept = policy.__dict__.setdefault("_rasa_ext_rule_index", {})
    found = kept.get(id(lookup))
    if found is not None and found[0] is lookup:
        return found[1]
    index: dict[Any, set[str]] = {}
    for key in lookup:
        rule_states = policy._rule_key_to_state(key)
        previous = rule_states[-1].get(PREVIOUS_ACTION) if rule_states else None
        name = previous.get(ACTION_NAME) if previous else None
        index.setdefault(name if name and name != SHOULD_NOT_BE_SET else None, set()).add(key)
    kept[id(lookup)] = (lookup, index)
    return index


def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[Any]) -> set[str]:
    if not states:
        return _rasa_get_possible_keys(self, lookup, states)
    index = _rules_by_previous_action(self, lookup)
    previous = states[-1].get(PREVIOUS_ACTION) or {}
    # A rule naming another previous action fails Rasa's check on the latest state.
    possible_keys = index.get(None, set()) | index.get(previous.get(ACTION_NAME), set())
    for turn_index, state in enumerate(reversed(states)):
        possible_keys = {
            key for key in possible_keys if self._is_rule_applicable(key, turn_index, state)
        }
    return possible_keys


def install() -> None:
    deferred_diet.install()
    deferred_ted.install()
    resumable_states.install()
    sequential_runner.install()
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign,assignment]
    RasaModel.load = classmethod(_load_model)  # type: ignore[method-assign,assignment]
    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]
    EndpointConfig.session = _endpoint_session  # type: ignore[method-assign]
