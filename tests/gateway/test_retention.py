"""Personal data kept only as long as configured: old messages are purged."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from common.db import make_engine
from integrations import keys
from integrations.messages import Incoming, Role
from integrations.settings import Settings
from integrations.store import Store
from tests.gateway.conftest import GatewayClient


def record(store: Store, chat: str, age_days: int) -> None:
    when = datetime.now(UTC) - timedelta(days=age_days)
    store.record_incoming(
        Incoming("web", chat, chat, f"message {chat}", Role.CITIZEN, received_at=when)
    )


def test_purge_deletes_old_messages_and_their_empty_conversations(base_settings: Settings):
    store = Store(make_engine(base_settings.database_url))
    store.create_tables()
    record(store, "old", 31)
    record(store, "recent", 29)

    assert store.purge_before(datetime.now(UTC) - timedelta(days=30)) == 1

    assert store.conversation("web:old") is None
    assert [m.text for m in store.messages("web:recent")] == ["message recent"]


async def test_the_gateway_applies_the_retention_period_by_itself(
    gateway_client: GatewayClient, base_settings: Settings
):
    store = Store(make_engine(base_settings.database_url))
    store.create_tables()
    record(store, "old", 31)
    record(store, "recent", 29)

    client = await gateway_client(dataclasses.replace(base_settings, retention_days=30))
    gateway_store = client.app[keys.STORE]
    for _ in range(50):
        if gateway_store.conversation("web:old") is None:
            break
        await asyncio.sleep(0.1)
    assert gateway_store.conversation("web:old") is None
    assert gateway_store.conversation("web:recent") is not None


def test_rasa_tracker_events_older_than_the_period_are_deleted(base_settings: Settings):
    from sqlalchemy import insert, select

    from integrations.tracker_events import delete_tracker_events
    from tests import rasa_env

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
