"""The gateway's record on a real PostgreSQL server (the production store)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import text

from integrations import keys
from integrations.settings import Settings
from integrations.store import Direction, Owner
from tests.gateway.conftest import GatewayClient


async def test_conversations_and_messages_on_postgresql(
    gateway_client: GatewayClient, base_settings: Settings, postgres_url: str
):
    client = await gateway_client(dataclasses.replace(base_settings, database_url=postgres_url))
    for message in ("bonjour", "un rendez-vous à Quimper ?"):
        response = await client.post(
            "/webhooks/rest/webhook", json={"sender": "pg-1", "message": message}
        )
        assert response.status == 200  # Rasa is down: kept, and the person told once
    store = client.app[keys.STORE]
    conversation = store.conversation("web:pg-1")
    assert conversation is not None and conversation.owner is Owner.BOT
    stored = store.messages("web:pg-1")
    assert [(m.direction, m.author.value) for m in stored] == [
        (Direction.IN, "user"),
        (Direction.OUT, "system"),
        (Direction.IN, "user"),
    ]
    assert "la réponse vous parviendra" in stored[1].text
    assert stored[2].text == "un rendez-vous à Quimper ?"
    # Both wait in the outbox, in order, for Rasa to be back.
    with store.engine.connect() as connection:
        queued = text(
            "select o.text from outbox o join conversations c on c.id = o.conversation_id"
            " where c.key = 'web:pg-1' order by o.message_id"
        )
        assert connection.execute(queued).scalars().all() == [
            "bonjour",
            "un rendez-vous à Quimper ?",
        ]
    assert all(m.created_at.tzinfo is not None for m in stored)
    with store.engine.connect() as connection:
        # One conversation for both messages (the server is shared by the session's tests).
        count = text("select count(*) from conversations where key = 'web:pg-1'")
        assert connection.execute(count).scalar() == 1
    health = await (await client.get("/health")).json()
    assert health["database"] == "ok"
