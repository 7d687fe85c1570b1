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

**Not reloaded at every message.** Rasa's processor retrieves the tracker, runs the turn
and saves it: the load (a query, JSON, replaying every event) and the save's count of
the stored events were a fifth of a worker's CPU under ``bench.scale``. A worker keeps
the trackers it saved last (``RECENT_TRACKERS``, least recently used first out) with a
mark of the conversation's rows: their greatest id and their number. ``retrieve`` compares the mark
with the table (one indexed query) and gives the kept tracker back only when they
match and the tracker has no event that was not saved; anything else (another worker
or machine wrote, the gateway erased or purged rows, a turn failed half-way) reloads it
as Rasa does. A kept tracker is given to one caller at a time (it leaves the cache when
retrieved, comes back when saved). A new conversation is kept from its first save (when
the table held none of its rows). After a new session starts (Rasa's at a conversation's
first message, or ours above), a load would give the events since that session's start
only: the worker keeps a tracker replayed from those events, as the load would build it,
without the query (a reload at every conversation's second message was 5 % of a worker).
``save`` appends the events after those it loaded or saved, instead of counting the
stored ones as Rasa does (a row deleted meanwhile would make Rasa store events twice),
and computes the new mark: a write or a deletion by anyone else during the turn makes
the next ``retrieve`` reload.

SQLite (the embedded default) with several Rasa workers: the project's engine
(``common.db.make_engine``): a pool, WAL and a busy timeout, so that concurrent writers
wait instead of failing with « database is locked ».
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session, sessionmaker

from common.db import make_engine

MESSAGE_KEY = "message_key"
SESSION_TURNS_VARIABLE = "TRACKER_SESSION_TURNS"
DEFAULT_SESSION_TURNS = 20
RECENT_TRACKERS = 500  # kept per worker; a 20-turn tracker is some tens of kB
# Set on a tracker this store loaded or saved: (its events then, the rows' mark then).
_STORED = "_rasa_ext_stored"

Mark = tuple[int | None, int]  # the conversation's greatest row id, its number of rows


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


@dataclass(frozen=True)
class _Stored:
    events: int
    mark: Mark


def reloads_the_same(tracker: DialogueStateTracker) -> bool:
    """Whether loading the tracker's rows would give back these events: Rasa loads the
    events stamped at or after the latest ``session_started``."""
    starts = [e.timestamp for e in tracker.events if isinstance(e, SessionStarted)]
    if not starts:
        return True
    latest = max(starts)
    return all(e.timestamp >= latest for e in tracker.events)


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
        self._recent: OrderedDict[str, DialogueStateTracker] = OrderedDict()
        # Core statements built once (the ORM's query building was a few % of a worker).
        table = self.SQLEvent.__table__
        of_sender = table.c.sender_id == bindparam("sender")
        self._insert_events = table.insert()
        self._mark_query = select(func.max(table.c.id), func.count(table.c.id)).where(of_sender)
        self._greatest_id = select(func.max(table.c.id)).where(of_sender)
        self._keyed_user_event = (
            select(table.c.id)
            .where(
                of_sender,
                table.c.type_name == UserUttered.type_name,
                table.c.data.like(bindparam("pattern")),
            )
            .order_by(table.c.id)
            .limit(1)
        )
        self._events_after = (
            select(table.c.type_name, table.c.data)
            .where(of_sender, table.c.id > bindparam("after"))
            .order_by(table.c.id)
        )

    def _mark(self, session: Session, sender: str) -> Mark:
        most, count = session.execute(self._mark_query, {"sender": sender}).one()
        return most, count

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        kept = self._recent.pop(sender_id, None)
        with self.session_scope() as session:
            mark = self._mark(session, sender_id)
        stored: _Stored | None = getattr(kept, _STORED, None)
        if kept is not None and stored == _Stored(len(kept.events), mark):
            return kept
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, _STORED, _Stored(len(tracker.events), mark))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        rolled = rolled_events(tracker, self.session_turns)
        for event in rolled:
            tracker.update(event)
        await self.stream_events(tracker)
        sender = tracker.sender_id
        stored: _Stored | None = getattr(tracker, _STORED, None)
        with self.session_scope() as session:
            if stored is None:  # not loaded here (a new conversation): Rasa's count
                start = self._event_query(session, sender, False).count()
                before = self._mark(session, sender)
            else:
                start, before = stored.events, stored.mark
            rows = [self._row(sender, event) for event in list(tracker.events)[start:]]
            most = before[0]
            if rows:  # Core's executemany: the ORM's unit of work cost 5 % of a worker
                session.execute(self._insert_events, rows)
                most = session.execute(self._greatest_id, {"sender": sender}).scalar()
            # What the table holds if nobody else wrote or deleted since the load: the
            # next retrieve checks it.
            mark = (most, before[1] + len(rows))
            session.commit()
        setattr(tracker, _STORED, _Stored(len(tracker.events), mark))
        self._recent.pop(sender, None)
        if stored is not None or start == 0:  # the table holds the tracker's events
            self._recent[sender] = (
                tracker if reloads_the_same(tracker) else self._as_loaded(tracker)
            )
            while len(self._recent) > RECENT_TRACKERS:
                self._recent.popitem(last=False)

    def _as_loaded(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker Rasa's ``retrieve`` would load from the rows of ``tracker``: the
        events stamped at or after its latest ``session_started``, replayed."""
        latest = max(e.timestamp for e in tracker.events if isinstance(e, SessionStarted))
        events = [e for e in tracker.events if e.timestamp >= latest]
        slots = self.domain.slots if self.domain else None
        loaded = DialogueStateTracker.from_events(tracker.sender_id, events, slots)
        setattr(loaded, _STORED, _Stored(len(loaded.events), getattr(tracker, _STORED).mark))
        return loaded

    def _row(self, sender: str, event: Any) -> dict[str, Any]:
        """The table's row of an event, as Rasa's ``save`` writes it."""
        data = event.as_dict()
        return {
            "sender_id": sender,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def answers_of(self, sender: str, key: str) -> list[dict[str, Any]] | None:
        """The REST messages the bot answered to the message with idempotency ``key``, or
        None when no such message was processed."""
        pattern = f'%"{MESSAGE_KEY}": {json.dumps(key)}%'
        with self.session_scope() as session:
            user = session.execute(
                self._keyed_user_event, {"sender": sender, "pattern": pattern}
            ).scalar()
            if user is None:
                return None
            following = session.execute(self._events_after, {"sender": sender, "after": user}).all()
        answers: list[dict[str, Any]] = []
        for type_name, data in following:
            if type_name == UserUttered.type_name:
                break
            if type_name == "bot":
                answers.extend(rest_messages(sender, json.loads(data)))
        return answers
