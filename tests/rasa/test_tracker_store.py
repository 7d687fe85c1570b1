import sqlite3

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import UrlSQLTrackerStore


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
