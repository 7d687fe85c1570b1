"""rasa_ext/speedups.py: Rasa's behaviour kept, at a lower cost: the action server's answer
validated as Rasa validates it, stored events resolved to Rasa's classes, the rules that
apply found as Rasa finds them."""

import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.models import RasaModel

from rasa_ext import speedups
from tests.rasa.counting import Counted
from tests.rasa.story_states import loaded_agent, odd_turns, story_prefixes

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
        (EndpointConfig, "session"),
        (Domain, "states_for_tracker_history"),
        (RulePolicy, "_get_possible_keys"),
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


EVENTS = [
    SlotSet("commune", "Brest").as_dict(),
    SlotSet("places", [{"nom": "France services", "distance": 2.5}]).as_dict(),
    ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0).as_dict(),
    BotUttered("Bonjour", {"buttons": [{"title": "Oui", "payload": "/affirm"}]}).as_dict(),
    UserUttered(
        "salut", {"name": "greet", "confidence": 0.9}, [{"entity": "commune", "value": "Brest"}]
    ).as_dict(),
    FollowupAction("action_x").as_dict(),
    ActiveLoop("booking_form").as_dict(),
    AllSlotsReset().as_dict(),
    Restarted().as_dict(),
    SessionStarted().as_dict(),
    {"event": "slot", "name": "x", "value": None, "timestamp": None, "metadata": None},
]
NOT_EVENTS = [
    {"event": "slot", "value": 1},  # no name
    {"event": "slot", "name": 3, "value": 1},
    {"event": "entities"},
    {"event": "unknown_event"},
    {"event": ["slot"], "name": "x", "value": 1},
    {"name": "x", "value": 1},
    {"event": "bot", "timestamp": "yesterday"},
    {"event": "bot", "metadata": "text"},
    {"event": "user", "parse_data": "text"},
    {"event": "user", "parse_data": {"entities": [{"value": 1}]}},
    "slot",
    None,
]


@pytest.mark.parametrize("event", EVENTS + NOT_EVENTS)
def test_an_event_passes_its_names_schema_exactly_when_it_passes_rasas(methods, event):
    rasas, _ = methods
    try:
        expected = rasas({"events": [event]})
    except ValidationError:
        expected = False
    assert speedups._surely_valid({"events": [event]}) is expected
    assert expected is (event in EVENTS)


def test_a_usual_answer_is_not_validated_by_the_whole_schema(methods, monkeypatch):
    _, ours = methods
    whole = Counted(speedups._action_result_validator().iter_errors)
    monkeypatch.setattr(speedups._action_result_validator(), "iter_errors", whole)
    assert ours({"events": EVENTS, "responses": [{"text": "Bonjour"}]}) is True
    assert whole.calls == 0
    with pytest.raises(ValidationError):
        ours({"events": EVENTS + NOT_EVENTS[:1]})
    assert whole.calls == 1


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


async def serve(peers: list[int], port: int = 0) -> tuple[web.AppRunner, int]:
    """An endpoint on loopback that notes the client port of every request."""

    async def answer(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername")[1])
        return web.json_response({"n": len(peers)})

    app = web.Application()
    app.router.add_post("/webhook", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.mark.parametrize("kept", [True, False])
async def test_requests_to_an_endpoint_reuse_its_connection(monkeypatch, kept):
    if not kept:
        monkeypatch.setattr(EndpointConfig, "session", speedups._rasa_endpoint_session)
    peers: list[int] = []
    runner, port = await serve(peers)
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    try:
        answers = [await endpoint.request(json={}) for _ in range(3)]
    finally:
        await runner.cleanup()
    assert answers == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert len(set(peers)) == (1 if kept else 3)


async def test_a_kept_connection_closed_by_the_server_is_not_reused():
    peers: list[int] = []
    runner, port = await serve(peers)
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    assert await endpoint.request(json={}) == {"n": 1}
    await runner.cleanup()  # the server restarts: its connections are closed
    runner, _ = await serve(peers, port)
    try:
        assert await endpoint.request(json={}) == {"n": 2}
    finally:
        await runner.cleanup()
    assert len(set(peers)) == 2


@pytest.mark.model
def test_the_rules_left_are_rasas_at_every_state_of_the_test_stories(trained_model, monkeypatch):
    agent = loaded_agent(trained_model)
    nodes = agent.processor.graph_runner._instantiated_nodes.values()  # type: ignore[union-attr]
    [rules] = [n._component for n in nodes if isinstance(n._component, RulePolicy)]
    checks = Counted(RulePolicy._is_rule_applicable)
    monkeypatch.setattr(RulePolicy, "_is_rule_applicable", lambda *args: checks(*args))
    calls = {"ours": 0, "rasa's": 0}
    compared = 0
    prefixes = story_prefixes(agent)
    # Conversations of a few stories one after the other, as long as real ones.
    long = [
        DialogueStateTracker.from_events(
            "long", [e for t in prefixes[i : i + 40 : 8] for e in t.events], agent.domain.slots
        )
        for i in range(0, len(prefixes) - 40, 10)
    ]
    for tracker in prefixes + odd_turns(agent) + long:
        for use_text in (True, False):
            states = rules._prediction_states(
                tracker, agent.domain, use_text, rule_only_data=rules._get_rule_only_data()
            )
            for lookup in (rules.lookup["rules"], rules.lookup["rules_for_loop_unhappy_path"]):
                before = checks.calls
                ours = speedups._get_possible_keys(rules, lookup, states)
                middle = checks.calls
                assert ours == speedups._rasa_get_possible_keys(rules, lookup, states)
                calls["ours"] += middle - before
                calls["rasa's"] += checks.calls - middle
                compared += bool(ours)
    assert compared > 200  # some rules left, not only empty sets
    assert len(long) > 5 and calls["ours"] < calls["rasa's"] * 0.3  # Rasa's checks them all
