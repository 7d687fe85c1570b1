"""Personal data kept only as long as configured: old messages are purged."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from common.db import make_engine
from integrations import keys
from integrations.messages import Incoming, Role
from integrations.settings import Settings
from integrations.store import Store
from integrations.tracker_events import delete_tracker_events
from tests import rasa_env
from tests.gateway.conftest import GatewayClient, wait_until
from tools.stack import Stack


def record(store: Store, chat: str, age_days: int) -> None:
    when = datetime.now(UTC) - timedelta(days=age_days)
    store.record_incoming(
        Incoming("web", chat, chat, f"message {chat}", Role.CITIZEN, received_at=when)
    )


def test_purge_deletes_old_messages_and_their_empty_conversations(base_settings: Settings):
    store = Store(make_engine(base_settings.database_url))  # base_settings: migrated
    record(store, "old", 31)
    record(store, "recent", 29)

    assert store.purge_before(datetime.now(UTC) - timedelta(days=30)) == 1

    assert store.conversation("web:old") is None
    assert [m.text for m in store.messages("web:recent")] == ["message recent"]


async def test_the_gateway_applies_the_retention_period_by_itself(
    gateway_client: GatewayClient, base_settings: Settings
):
    store = Store(make_engine(base_settings.database_url))
    record(store, "old", 31)
    record(store, "recent", 29)

    client = await gateway_client(dataclasses.replace(base_settings, retention_days=30))
    gateway_store = client.app[keys.STORE]
    # One purge deletes every expired message at once: once "old" is gone, it has run.
    await wait_until(lambda: gateway_store.conversation("web:old") is None, what="purge")
    assert [m.text for m in gateway_store.messages("web:recent")] == ["message recent"]


def test_rasa_tracker_events_older_than_the_period_are_deleted(base_settings: Settings):
    engine = make_engine(base_settings.database_url)
    assert delete_tracker_events(engine, before=datetime.now(UTC)) == 0  # no table yet
    rasa_env.call("tracker_table", base_settings.database_url)  # Rasa's own table definition
    events = rasa_env.EVENTS
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for sender, age in (("web:old", 31), ("web:old", 29), ("web:other", 40)):
            connection.execute(
                insert(events).values(
                    sender_id=sender,
                    type_name="user",
                    timestamp=(now - timedelta(days=age)).timestamp(),
                    data="{}",
                )
            )

    assert delete_tracker_events(engine, before=now - timedelta(days=30)) == 2
    with engine.connect() as connection:
        left = connection.execute(select(events.c.sender_id)).scalars().all()
    assert left == ["web:old"]
    assert delete_tracker_events(engine, sender_id="web:old") == 1


# --- Rasa's real ``events`` table, purged by the running gateway ----------------------


def rasa_saves(database_url: str, conversations: dict[str, float]) -> None:
    """Rasa's own SQL tracker store writes the conversations (in Rasa's environment)."""
    rasa_env.call("greetings", database_url, conversations)


def events_of(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT sender_id FROM events")).scalars().all()
    finally:
        engine.dispose()
    return Counter(rows)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_gateway_purges_rasa_s_events_table(
    gateway_client: GatewayClient,
    base_settings: Settings,
    backend: str,
    request: pytest.FixtureRequest,
):
    url = base_settings.database_url
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
    now = datetime.now(UTC)
    await asyncio.to_thread(
        rasa_saves,
        url,
        {
            f"web:{backend}-old": (now - timedelta(days=31)).timestamp(),
            f"web:{backend}-recent": (now - timedelta(days=29)).timestamp(),
        },
    )
    assert events_of(url)[f"web:{backend}-old"] == 3

    await gateway_client(dataclasses.replace(base_settings, database_url=url, retention_days=30))
    await wait_until(
        lambda: f"web:{backend}-old" not in events_of(url), what="old tracker events purged"
    )
    assert events_of(url)[f"web:{backend}-recent"] == 3


@pytest.mark.stack
async def test_a_conversation_with_the_real_rasa_is_purged_after_the_period(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack: Stack
):
    old, recent = "web:retention-old", "web:retention-recent"
    for sender in (old, recent):
        await asyncio.to_thread(rasa_stack.send, sender, "bonjour")
    engine = make_engine(rasa_stack.database_url)
    try:
        with engine.begin() as connection:  # the old conversation took place 31 days ago
            connection.execute(
                text("UPDATE events SET timestamp = timestamp - :age WHERE sender_id = :sender"),
                {"age": 31 * 86400, "sender": old},
            )
    finally:
        engine.dispose()

    settings = dataclasses.replace(
        stack_settings, database_url=rasa_stack.database_url, retention_days=30
    )
    await gateway_client(settings)
    await wait_until(lambda: old not in events_of(rasa_stack.database_url), what="purge")
    # Rasa itself no longer knows the old conversation, and still knows the recent one.
    forgotten = await asyncio.to_thread(rasa_stack.tracker, old)
    assert [e for e in forgotten["events"] if e["event"] == "user"] == []
    kept = await asyncio.to_thread(rasa_stack.tracker, recent)
    assert kept["latest_message"]["text"] == "bonjour"
