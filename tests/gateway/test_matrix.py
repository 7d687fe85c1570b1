"""Matrix through a real Synapse homeserver, a real user client and the real Rasa model."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from nio import ErrorResponse

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
    # Processed up to a later message: a second answer to "merci" would have come first.
    await annick.say(room, "au revoir")
    answers = await annick.wait_messages(room, bot, 3)
    assert incoming(second, room) == ["merci", "bonjour", "au revoir"]
    assert len(answers) == 3


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


POLITE = "service momentanément indisponible"  # Rasa is down in base_settings


@pytest.mark.parametrize(
    ("servers", "membership"), [(("localhost",), "join"), (("matrix.example.org",), "leave")]
)
async def test_invitations_only_from_allowed_servers(
    gateway_client: GatewayClient,
    base_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    servers,
    membership,
):
    await start_gateway(
        gateway_client, base_settings, synapse, tmp_path / "m", allowed_servers=servers
    )
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, membership)


async def test_messages_of_users_not_allowed_are_ignored(
    gateway_client: GatewayClient, base_settings, synapse, annick: MatrixUser, tmp_path
):
    client = await start_gateway(
        gateway_client,
        base_settings,
        synapse,
        tmp_path / "m",
        allowed_users=(synapse.users["annick"],),
    )
    bot, intruder_id = synapse.users["assistant"], synapse.users["intrus"]
    room = await annick.create_room(invite=[bot, intruder_id])
    await annick.wait_membership(room, bot, "join")
    intruder = MatrixUser(synapse.url, intruder_id, "pw-intrus")
    await intruder.login()
    try:
        assert not isinstance(await intruder.client.join(room), ErrorResponse)
        await intruder.say(room, "bonjour, je ne suis pas invité par le Département")
    finally:
        await intruder.close()
    # Processed up to annick's later message: an answer to the intruder would come first.
    await annick.say(room, "bonjour")
    [answer] = await annick.wait_messages(room, bot, 1)
    assert POLITE in answer
    assert incoming(client, room) == ["bonjour"]


async def test_access_token_login_and_password_login_once_the_token_is_revoked(
    gateway_client: GatewayClient, base_settings, synapse, annick: MatrixUser, tmp_path
):
    bot = synapse.users["assistant"]
    device = MatrixUser(synapse.url, bot, "pw-assistant")
    await device.login()
    token, device_id = device.client.access_token, device.client.device_id
    # A wrong password: syncing at all proves the token was used.
    client = await start_gateway(
        gateway_client,
        base_settings,
        synapse,
        tmp_path / "m",
        access_token=token,
        device_id=device_id,
        password="not-the-password",
    )
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")
    await client.close()

    assert not isinstance(await device.client.logout(), ErrorResponse)  # token revoked
    await device.close()
    client = await start_gateway(
        gateway_client,
        base_settings,
        synapse,
        tmp_path / "m",
        access_token=token,
        device_id=device_id,
    )
    await annick.say(room, "bonjour")
    [answer] = await annick.wait_messages(room, bot, 1)
    assert POLITE in answer
    assert incoming(client, room) == ["bonjour"]


async def test_a_corrupt_sync_token_file_means_a_fresh_start(
    gateway_client: GatewayClient,
    base_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    caplog: pytest.LogCaptureFixture,
):
    store = tmp_path / "m"
    first = await start_gateway(gateway_client, base_settings, synapse, store)
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")
    await first.close()
    [token_file] = store.glob("*.sync.json")
    token_file.write_text('{"next_batch": ')  # cut short, as by a full disk

    await annick.say(room, "écrit pendant l'arrêt")
    # Synapse answers an identical initial /sync from its cache for two minutes (the first
    # gateway's, from before that message): another device, as a later restart would be.
    with caplog.at_level(logging.WARNING, logger="integrations.channels.matrix"):
        second = await start_gateway(
            gateway_client, base_settings, synapse, store, device_id="AFTER_RESTART"
        )
    assert f"ignoring unreadable {token_file}" in caplog.text
    # A fresh start reads past the history: only what comes after is answered.
    await annick.say(room, "bonjour")
    [answer] = await annick.wait_messages(room, bot, 1)
    assert POLITE in answer
    assert incoming(second, room) == ["bonjour"]
    assert json.loads(token_file.read_text())["next_batch"]
