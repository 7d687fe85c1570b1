"""The handoff on Telegram: the same messages as on the web, a mediator's words sent
through the Bot API (a local fake, Telegram's cloud cannot run here)."""

from __future__ import annotations

import dataclasses

from integrations import keys
from integrations.channels.telegram import SECRET_HEADER
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import (
    TELEGRAM_SECRET,
    GatewayClient,
    console_login,
    staff_user,
    wait_until,
    with_telegram,
)
from tests.gateway.fake_telegram import FakeBotApi, callback_update, text_update


async def test_queue_mediator_and_hand_back_on_telegram(
    gateway_client: GatewayClient, base_settings: Settings, fake_telegram: FakeBotApi
):
    settings = dataclasses.replace(base_settings, mediator_hours="24/7")
    staff_user(settings, "martine", "mot-de-passe-long", "mediator", "Martine")
    client = await gateway_client(with_telegram(settings, fake_telegram.api_url))  # type: ignore[attr-defined]
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="Telegram ready")
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    csrf = await console_login(client, "martine", "mot-de-passe-long")
    async with client.ws_connect(f"/console/ws?csrf={csrf}"):
        # The "Parler à un médiateur" button comes back as its payload.
        await client.post(
            "/webhooks/telegram", json=callback_update(1, 77, "/request_human"), headers=headers
        )
        # One message (the bot, down here, does not add its "indisponible").
        sent = await fake_telegram.wait_for("sendMessage", 1)
        assert "première personne dans la file" in sent[-1]["text"]
        conversation = client.app[keys.STORE].conversation("telegram:77")
        assert conversation.owner is Owner.WAITING

        url = f"/console/conversations/{conversation.id}"
        token = {"X-CSRF-Token": csrf}
        assert (await client.post(f"{url}/take", json={}, headers=token)).status == 200
        sent = await fake_telegram.wait_for("sendMessage", 2)
        assert sent[-1]["text"] == "Martine a rejoint la conversation."
        said = await client.post(
            f"{url}/messages", json={"text": "Bonjour <b>Annick</b>"}, headers=token
        )
        assert said.status == 200
        sent = await fake_telegram.wait_for("sendMessage", 3)
        assert sent[-1]["text"] == "Bonjour &lt;b&gt;Annick&lt;/b&gt;"  # escaped HTML

        # The person answers: stored, no bot answer.
        await client.post("/webhooks/telegram", json=text_update(2, 77, "merci"), headers=headers)
        assert [m.text for m in client.app[keys.STORE].messages("telegram:77")][-1] == "merci"
        assert len(fake_telegram.sent()) == 3

        assert (await client.post(f"{url}/handback", json={}, headers=token)).status == 200
        sent = await fake_telegram.wait_for("sendMessage", 4)
        assert sent[3]["text"].startswith("Martine a quitté la conversation. ")
        assert "L'assistant automatique reprend" in sent[3]["text"]
        assert client.app[keys.STORE].conversation("telegram:77").owner is Owner.BOT
