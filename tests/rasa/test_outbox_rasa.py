"""The Rasa side of the outbox and the workers: the launcher's lock store and workers,
the tracker store's session roll (rasa_ext/serve.py, rasa_ext/tracker_store.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from common.config import PROJECT_ROOT, ConfigError
from rasa_ext.serve import LOCK_PASSWORD_VARIABLE, endpoints_file, lock_store, workers
from rasa_ext.tracker_store import rest_messages, rolled_events

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  commune:
    type: text
    mappings: [{type: custom}]
"""
)


def test_redis_url_becomes_rasas_lock_store_without_the_password_in_the_file(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv(LOCK_PASSWORD_VARIABLE, raising=False)
    written = endpoints_file(
        str(PROJECT_ROOT / "bot" / "endpoints.yml"), "redis://:s3cret@127.0.0.1:6390/2"
    )
    content = yaml.safe_load(Path(written).read_text())
    assert content["lock_store"] == {
        "type": "redis",
        "url": "127.0.0.1",
        "port": 6390,
        "db": 2,
        "key_prefix": "assistant",
        "password": "${" + LOCK_PASSWORD_VARIABLE + "}",
    }
    assert content["tracker_store"]["type"] == "rasa_ext.tracker_store.UrlSQLTrackerStore"
    assert "s3cret" not in Path(written).read_text()
    assert os.environ[LOCK_PASSWORD_VARIABLE] == "s3cret"
    assert endpoints_file("bot/endpoints.yml", "") == "bot/endpoints.yml"  # no Redis


def test_a_wrong_redis_url_is_refused_with_its_name():
    with pytest.raises(ConfigError, match="REDIS_URL"):
        lock_store("http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        lock_store("redis://127.0.0.1:6379/zero")


def test_workers_default_to_one_per_core(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RASA_WORKERS", raising=False)
    assert workers() == (os.cpu_count() or 1)
    monkeypatch.setenv("RASA_WORKERS", "3")
    assert workers() == 3


def turns(count: int) -> DialogueStateTracker:
    tracker = DialogueStateTracker("s", DOMAIN.slots)
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(SlotSet("commune", "Brest"))
    for _ in range(count):
        tracker.update(UserUttered("bonjour", {"name": "greet"}))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def test_a_long_session_is_rolled_at_the_end_of_a_turn_with_its_slots():
    assert rolled_events(turns(19), 20) == []
    rolled = rolled_events(turns(20), 20)
    assert isinstance(rolled[0], SessionStarted)
    assert [(e.key, e.value) for e in rolled if isinstance(e, SlotSet)] == [("commune", "Brest")]
    assert isinstance(rolled[-1], ActionExecuted) and rolled[-1].action_name == "action_listen"
    assert rolled_events(turns(20), 0) == []  # TRACKER_SESSION_TURNS=0: never
    tracker = turns(20)
    tracker.update(UserUttered("bonjour", {"name": "greet"}))  # mid-turn: not now
    assert rolled_events(tracker, 20) == []


def test_stored_bot_events_are_given_back_as_the_rest_channel_gives_them():
    event = {"text": "Choisissez", "data": {"buttons": [{"title": "A", "payload": "/a"}]}}
    assert rest_messages("s", event) == [
        {"recipient_id": "s", "text": "Choisissez", "buttons": [{"title": "A", "payload": "/a"}]}
    ]
    assert rest_messages("s", {"text": None, "data": {"custom": {"handoff": {}}}}) == [
        {"recipient_id": "s", "custom": {"handoff": {}}}
    ]
