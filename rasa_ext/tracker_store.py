"""Rasa's SQL tracker store configured with one database URL, cheap to load however long
the conversation, and able to say whether a gateway message was already processed.

The gateway, the action server and Rasa share the ``DATABASE_URL`` setting;
Rasa's own SQLTrackerStore wants the URL split into dialect, host, port…

**Cost as a conversation grows.** Rasa's ``retrieve`` loads (and replays, and the policies
featurize) every event since the latest ``session_started``: a long conversation gets
slower at every message. When a turn ends (the bot listens again, no form active, not
paused) and the session holds ``TRACKER_SESSION_TURNS`` user messages or more, ``save``
appends what Rasa's ``action_session_start`` writes with carried-over slots: a
``session_started``, the current slots, an ``action_listen``. The next ``retrieve`` loads
only from there; the whole history stays in the table (``retrieve_full_tracker``, the
tracker API, the retention purge see it all).

    turn ... turn N | session_started, slot*, action_listen | turn N+1 ...
                    ^ retrieve starts here

**Processed exactly once.** The gateway gives each message an idempotency key (metadata
``message_key``). :meth:`UrlSQLTrackerStore.answers_of` finds the user event carrying
that key (across every session) and gives the bot's answers that followed it, so a
message the gateway sends again is answered from the record instead of being processed
twice (``rasa_ext/gateway_channel.py`` asks it under the conversation's lock).

SQLite (the embedded default) with several Rasa workers: the project's engine
(``common.db.make_engine``): a pool, WAL and a busy timeout, so that concurrent writers
wait instead of failing with « database is locked ».
"""

from __future__ import annotations

import json
import os
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import sessionmaker

from common.db import make_engine

MESSAGE_KEY = "message_key"
SESSION_TURNS_VARIABLE = "TRACKER_SESSION_TURNS"
DEFAULT_SESSION_TURNS = 20


def session_turns() -> int:
    """``TRACKER_SESSION_TURNS``: user messages loaded at most before a new session (0: never)."""
    raw = os.environ.get(SESSION_TURNS_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_SESSION_TURNS
    try:
        value = int(raw)
    except ValueError as err:
        raise ValueError(f"{SESSION_TURNS_VARIABLE} must be a whole number, not {raw!r}") from err
    if value < 0:
        raise ValueError(f"{SESSION_TURNS_VARIABLE} must be 0 or more")
    return value


def rolled_events(tracker: DialogueStateTracker, turns: int) -> list[Any]:
    """The events that start a new session carrying the slots over, when it is time."""
    if turns <= 0 or tracker.is_paused() or tracker.active_loop_name:
        return []
    events = list(tracker.events)
    if not events or not (
        isinstance(events[-1], ActionExecuted) and events[-1].action_name == ACTION_LISTEN_NAME
    ):
        return []
    start = next(
        (i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], SessionStarted)),
        -1,
    )
    said = sum(1 for e in events[start + 1 :] if isinstance(e, UserUttered))
    if said < turns:
        return []
    slots = [
        SlotSet(key=slot.name, value=slot.value)
        for slot in tracker.slots.values()
        if slot.value != slot.initial_value
    ]
    return [SessionStarted(), *slots, ActionExecuted(ACTION_LISTEN_NAME)]


def rest_messages(sender: str, bot_event: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored ``bot`` event as the REST channel's messages (``CollectingOutputChannel``)."""
    data = bot_event.get("data") or {}
    text = bot_event.get("text")
    out: list[dict[str, Any]] = []
    if data.get("buttons"):
        out.append({"recipient_id": sender, "text": text or "", "buttons": data["buttons"]})
    elif text:
        out.append({"recipient_id": sender, "text": text})
    for name in ("custom", "image", "attachment"):
        if data.get(name):
            out.append({"recipient_id": sender, name: data[name]})
    return out


class UrlSQLTrackerStore(SQLTrackerStore):
    """An SQLTrackerStore built from the endpoint's ``url`` (SQLite file or PostgreSQL).

    Rasa passes the endpoint's ``url`` to custom tracker stores as ``host``.
    """

    def __init__(
        self, domain: Domain | None = None, host: str | None = None, **kwargs: Any
    ) -> None:
        if not host:
            raise ValueError("tracker_store.url is required (set DATABASE_URL)")
        parsed = make_url(host)
        self.session_turns = session_turns()
        super().__init__(
            domain=domain,
            dialect=parsed.drivername,
            host=parsed.host,
            port=parsed.port,
            db=parsed.database,
            username=parsed.username,
            password=parsed.password,
            query=dict(parsed.query) or None,
            **kwargs,
        )
        if self.engine.dialect.name == "sqlite":
            # The project's SQLite engine (a pool, WAL, a busy timeout) instead of Rasa's,
            # which opens a connection at every session.
            self.engine.dispose()
            self.engine = make_engine(host, future=False)
            self.sessionmaker = sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        for rolled in rolled_events(tracker, self.session_turns):
            tracker.update(rolled)
        await super().save(tracker)

    def answers_of(self, sender: str, key: str) -> list[dict[str, Any]] | None:
        """The REST messages the bot answered to the message with idempotency ``key``, or
        None when no such message was processed."""
        pattern = f'%"{MESSAGE_KEY}": {json.dumps(key)}%'
        with self.session_scope() as session:
            user = (
                session.query(self.SQLEvent.id)
                .filter(
                    self.SQLEvent.sender_id == sender,
                    self.SQLEvent.type_name == UserUttered.type_name,
                    self.SQLEvent.data.like(pattern),
                )
                .order_by(self.SQLEvent.id)
                .first()
            )
            if user is None:
                return None
            following = (
                session.query(self.SQLEvent.type_name, self.SQLEvent.data)
                .filter(self.SQLEvent.sender_id == sender, self.SQLEvent.id > user.id)
                .order_by(self.SQLEvent.id)
                .all()
            )
        answers: list[dict[str, Any]] = []
        for type_name, data in following:
            if type_name == UserUttered.type_name:
                break
            if type_name == "bot":
                answers.extend(rest_messages(sender, json.loads(data)))
        return answers
