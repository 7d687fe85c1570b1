"""The admin area's SQL on a real PostgreSQL server (the production store)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from integrations import keys
from integrations.admin.registry import ModelStatus, Scores
from integrations.keys import ADMIN
from integrations.messages import Incoming, Reply, Role
from integrations.settings import Settings
from tests.admin.conftest import RasaEvents
from tests.gateway.conftest import GatewayClient


async def test_inbox_registry_and_audit_on_postgresql(
    gateway_client: GatewayClient, admin_settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    client = await gateway_client(dataclasses.replace(admin_settings, database_url=postgres_url))
    admin = client.app[ADMIN]

    # Rasa's own tracker store writes the events the inbox collects.
    events = RasaEvents(postgres_url)
    await events.user_says("web:pg-admin", "kenavo pg 06 12 34 56 78", "nlu_fallback", 0.4, "thank")
    await asyncio.to_thread(admin.inbox.collect)
    await events.user_says("web:pg-admin", "kenavo pg 06 12 34 56 78", "goodbye", 0.5)
    await asyncio.to_thread(admin.inbox.collect)
    [item] = [i for i in await asyncio.to_thread(admin.inbox.items) if "kenavo pg" in i.text]
    assert (item.text, item.count, item.predicted_intent) == ("kenavo pg <téléphone>", 2, "goodbye")

    # A thumbs-down on a stored answer.
    store = client.app[keys.STORE]
    ref, _ = await asyncio.to_thread(
        store.record_incoming,
        Incoming(
            channel="web",
            chat_id="pg-fb",
            user_id="pg-fb",
            text="pg ça marche pas",
            role=Role.CITIZEN,
        ),
    )
    [answer] = await asyncio.to_thread(store.record_replies, ref.id, [Reply(text="Désolé.")])
    key = "cle-de-test-pg-fb-" + "x" * 32
    await asyncio.to_thread(store.add_key, "pg-fb", key)
    response = await client.post(
        "/webhooks/rest/feedback",
        json={"sender": "pg-fb", "message_id": answer.id, "rating": "down"},
        headers={"X-Conversation-Key": key},
    )
    assert response.status == 204
    assert any(
        i.text == "pg ça marche pas" and i.user_down_count == 1
        for i in await asyncio.to_thread(admin.inbox.items)
    )

    # Model versions: a job, its scores, activations and the rollback stack.
    registry = admin.registry
    model = tmp_path / "a.tar.gz"
    model.write_bytes(b"not really a model")
    first = await asyncio.to_thread(registry.adopt, model, "pg")
    job = await asyncio.to_thread(registry.start_job, "pg")
    assert (await asyncio.to_thread(registry.running)).id == job.id
    scores = Scores("abc", 10, 0.9, 0.8, {"greet": {"f1": 1.0, "support": 3}})
    await asyncio.to_thread(registry.set_scores, job.id, scores)
    await asyncio.to_thread(registry.update, job.id, status=ModelStatus.READY, path=model)
    await asyncio.to_thread(registry.record_activation, job.id, "pg", "manual")
    assert (await asyncio.to_thread(registry.active)).id == job.id
    target = await asyncio.to_thread(registry.rollback_target)
    assert target is not None and target[1] == first.id
    await asyncio.to_thread(registry.record_rollback, target[0])
    active = await asyncio.to_thread(registry.active)
    assert active.id == first.id
    assert (await asyncio.to_thread(registry.get, job.id)).scores == scores

    await asyncio.to_thread(admin.audit.record, "pg", "model.rollback", model=first.id)
    [entry, *_] = await asyncio.to_thread(admin.audit.latest)
    assert (entry.actor, entry.detail) == ("pg", {"model": first.id})
