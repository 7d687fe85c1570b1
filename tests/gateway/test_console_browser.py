"""The console login in a real browser: keyboard only, session cookie, French errors."""

from __future__ import annotations

import pytest

from integrations.console.auth import SESSION_COOKIE
from tests.gateway.conftest import GatewayClient, staff_user

pytestmark = [pytest.mark.browser]


async def test_a_mediator_logs_in_with_the_keyboard_alone(
    gateway_client: GatewayClient, base_settings, browser
) -> None:  # type: ignore[no-untyped-def]
    staff_user(base_settings, "annick", "mot-de-passe-long", "mediator", "Annick")
    client = await gateway_client(base_settings)
    page = await browser.new_page()
    await page.goto(str(client.server.make_url("/console/login")))
    assert await page.title() == "Connexion — Assistant du Département"

    # The username field has the focus; Tab and Enter are enough.
    await page.keyboard.type("annick")
    await page.keyboard.press("Tab")
    await page.keyboard.type("pas le bon")
    await page.keyboard.press("Enter")
    await page.get_by_role("alert").wait_for()
    assert "Identifiant ou mot de passe incorrect" in await page.get_by_role("alert").inner_text()
    assert not [c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE]

    await page.get_by_label("Identifiant").fill("annick")
    await page.get_by_label("Mot de passe").fill("mot-de-passe-long")
    await page.get_by_role("button", name="Se connecter").press("Enter")
    await page.wait_for_url("**/console/")
    [cookie] = [c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
