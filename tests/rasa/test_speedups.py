"""rasa_ext/speedups.py: Rasa's behaviour kept, at a lower cost: the action server's answer
validated as Rasa validates it, stored events resolved to Rasa's classes."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.utils.common import all_subclasses
from rasa.utils.tensorflow.models import RasaModel

from rasa_ext import speedups

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "commune", "value": "Brest"}], "responses": [{}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"responses": ["a text instead of an object"]},
]


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    """The speed-ups installed for one test, Rasa's methods back afterwards."""
    for cls, name in (
        (RemoteAction, "_validate_action_result"),
        (Event, "resolve_by_type"),
        (RasaModel, "load"),
    ):
        monkeypatch.setattr(cls, name, cls.__dict__[name])
    speedups.install()


@pytest.fixture
def methods():
    """Rasa's own method and ours, on one action."""
    action = RemoteAction("action_x", None)
    assert RemoteAction._validate_action_result is not speedups._rasa_validate_action_result
    return (
        lambda result: speedups._rasa_validate_action_result(action, result)
    ), action._validate_action_result


@pytest.mark.parametrize("result", VALID)
def test_a_valid_answer_passes_both(methods, result):
    rasas, ours = methods
    assert rasas(result) is True
    assert ours(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_answer_is_refused_with_rasas_error(methods, result):
    rasas, ours = methods
    with pytest.raises(ValidationError) as expected:
        rasas(result)
    with pytest.raises(ValidationError) as got:
        ours(result)
    assert got.value.message == expected.value.message
    assert "Failed to validate Action server response" in got.value.message


@pytest.fixture
def resolvers():
    """Rasa's own event resolver and ours."""
    assert Event.resolve_by_type is not speedups._rasa_resolve_by_type
    return speedups._rasa_resolve_by_type, Event.resolve_by_type


def test_every_event_name_resolves_to_rasas_class(resolvers):
    rasas, ours = resolvers
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "session_started"} <= names
    for name in names:
        assert ours(name) is rasas(name)


def test_unknown_names_keep_rasas_answers(resolvers):
    rasas, ours = resolvers
    assert ours("nonexistent", default=UserUttered) is UserUttered
    assert ours("topic") is rasas("topic") is None
    with pytest.raises(ValueError, match="Unknown event name 'nonexistent'"):
        ours("nonexistent")


def test_an_event_class_defined_after_the_first_walk_is_found(resolvers):
    _, ours = resolvers
    assert ours("user") is UserUttered  # the first walk

    class LateEvent(UserUttered):
        type_name = "late_event_for_this_test"

    assert ours("late_event_for_this_test") is LateEvent
