"""Channel identities from the gateway's metadata, and the agent directory data file."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.agents import channel_identity
from actions.booking_admin import load_reference_data


def tracker(metadata=None, events=None) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "t",
            "slots": {},
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "events": events or [],
            "latest_message": {
                "intent": {"name": "book_room"},
                "entities": [],
                "text": "salle",
                "metadata": metadata or {},
            },
        }
    )


def test_identity_comes_from_the_latest_message_metadata():
    metadata = {"channel": "telegram", "user_id": 100000001, "role": "agent", "locale": "fr"}
    assert channel_identity(tracker(metadata)) == ("telegram", "100000001")


def test_identity_falls_back_to_the_session_events():
    events = [
        {
            "event": "session_started",
            "metadata": {"channel": "matrix", "user_id": "@a.martin:departement.example"},
        },
        {"event": "user", "text": "bonjour", "metadata": {}},
    ]
    assert channel_identity(tracker({}, events)) == ("matrix", "@a.martin:departement.example")


def test_unknown_channels_and_missing_ids_are_no_identity():
    assert channel_identity(tracker({"channel": "sms", "user_id": "0600"})) is None
    assert channel_identity(tracker({"channel": "web", "user_id": ""})) is None
    assert channel_identity(tracker({"role": "agent"})) is None


def test_directory_sample_is_marked_and_identities_are_unique():
    _, agents = load_reference_data()
    assert "SAMPLE" in (open_data := open("data/agents.yml", encoding="utf-8").read())
    assert "Données d'exemple" in open_data
    seen = set()
    for agent in agents["agents"]:
        for channel, user_id in agent["identities"].items():
            assert channel in {"web", "telegram", "matrix"}
            assert (channel, str(user_id)) not in seen
            seen.add((channel, str(user_id)))
            if channel == "matrix":
                assert str(user_id).startswith("@") and ":" in str(user_id)
            if channel == "telegram":
                assert str(user_id).isdigit()
