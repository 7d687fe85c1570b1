"""A follow-up flow on Matrix (real Synapse, real model): numbered choices pick a commune."""

from __future__ import annotations

import pytest

from integrations import keys
from tests.gateway.conftest import GatewayClient, wait_until, with_matrix
from tests.gateway.matrix_user import MatrixUser
from tools.stack import Stack

pytestmark = [pytest.mark.matrix, pytest.mark.stack]


async def test_a_shared_postcode_then_a_numbered_choice_gives_the_places(
    gateway_client: GatewayClient,
    stack_settings,
    synapse,
    annick: MatrixUser,
    tmp_path,
    rasa_stack: Stack,
):
    client = await gateway_client(with_matrix(stack_settings, synapse, tmp_path / "m"))
    await wait_until(lambda: client.app[keys.MATRIX].state == "ok", what="Matrix synced")
    bot = synapse.users["assistant"]
    room = await annick.create_room(invite=[bot])
    await annick.wait_membership(room, bot, "join")

    await annick.say(room, "je cherche un lieu d'aide au numérique")
    await annick.wait_text(room, bot, "commune", 0)
    seen = len(annick.messages_from(room, bot))
    await annick.say(room, "29800")
    choice = await annick.wait_text(room, bot, "plusieurs communes", seen)
    assert "1. Landerneau" in choice
    seen = len(annick.messages_from(room, bot))
    await annick.say(room, "1")
    places = await annick.wait_text(room, bot, "Landerneau", seen)
    assert "plus proche" in places
    seen = len(annick.messages_from(room, bot))
    await annick.say(room, "le premier")
    await annick.wait_text(room, bot, "Pour y aller", seen)
