import sqlite3

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import UrlSQLTrackerStore
from tests.rasa.counting import Counted


async def _save_and_reload(url: str) -> DialogueStateTracker | None:
    store = UrlSQLTrackerStore(domain=Domain.empty(), host=url)
    tracker = DialogueStateTracker.from_events(
        "citizen-1", [ActionExecuted("action_listen"), UserUttered("bonjour", {"name": "greet"})]
    )
    await store.save(tracker)
    return await UrlSQLTrackerStore(domain=Domain.empty(), host=url).retrieve("citizen-1")


async def test_trackers_are_saved_in_the_sqlite_file_of_the_url(tmp_path):
    db = tmp_path / "assistant.db"
    reloaded = await _save_and_reload(f"sqlite:///{db}")
    assert reloaded is not None
    assert reloaded.latest_message.text == "bonjour"
    with sqlite3.connect(db) as connection:
        assert connection.execute("select count(*) from events").fetchone()[0] >= 2


async def test_trackers_are_saved_in_postgresql(postgres_url):
    reloaded = await _save_and_reload(postgres_url)
    assert reloaded is not None
    assert reloaded.latest_message.text == "bonjour"
    with sa.create_engine(postgres_url, future=True).connect() as connection:
        count = connection.execute(sa.text("select count(*) from events")).scalar()
    assert count >= 2


def test_a_missing_url_is_refused_with_the_setting_name():
    with pytest.raises(ValueError, match="DATABASE_URL"):
        UrlSQLTrackerStore(domain=Domain.empty(), host=None)


async def test_sqlite_connections_are_pooled_the_pragmas_run_once(tmp_path):
    store = UrlSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{tmp_path / 'a.db'}")
    connects = []
    sa.event.listen(store.engine, "connect", lambda *_: connects.append(1))
    for n in range(3):
        tracker = DialogueStateTracker.from_events(
            f"citizen-{n}", [ActionExecuted("action_listen"), UserUttered("bonjour")]
        )
        await store.save(tracker)
        assert (await store.retrieve(f"citizen-{n}")).latest_message.text == "bonjour"
    assert len(connects) == 1
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def _store(url: str) -> UrlSQLTrackerStore:
    return UrlSQLTrackerStore(domain=Domain.empty(), host=url)


def _turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 0.9}))
    tracker.update(ActionExecuted("utter_ok"))
    tracker.update(ActionExecuted("action_listen"))


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> Counted:
    """Rasa's load of a tracker from the table, counted."""
    loads = Counted(SQLTrackerStore.retrieve)
    monkeypatch.setattr(SQLTrackerStore, "retrieve", lambda self, sender: loads(self, sender))
    return loads


def _dicts(tracker: DialogueStateTracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


async def _conversation(store: UrlSQLTrackerStore, sender: str) -> DialogueStateTracker:
    """A conversation saved twice: from the second save on, the worker keeps it."""
    tracker = DialogueStateTracker.from_events(
        sender, [SessionStarted(), ActionExecuted("action_listen")]
    )
    await store.save(tracker)
    tracker = await store.retrieve(sender)
    _turn(tracker, "bonjour")
    await store.save(tracker)
    return tracker


async def test_a_worker_keeps_the_tracker_it_saved_as_the_table_would_give_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = _store(url)
    tracker = await _conversation(store, "citizen-1")
    for text in ("quimper", "et a brest ?", "merci"):
        again = await store.retrieve("citizen-1")
        assert again is tracker  # not loaded again
        _turn(again, text)
        await store.save(again)
    reloaded = await _store(url).retrieve("citizen-1")
    assert _dicts(reloaded) == _dicts(tracker)
    with sqlite3.connect(tmp_path / "a.db") as connection:
        rows = connection.execute("select count(*) from events").fetchone()[0]
    assert rows == len(tracker.events) == 2 + 3 * 4  # each event stored once


async def test_a_tracker_another_worker_wrote_to_is_loaded_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    mine, other = _store(url), _store(url)
    await _conversation(mine, "citizen-1")
    theirs = await other.retrieve("citizen-1")
    _turn(theirs, "et a morlaix ?")
    await other.save(theirs)
    again = await mine.retrieve("citizen-1")
    assert again.latest_message.text == "et a morlaix ?"
    _turn(again, "merci")
    await mine.save(again)
    assert _dicts(await _store(url).retrieve("citizen-1")) == _dicts(again)


async def test_erased_rows_are_not_given_back_from_memory(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = _store(url)
    await _conversation(store, "citizen-1")
    await _conversation(store, "citizen-2")
    with sqlite3.connect(tmp_path / "a.db") as connection:  # the gateway's erasure
        connection.execute("delete from events where sender_id = 'citizen-1'")
    assert await store.retrieve("citizen-1") is None
    # A purge of some rows only (retention) is seen too.
    with sqlite3.connect(tmp_path / "a.db") as connection:
        connection.execute(
            "delete from events where sender_id = 'citizen-2' and type_name = 'user'"
        )
    reloaded = await store.retrieve("citizen-2")
    assert reloaded.latest_message.text is None


async def test_events_a_failed_turn_added_without_saving_are_forgotten(tmp_path):
    store = _store(f"sqlite:///{tmp_path / 'a.db'}")
    tracker = await _conversation(store, "citizen-1")
    kept = await store.retrieve("citizen-1")
    assert kept is tracker
    kept.update(UserUttered("ce message n'a jamais été traité"))  # then the turn fails
    await store.save(await store.retrieve("citizen-1"))  # another turn, from the table
    again = await store.retrieve("citizen-1")
    assert again is not kept and again.latest_message.text == "bonjour"


async def test_a_new_session_is_loaded_from_the_table_starting_there(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_SESSION_TURNS", "2")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = _store(url)
    tracker = await _conversation(store, "citizen-1")
    again = await store.retrieve("citizen-1")
    _turn(again, "quimper")
    await store.save(again)  # the second user message: the session rolls
    loads = _count_loads(monkeypatch)
    rolled = await store.retrieve("citizen-1")
    assert rolled is not tracker and loads.calls == 0  # kept as the table would give it
    assert isinstance(rolled.events[0], SessionStarted)
    assert _dicts(rolled) == _dicts(await _store(url).retrieve("citizen-1"))
    assert rolled.slots == (await _store(url).retrieve("citizen-1")).slots


async def test_a_new_conversation_is_kept_from_its_first_save_as_a_load_gives_it(
    tmp_path, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = _store(url)
    # Rasa's first message: a tracker created listening, then its session started.
    tracker = await store.get_or_create_tracker("citizen-1")
    assert tracker.events[0] == ActionExecuted("action_listen")
    for event in (SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    _turn(tracker, "bonjour")
    await store.save(tracker)
    loads = _count_loads(monkeypatch)
    kept = await store.retrieve("citizen-1")
    assert loads.calls == 0
    monkeypatch.undo()
    assert _dicts(kept) == _dicts(await _store(url).retrieve("citizen-1"))
    assert isinstance(kept.events[0], SessionStarted)  # without the listen before it
    assert len(kept.events) == len(tracker.events) - 1
    _turn(kept, "merci")
    await store.save(kept)
    assert await store.retrieve("citizen-1") is kept
    assert _dicts(kept) == _dicts(await _store(url).retrieve("citizen-1"))


async def test_rows_another_writer_added_during_a_turn_make_the_next_load_read_the_table(
    tmp_path,
):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    mine, other = _store(url), _store(url)
    await _conversation(mine, "citizen-1")
    turn = await mine.retrieve("citizen-1")  # this worker's turn begins
    theirs = await other.retrieve("citizen-1")
    _turn(theirs, "et a morlaix ?")
    await other.save(theirs)  # written meanwhile (no lock held: not Rasa's processor)
    _turn(turn, "merci")
    await mine.save(turn)
    again = await mine.retrieve("citizen-1")
    assert again is not turn
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == [
        "bonjour",
        "et a morlaix ?",
        "merci",
    ]
