"""Personal data kept only as long as configured: old messages are purged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from integrations import keys
from integrations.app import purge_expired
from integrations.messages import Incoming, Role
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient


async def test_messages_older_than_the_retention_period_are_deleted(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(dataclasses.replace(base_settings, retention_days=30))
    store = client.app[keys.STORE]
    old = datetime.now(UTC) - timedelta(days=31)
    for chat, when in (("old", old), ("recent", datetime.now(UTC) - timedelta(days=29))):
        store.record_incoming(
            Incoming("web", chat, chat, f"message {chat}", Role.CITIZEN, received_at=when)
        )

    assert await purge_expired(client.app) == 1

    assert store.conversation("web:old") is None
    assert [m.text for m in store.messages("web:recent")] == ["message recent"]
    assert await purge_expired(client.app) == 0
