"""The mediator console in a real browser: a citizen-chosen ``client_id`` (the web widget
sends it) never builds a selector or HTML in mediator.js."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
from playwright.async_api import expect

from integrations import keys
from integrations.handoff.store import Mediator
from integrations.keys import HANDOFF
from integrations.messages import Incoming, Role
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, staff_user

pytestmark = [pytest.mark.browser]

HOSTILE_ID = '"]<img src=x onerror="window.pwned=1">'
HOSTILE_TEXT = '<img src=x onerror="window.pwned=2"> bonjour'


async def test_a_hostile_client_id_is_shown_as_text_and_breaks_nothing(
    gateway_client: GatewayClient, base_settings: Settings, browser
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(base_settings, mediator_hours="24/7")
    martine = staff_user(settings, "martine", "mot-de-passe-long", "mediator", "Martine")
    client = await gateway_client(settings)
    store, gateway = client.app[keys.STORE], client.app[keys.GATEWAY]
    ref, _ = await asyncio.to_thread(
        store.record_incoming, Incoming("web", "hostile", "hostile", "salut", Role.CITIZEN)
    )
    await client.app[HANDOFF].take(ref.id, Mediator(martine.id, "Martine"))

    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    base = str(client.server.make_url("/"))
    await page.goto(base + "console/login")
    await page.get_by_label("Identifiant").fill("martine")
    await page.get_by_label("Mot de passe").fill("mot-de-passe-long")
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/console/")
    await page.goto(base + f"console/conversations/{ref.id}")
    await expect(page.locator("#live-status")).to_contain_text("Connecté")

    await gateway.handle(
        Incoming("web", "hostile", "hostile", HOSTILE_TEXT, Role.CITIZEN, client_id=HOSTILE_ID)
    )
    last = page.locator("#transcript .msg-user").last
    await expect(last).to_contain_text(HOSTILE_TEXT)
    assert await page.locator("#transcript img").count() == 0
    assert await page.evaluate("window.pwned === undefined")

    # The mediator's own message still replaces its pending bubble (one item, not two).
    await page.get_by_label("Votre message à la personne").fill("Bonjour, ici Martine.")
    await page.get_by_role("button", name="Envoyer").click()
    mine = page.locator("#transcript .msg-mediator")
    await expect(mine).to_have_count(1)
    await expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"))
    await expect(mine).not_to_have_class(re.compile(r"\bpending\b"))
    assert errors == []
