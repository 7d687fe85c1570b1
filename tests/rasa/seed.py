"""What the gateway's tests need from Rasa's side, run in Rasa's environment.

Called through tests/rasa_env.py (``call("user_says", ...)``): JSON in, JSON out, so
datetimes travel as ISO strings.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from common.db import make_engine
from common.migrate import upgrade


def tracker_table(database_url: str) -> None:
    """Rasa's own ``events`` table (its SQL tracker store's definition)."""
    from rasa.core.tracker_store import SQLTrackerStore

    engine = make_engine(database_url)
    SQLTrackerStore.SQLEvent.__table__.create(engine, checkfirst=True)
    engine.dispose()


async def user_says(
    database_url: str,
    sender: str,
    text: str,
    intent: str,
    confidence: float,
    best: str | None = None,
) -> None:
    """A user message as Rasa records it; ``best``: the intent under nlu_fallback."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered

    from rasa_ext.tracker_store import UrlSQLTrackerStore

    store = UrlSQLTrackerStore(domain=Domain.empty(), host=database_url)
    ranking = [{"name": intent, "confidence": confidence}]
    if best is not None:
        ranking.append({"name": best, "confidence": 0.3})
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking,
        "entities": [],
    }
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, intent=parse["intent"], parse_data=parse))
    await store.save(tracker)
    store.engine.dispose()


async def greetings(database_url: str, conversations: dict[str, float]) -> None:
    """One greeting exchange per conversation ``sender: timestamp``, saved by Rasa's own SQL
    tracker store (the rows of its ``events`` table carry those timestamps)."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_ext.tracker_store import UrlSQLTrackerStore

    store = UrlSQLTrackerStore(domain=Domain.empty(), host=database_url)
    for sender, timestamp in conversations.items():
        events = [
            ActionExecuted("action_listen", timestamp=timestamp),
            UserUttered("bonjour", {"name": "greet"}, timestamp=timestamp),
            BotUttered("Bonjour !", timestamp=timestamp),
        ]
        await store.save(DialogueStateTracker.from_events(sender, events))
    store.engine.dispose()


def seed_bookings(database_url: str, rooms: dict[str, Any], agents: dict[str, Any]) -> None:
    from actions.booking_store import BookingStore

    engine = make_engine(database_url)
    BookingStore(engine).seed(rooms, agents)
    engine.dispose()


def book(
    database_url: str,
    agent_id: str,
    room_id: str,
    start: str,
    end: str,
    attendees: int,
    visio_url: str,
    now: str,
) -> str:
    """A booking in the action server's store (seeded from data/ unless seeded); its ref."""
    from actions.booking_admin import load_reference_data
    from actions.booking_store import BookingStore

    upgrade(database_url)
    engine = make_engine(database_url)
    store = BookingStore(engine)
    if not store.is_seeded():
        store.seed(*load_reference_data())
    outcome = store.book(
        agent_id,
        room_id,
        datetime.fromisoformat(start),
        datetime.fromisoformat(end),
        attendees,
        visio_url,
        datetime.fromisoformat(now),
    )
    engine.dispose()
    assert outcome.booking is not None, outcome
    return outcome.booking.ref


def move_booking(
    database_url: str, agent_id: str, ref: str, start: str, end: str, now: str
) -> None:
    """Move a booking to ``start``-``end`` in its room, as the action does."""
    from actions.booking_store import BookingStore

    engine = make_engine(database_url)
    store = BookingStore(engine)
    booking = store.by_ref(ref)
    assert booking is not None, ref
    moved = store.move(
        agent_id,
        booking.id,
        booking.room_id,
        datetime.fromisoformat(start),
        datetime.fromisoformat(end),
        datetime.fromisoformat(now),
    )
    engine.dispose()
    assert moved.booking is not None, moved


def cancel_booking(database_url: str, agent_id: str, ref: str, now: str) -> None:
    from actions.booking_store import BookingStore

    engine = make_engine(database_url)
    store = BookingStore(engine)
    booking = store.by_ref(ref)
    assert booking is not None, ref
    assert store.cancel(agent_id, booking.id, datetime.fromisoformat(now))
    engine.dispose()


def link_agent(database_url: str, channel: str, user_id: str, agent_id: str) -> None:
    """Give an agent of the directory one more channel identity (as data/agents.yml would)."""
    from actions.booking_store import IdentityRow, get_store
    from common.db import session_scope

    store = get_store(database_url)
    with session_scope(store.sessions) as session:
        session.add(IdentityRow(channel=channel, user_id=user_id, agent_id=agent_id))


def closed_day(site: str, after: str) -> str:
    """The first day, two or more days after ``after``, when ``site`` is closed (ISO)."""
    from datetime import date, timedelta

    from actions.booking_admin import load_reference_data
    from actions.booking_rules import is_open_on

    rooms, _ = load_reference_data()
    hours = next(s["opening_hours"] for s in rooms["sites"] if s["name"] == site)
    day = date.fromisoformat(after) + timedelta(days=2)
    while is_open_on(hours, day):
        day += timedelta(days=1)
    return day.isoformat()


def import_places(database_url: str, paths: list[str]) -> None:
    """Places imported as ``make import-places`` does, file after file."""
    from actions import place_store
    from actions.place_import import import_path

    upgrade(database_url)
    engine = place_store.engine(database_url)
    for path in paths:
        import_path(Path(path), engine)


async def tracker_events(database_url: str, sender: str, events: list[dict[str, Any]]) -> None:
    """Events in Rasa's own dict form (``Event.as_dict``: ``{"event": "slot", "name": …}``)
    appended to ``sender``'s tracker by Rasa's SQL tracker store."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event

    from rasa_ext.tracker_store import UrlSQLTrackerStore

    store = UrlSQLTrackerStore(domain=Domain.empty(), host=database_url)
    tracker = await store.get_or_create_tracker(sender)
    for event in events:
        tracker.update(Event.from_parameters(event))
    await store.save(tracker)
    store.engine.dispose()


FUNCTIONS = {
    function.__name__: function
    for function in (
        tracker_table,
        user_says,
        greetings,
        seed_bookings,
        book,
        move_booking,
        cancel_booking,
        link_agent,
        closed_day,
        import_places,
        tracker_events,
    )
}
