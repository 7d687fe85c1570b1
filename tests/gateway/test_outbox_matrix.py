"""Matrix: an event that could not be taken in is retried, not skipped
(integrations/channels/matrix.py), with a real Synapse, the real Rasa and a real database
failure (the gateway's ``messages`` table away for a moment)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from integrations import keys
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, wait_until
from tests.gateway.matrix_user import MatrixUser
from tests.gateway.test_matrix import incoming, start_gateway

pytestmark = [pytest.mark.matrix, pytest.mark.stack]


def rename(settings: Settings, old: str, new: str) -> None:
    database = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database, timeout=30) as connection:
        connection.execute(f"ALTER TABLE {old} RENAME TO {new}")


async def test_an_event_not_stored_is_taken_in_once_the_database_is_back(
    gateway_client: GatewayClient,
    stack_settings: Settings,
    synapse,  # type: ignore[no-untyped-def]
    annick: MatrixUser,
    tmp_path: Path,
):
    client = await start_gateway(gateway_client, stack_settings, synapse, tmp_path / "m")
    channel = client.app[keys.MATRIX]
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")
    rename(stack_settings, "messages", "messages_away")
    try:
        await annick.say(room, "bonjour")
        await wait_until(lambda: channel.state == "reconnecting", what="the event refused")
    finally:
        rename(stack_settings, "messages_away", "messages")
    [answer] = await annick.wait_messages(room, bot, 1)
    assert "Bonjour" in answer
    await annick.say(room, "merci")
    await annick.wait_messages(room, bot, 2)
    assert incoming(client, room) == ["bonjour", "merci"]  # once each, in order
