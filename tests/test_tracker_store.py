import sqlite3

import pytest

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_ext.tracker_store import UrlSQLTrackerStore


async def test_trackers_are_saved_in_the_database_of_the_url(tmp_path):
    db = tmp_path / "assistant.db"
    store = UrlSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{db}")
    tracker = DialogueStateTracker.from_events(
        "citizen-1", [ActionExecuted("action_listen"), UserUttered("bonjour", {"name": "greet"})]
    )
    await store.save(tracker)

    reloaded = await UrlSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{db}").retrieve("citizen-1")
    assert reloaded is not None
    assert reloaded.latest_message.text == "bonjour"
    with sqlite3.connect(db) as connection:
        assert connection.execute("select count(*) from events").fetchone()[0] >= 2


def test_a_missing_url_is_refused_with_the_setting_name():
    with pytest.raises(ValueError, match="DATABASE_URL"):
        UrlSQLTrackerStore(domain=Domain.empty(), host=None)
