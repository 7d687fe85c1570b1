"""The same takeover on the Matrix channel: a real Synapse, a real Matrix user, the real
model, and a mediator in the console (HTTP + WebSocket, as the page uses them)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from integrations import keys
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import (
    GatewayClient,
    console_login,
    staff_user,
    wait_until,
    with_matrix,
)
from tests.gateway.matrix_user import MatrixUser
from tools.stack import Stack

pytestmark = [pytest.mark.matrix, pytest.mark.stack]


async def test_a_mediator_takes_over_a_matrix_room_and_hands_it_back(
    gateway_client: GatewayClient,
    stack_settings: Settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    rasa_stack: Stack,
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(stack_settings, mediator_hours="24/7")
    settings = with_matrix(settings, synapse, tmp_path / "m")
    staff_user(settings, "martine", "mot-de-passe-long", "mediator", "Martine")
    client = await gateway_client(settings)
    await wait_until(lambda: client.app[keys.MATRIX].state == "ok", what="Matrix synced")
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")
    key = f"matrix:{room}"

    csrf = await console_login(client, "martine", "mot-de-passe-long")
    async with client.ws_connect(f"/console/ws?csrf={csrf}") as console:
        await console.receive_json(timeout=10)  # the (empty) queue
        await annick.say(room, "je voudrais parler à une personne")
        # One message: the queue (the bot's own words asking for a mediator are not shown).
        [told] = await annick.wait_messages(room, bot, 1)
        assert "Un médiateur va vous répondre" in told
        assert "première personne dans la file" in told
        conversation = client.app[keys.STORE].conversation(key)
        assert conversation is not None and conversation.owner is Owner.WAITING
        tracker = await asyncio.to_thread(rasa_stack.tracker, key)
        assert tracker["paused"] is True

        taken = await client.post(
            f"/console/conversations/{conversation.id}/take",
            json={},
            headers={"X-CSRF-Token": csrf},
        )
        assert taken.status == 200
        [joined] = (await annick.wait_messages(room, bot, 2))[1:]
        assert joined == "Martine a rejoint la conversation."

        await console.send_json({"action": "watch", "conversation_id": conversation.id})
        await console.send_json(
            {"action": "send", "conversation_id": conversation.id, "text": "Bonjour, ici Martine."}
        )
        [said] = (await annick.wait_messages(room, bot, 3))[2:]
        assert said == "Bonjour, ici Martine."

        # The person's answer reaches the console, and only the console: the bot is quiet.
        await annick.say(room, "merci, c'est pour une salle")
        while True:
            frame = await console.receive_json(timeout=30)
            if frame.get("text") == "merci, c'est pour une salle":
                break
        assert frame["author"] == "user"

        back = await client.post(
            f"/console/conversations/{conversation.id}/handback",
            json={},
            headers={"X-CSRF-Token": csrf},
        )
        assert back.status == 200
        [after_back] = (await annick.wait_messages(room, bot, 4))[3:]
        assert after_back.startswith("Martine a quitté la conversation. ")
        assert "L'assistant automatique reprend" in after_back
        # Nothing was said by the bot in between.
        assert len(annick.messages_from(room, bot)) == 4

    tracker = await asyncio.to_thread(rasa_stack.tracker, key)
    assert tracker["paused"] is False
    mediator_events = [
        e
        for e in tracker["events"]
        if e["event"] == "bot" and (e.get("metadata") or {}).get("author") == "mediator"
    ]
    assert [e["text"] for e in mediator_events] == ["Bonjour, ici Martine."]
    assert mediator_events[0]["metadata"]["mediator"] == "Martine"
    user_texts = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert "merci, c'est pour une salle" in user_texts  # the paused tracker kept it

    await annick.say(room, "bonjour")
    [answer] = (await annick.wait_messages(room, bot, 5))[4:]
    assert "Bonjour" in answer
