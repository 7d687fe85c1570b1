"""Matrix through a real Synapse homeserver, a real user client and the real Rasa model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from integrations import keys
from integrations.channels.matrix import CHOOSE_HINT, choose, render
from integrations.messages import Button, Reply
from integrations.store import Direction
from tests.gateway.conftest import GatewayClient, wait_until, with_matrix
from tests.gateway.matrix_user import MatrixUser
from tools.stack import Stack

pytestmark = [pytest.mark.matrix]


async def start_gateway(gateway_client: GatewayClient, settings, synapse, store: Path, **kw):  # type: ignore[no-untyped-def]
    client = await gateway_client(with_matrix(settings, synapse, store, **kw))
    await wait_until(lambda: client.app[keys.MATRIX].state == "ok", what="Matrix synced")
    return client


def incoming(client, room_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    stored = client.app[keys.STORE].messages(f"matrix:{room_id}")
    return [m.text for m in stored if m.direction is Direction.IN]


@pytest.mark.stack
async def test_invited_bot_joins_and_answers_in_french_ignoring_history(
    gateway_client: GatewayClient,
    stack_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    rasa_stack: Stack,
):
    client = await start_gateway(gateway_client, stack_settings, synapse, tmp_path / "m")
    bot = synapse.users["assistant"]
    room = await annick.create_room()
    await annick.say(room, "un ancien message, avant l'arrivée du bot")
    await annick.invite(room, bot)
    await annick.wait_membership(room, bot, "join")

    await annick.say(room, "bonjour")
    [answer] = await annick.wait_messages(room, bot, 1)
    assert "Bonjour" in answer
    # Neither the history nor the bot's own message went to Rasa.
    assert incoming(client, room) == ["bonjour"]
    tracker = await asyncio.to_thread(rasa_stack.tracker, f"matrix:{room}")
    metadata = tracker["latest_message"]["metadata"]
    assert metadata["channel"] == "matrix" and metadata["role"] == "agent"
    assert metadata["user_id"] == synapse.users["annick"]


@pytest.mark.stack
async def test_buttons_become_numbered_choices_and_a_number_picks_one(
    gateway_client: GatewayClient,
    stack_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    rasa_stack: Stack,
):
    client = await start_gateway(gateway_client, stack_settings, synapse, tmp_path / "m")
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")

    await annick.say(room, "qu'est-ce que tu sais faire ?")
    answers = await annick.wait_messages(room, bot, 1)
    menu = answers[-1]
    assert "1. " in menu and "2. " in menu and CHOOSE_HINT in menu
    stored = client.app[keys.STORE].messages(f"matrix:{room}")
    buttons = stored[-1].payload["buttons"]  # type: ignore[index]

    await annick.say(room, "2")
    await annick.wait_messages(room, bot, len(answers) + 1)
    assert incoming(client, room) == ["qu'est-ce que tu sais faire ?", buttons[1]["payload"]]
    tracker = await asyncio.to_thread(rasa_stack.tracker, f"matrix:{room}")
    intent = tracker["latest_message"]["intent"]["name"]
    assert intent == buttons[1]["payload"].removeprefix("/")


async def test_invitations_only_from_allowed_users(
    gateway_client: GatewayClient, base_settings, synapse, annick: MatrixUser, tmp_path
):
    await start_gateway(
        gateway_client,
        base_settings,
        synapse,
        tmp_path / "m",
        allowed_users=(synapse.users["annick"],),
    )
    bot = synapse.users["assistant"]
    intrus = MatrixUser(synapse.url, synapse.users["intrus"], "pw-intrus")
    await intrus.login()
    try:
        refused = await intrus.create_room(invite=[bot])
        await intrus.wait_membership(refused, bot, "leave")
    finally:
        await intrus.close()
    accepted = await annick.create_room(invite=[bot])
    await annick.wait_membership(accepted, bot, "join")
    # Rasa is down in these settings: the bot still answers, politely.
    await annick.say(accepted, "bonjour")
    [answer] = await annick.wait_messages(accepted, bot, 1)
    assert "service momentanément indisponible" in answer


@pytest.mark.stack
async def test_sync_token_survives_a_restart(
    gateway_client: GatewayClient, stack_settings, synapse, annick: MatrixUser, tmp_path
):
    store = tmp_path / "m"
    first = await start_gateway(gateway_client, stack_settings, synapse, store)
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")
    await annick.say(room, "merci")
    await annick.wait_messages(room, bot, 1)
    await first.close()
    [token_file] = store.glob("*.sync.json")
    assert json.loads(token_file.read_text())["next_batch"]

    # Written while the gateway is down: answered after the restart, thanks to the token
    # (a fresh start would skip it as history); the earlier message is not answered twice.
    await annick.say(room, "bonjour")
    second = await start_gateway(gateway_client, stack_settings, synapse, store)
    answers = await annick.wait_messages(room, bot, 2)
    assert "Bonjour" in answers[-1]
    await asyncio.sleep(1)
    assert incoming(second, room) == ["merci", "bonjour"]


@pytest.mark.stack
async def test_reconnects_after_the_homeserver_goes_away(
    gateway_client: GatewayClient, stack_settings, synapse, annick: MatrixUser, tmp_path
):
    client = await start_gateway(gateway_client, stack_settings, synapse, tmp_path / "m")
    channel = client.app[keys.MATRIX]
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")
    synapse.stop()
    try:
        await wait_until(lambda: channel.state == "reconnecting", what="sync failure seen")
        health = await (await client.get("/health")).json()
        assert health["channels"]["matrix"] == "reconnecting"
    finally:
        await asyncio.to_thread(synapse.start)
    await wait_until(lambda: channel.state == "ok", within=60, what="Matrix back")
    await annick.say(room, "bonjour")
    [answer] = await annick.wait_messages(room, bot, 1)
    assert "Bonjour" in answer


def test_rendering_and_choices():
    reply = Reply(
        text="Voir [le site](https://www.example.fr/?a=1&b=2) <ici>\nsuite",
        buttons=(
            Button("Une démarche", "/ask_procedure"),
            Button("Parler à une personne", "/request_human"),
        ),
    )
    content = render(reply)
    assert content["msgtype"] == "m.notice"
    assert content["body"] == (
        "Voir le site (https://www.example.fr/?a=1&b=2) <ici>\nsuite\n\n"
        "1. Une démarche\n2. Parler à une personne\n\n" + CHOOSE_HINT
    )
    assert (
        '<a href="https://www.example.fr/?a=1&amp;b=2">le site</a> &lt;ici&gt;<br>suite'
        in (content["formatted_body"])
    )
    assert (
        "<ol><li>Une démarche</li><li>Parler à une personne</li></ol>" in content["formatted_body"]
    )
    assert choose("2", reply.buttons) == "/request_human"
    assert choose(" 1. ", reply.buttons) == "/ask_procedure"
    assert choose("une DEMARCHE", reply.buttons) == "/ask_procedure"
    assert choose("3", reply.buttons) is None
    assert choose("bonjour", reply.buttons) is None
