"""Who is writing: the channel identity forwarded by the gateway, looked up in the agent directory.

The gateway sends, with each message, ``metadata = {"channel": "web"|"telegram"|"matrix",
"user_id": "<platform id>", "role": ..., "locale": "fr"}``. The ``role`` is a hint for
display only: the directory table (seeded from ``data/agents.yml``) is authoritative.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

CHANNELS = frozenset({"web", "telegram", "matrix"})


def _identity(metadata: Any) -> tuple[str, str] | None:
    if not isinstance(metadata, dict):
        return None
    channel, user_id = metadata.get("channel"), metadata.get("user_id")
    if channel not in CHANNELS or user_id in (None, ""):
        return None
    return str(channel), str(user_id)


def channel_identity(tracker: Tracker) -> tuple[str, str] | None:
    """``(channel, user_id)`` of the latest message, else of the session's earlier events."""
    found = _identity((tracker.latest_message or {}).get("metadata"))
    if found:
        return found
    for event in reversed(tracker.events or []):
        if event.get("event") in {"user", "session_started"}:
            found = _identity(event.get("metadata"))
            if found:
                return found
    return None
