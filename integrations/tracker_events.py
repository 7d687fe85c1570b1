"""Deleting Rasa's tracker events, which share the gateway's database (retention, erasure).

Rasa's SQL tracker store keeps every event in its ``events`` table (``sender_id`` is the
conversation key, ``timestamp`` seconds since the epoch). The gateway deletes from it
the same personal data it deletes from its own record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, delete, inspect, table
from sqlalchemy.engine import Engine

EVENTS = table("events", column("sender_id"), column("timestamp"))


def delete_tracker_events(
    engine: Engine, *, sender_id: str | None = None, before: datetime | None = None
) -> int:
    """Delete the events of ``sender_id`` and/or older than ``before``; how many went.

    Nothing to do (0) while Rasa has not created its table yet.
    """
    if sender_id is None and before is None:
        raise ValueError("refusing to delete every tracker event")
    if not inspect(engine).has_table("events"):
        return 0
    statement = delete(EVENTS)
    if sender_id is not None:
        statement = statement.where(EVENTS.c.sender_id == sender_id)
    if before is not None:
        statement = statement.where(EVENTS.c.timestamp < before.timestamp())
    with engine.begin() as connection:
        return connection.execute(statement).rowcount
