"""Who is writing: the channel identity forwarded by the gateway, looked up in the agent directory.

The gateway sends, with each message, ``metadata = {"channel": "web"|"telegram"|"matrix",
"user_id": "<verified id>", "role": ..., "locale": "fr"}``. The directory table (seeded
from ``data/agents.yml``) is authoritative for booking rights.

On the web only a signed-in account is an identity: the gateway then sends
``role: "agent"`` and the account's login; an anonymous visitor's messages carry no
``user_id`` at all. The latest message decides: an anonymous message is never an agent,
whatever earlier messages of the conversation carried.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

CHANNELS = frozenset({"web", "telegram", "matrix"})


def _from_gateway(metadata: Any) -> bool:
    return isinstance(metadata, dict) and "channel" in metadata


def _identity(metadata: Any) -> tuple[str, str] | None:
    if not isinstance(metadata, dict):
        return None
    channel, user_id = metadata.get("channel"), metadata.get("user_id")
    if channel not in CHANNELS or user_id in (None, "") or isinstance(user_id, dict | list):
        return None
    if channel == "web" and metadata.get("role") != "agent":
        return None  # an anonymous web visitor, whatever id it came with
    return str(channel), str(user_id)


def _sender_channel(tracker: Tracker) -> str | None:
    """The channel named by the Rasa sender id (``web:…``, ``telegram:…``), if any."""
    prefix = str(tracker.sender_id or "").split(":", 1)[0]
    return prefix if prefix in CHANNELS else None


def channel_identity(tracker: Tracker) -> tuple[str, str] | None:
    """``(channel, user_id)`` of the latest message.

    Only when the latest message carries no gateway metadata at all (an action run
    outside a message) does the latest earlier event that carries some decide, and then
    it alone: an event without identity is never skipped to reach an older one.
    """
    latest = (tracker.latest_message or {}).get("metadata")
    found: tuple[str, str] | None = None
    if _from_gateway(latest):
        found = _identity(latest)
    else:
        for event in reversed(tracker.events or []):
            if event.get("event") in {"user", "session_started"} and _from_gateway(
                event.get("metadata")
            ):
                found = _identity(event.get("metadata"))
                break
    sender_channel = _sender_channel(tracker)
    if found is not None and sender_channel is not None and found[0] != sender_channel:
        return None  # a web conversation never carries a Telegram identity, and so on
    return found
