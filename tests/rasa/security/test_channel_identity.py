"""The action server reads an agent's identity from the latest message only (issue 12).

(Split from tests/security/test_web_identity.py, which runs in the gateway's
environment: this one needs rasa_sdk and actions.)
"""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.agents import channel_identity


def _tracker(latest: dict, events: list[dict], sender: str = "web:abc") -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"intent": {"name": "list_bookings"}, "metadata": latest},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def test_an_anonymous_web_message_never_resolves_to_an_agent():
    agent = {"channel": "web", "user_id": "a.martin", "role": "agent", "locale": "fr"}
    anonymous = {"channel": "web", "role": "citizen", "locale": "fr"}
    earlier = [
        {"event": "session_started", "metadata": agent},
        {"event": "user", "text": "mes réservations", "metadata": agent},
    ]
    assert channel_identity(_tracker(agent, earlier)) == ("web", "a.martin")
    # The latest message is anonymous: earlier agent events do not count.
    assert channel_identity(_tracker(anonymous, [*earlier, {"event": "user"}])) is None
    # A web user id without the agent role (an older gateway's client-chosen sender).
    assert channel_identity(_tracker({**anonymous, "user_id": "a.martin"}, earlier)) is None
    # A web conversation never carries a Telegram identity.
    telegram = {"channel": "telegram", "user_id": "100000001", "role": "agent"}
    assert channel_identity(_tracker(telegram, [])) is None
    assert channel_identity(_tracker(telegram, [], sender="telegram:42")) == (
        "telegram",
        "100000001",
    )
