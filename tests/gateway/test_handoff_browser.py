"""End to end in a real browser with the real model: a citizen using the web widget of the
demo site asks for a person, a mediator takes over from the console, they talk both ways,
the mediator hands back and the bot answers the next message.
"""

from __future__ import annotations

import dataclasses

import pytest
from playwright.async_api import Page, expect

from integrations import keys
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import GatewayClient, staff_user
from tests.widget.conftest import (
    ANSWER_TIMEOUT_MS,
    BOT_MESSAGES,
    message_field,
    open_demo,
    sender_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.stack]


async def test_web_citizen_and_mediator_in_real_browsers(
    gateway_client: GatewayClient, stack_settings: Settings, browser
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(stack_settings, mediator_hours="24/7")
    staff_user(settings, "martine", "mot-de-passe-long", "mediator", "Martine")
    client = await gateway_client(settings)
    base = str(client.server.make_url("/"))

    mediator = await (await browser.new_context()).new_page()
    await mediator.goto(base + "console/login")
    await mediator.get_by_label("Identifiant").fill("martine")
    await mediator.get_by_label("Mot de passe").fill("mot-de-passe-long")
    await mediator.get_by_role("button", name="Se connecter").click()
    await mediator.wait_for_url("**/console/")
    await expect(mediator.locator("#live-status")).to_contain_text("Connecté")

    citizen = await open_demo(client, await browser.new_context())
    await say(citizen, "bonjour")
    await expect(citizen.locator(BOT_MESSAGES).first).to_contain_text(
        "Bonjour", timeout=ANSWER_TIMEOUT_MS
    )
    await citizen.get_by_role("button", name="Parler à un médiateur").click()
    await expect(citizen.locator(".message.system").last).to_contain_text(
        "première personne dans la file", timeout=ANSWER_TIMEOUT_MS
    )
    await expect(
        citizen.get_by_text(
            "En attente d'un médiateur : vous êtes la première personne dans la file."
        )
    ).to_be_visible()

    # The console shows the new waiting conversation live, with the counter in the title.
    await expect(mediator).to_have_title("(1) File d'attente — Assistant du Département")
    row = mediator.locator(".waiting-row")
    await expect(row).to_contain_text("demande de la personne")
    await row.get_by_role("button", name="Prendre en charge").click()
    await mediator.wait_for_url("**/console/conversations/*")
    await expect(citizen.locator(".message.system").last).to_contain_text(
        "Martine a rejoint la conversation."
    )
    await expect(citizen.get_by_text("Martine vous répond.")).to_be_visible()

    await mediator.get_by_label("Votre message à la personne").fill("Bonjour, ici Martine.")
    await mediator.get_by_role("button", name="Envoyer").click()
    await expect(citizen.locator(".message.mediator")).to_contain_text("Bonjour, ici Martine.")

    await say(citizen, "Je n'arrive pas à imprimer mon attestation")
    await expect(mediator.locator("#transcript .msg-user").last).to_contain_text(
        "Je n'arrive pas à imprimer mon attestation"
    )
    key = f"web:{await sender_of(citizen)}"
    conversation = client.app[keys.STORE].conversation(key)
    assert conversation is not None and conversation.owner is Owner.MEDIATOR

    await mediator.get_by_role("button", name="Rendre la main à l'assistant").click()
    await expect(citizen.locator(".message.system").last).to_contain_text(
        "L'assistant automatique reprend la conversation"
    )
    bot_answers = await citizen.locator(BOT_MESSAGES).count()
    await say(citizen, "bonjour")
    await expect(citizen.locator(BOT_MESSAGES)).to_have_count(
        bot_answers + 1, timeout=ANSWER_TIMEOUT_MS
    )
    await expect(citizen.locator(BOT_MESSAGES).last).to_contain_text("Bonjour")


async def say(page: Page, text: str) -> None:
    await message_field(page).fill(text)
    await message_field(page).press("Enter")
