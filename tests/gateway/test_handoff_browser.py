"""End to end in a real browser with the real model: a citizen on the web channel asks
for a person, a mediator takes over from the console, they talk both ways, the mediator
hands back and the bot answers the next message.

The citizen's page is a minimal client of the web channel's protocol (state frame,
replay after the last id, client_id echo), as the widget speaks it.
"""

from __future__ import annotations

import dataclasses

import pytest
from playwright.async_api import Page, expect

from integrations import keys
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import GatewayClient, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.stack]

CITIZEN_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Citoyen</title></head>
<body>
<ol id="log" role="log"></ol>
<p id="state"></p>
<label for="text">Message</label><input id="text">
<button id="send">Envoyer</button>
<button id="human">Parler à une personne</button>
<script>
  var last = 0, socket;
  function show(frame) {
    if (frame.type === "state") {
      var who = frame.mediator ? " " + frame.mediator : "";
      document.getElementById("state").textContent = frame.owner + who;
      return;
    }
    if (frame.type !== "message" || frame.id <= last) { return; }
    last = frame.id;
    var item = document.createElement("li");
    item.className = frame.author;
    item.textContent = frame.text || "";
    document.getElementById("log").appendChild(item);
  }
  var path = "/webhooks/websocket?sender=citoyenne-e2e&after=0";
  socket = new WebSocket("ws://" + location.host + path);
  socket.onmessage = function (event) { show(JSON.parse(event.data)); };
  function send(text) {
    socket.send(JSON.stringify({ message: text, client_id: "c" + Math.random() }));
  }
  document.getElementById("send").onclick = function () {
    var box = document.getElementById("text");
    send(box.value); box.value = "";
  };
  document.getElementById("human").onclick = function () { send("/request_human"); };
</script>
</body></html>"""


async def citizen_page(page: Page, base: str) -> None:
    await page.goto(base + "health")  # the gateway's origin, then the minimal client
    await page.set_content(CITIZEN_PAGE)


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

    citizen = await (await browser.new_context()).new_page()
    await citizen_page(citizen, base)
    await citizen.get_by_label("Message").fill("bonjour")
    await citizen.locator("#send").click()
    await expect(citizen.locator("#log li.bot").first).to_contain_text("Bonjour")
    await citizen.get_by_role("button", name="Parler à une personne").click()
    await expect(citizen.locator("#log li.system").last).to_contain_text(
        "première personne dans la file"
    )
    await expect(citizen.locator("#state")).to_have_text("waiting")

    # The console shows the new waiting conversation live, with the counter in the title.
    await expect(mediator).to_have_title("(1) File d'attente — Assistant du Département")
    row = mediator.locator(".waiting-row")
    await expect(row).to_contain_text("demande de la personne")
    await row.get_by_role("button", name="Prendre en charge").click()
    await mediator.wait_for_url("**/console/conversations/*")
    await expect(citizen.locator("#log li.system").last).to_have_text(
        "Martine a rejoint la conversation."
    )
    await expect(citizen.locator("#state")).to_have_text("mediator Martine")

    await mediator.get_by_label("Votre message à la personne").fill("Bonjour, ici Martine.")
    await mediator.get_by_role("button", name="Envoyer").click()
    await expect(citizen.locator("#log li.mediator")).to_have_text("Bonjour, ici Martine.")

    await citizen.get_by_label("Message").fill("Je n'arrive pas à imprimer mon attestation")
    await citizen.locator("#send").click()
    await expect(mediator.locator("#transcript .msg-user").last).to_contain_text(
        "Je n'arrive pas à imprimer mon attestation"
    )
    conversation = client.app[keys.STORE].conversation("web:citoyenne-e2e")
    assert conversation is not None and conversation.owner is Owner.MEDIATOR

    await mediator.get_by_role("button", name="Rendre la main à l'assistant").click()
    await expect(citizen.locator("#log li.system").last).to_contain_text(
        "L'assistant automatique reprend la conversation"
    )
    await expect(citizen.locator("#state")).to_have_text("bot")
    bot_answers = await citizen.locator("#log li.bot").count()
    await citizen.get_by_label("Message").fill("bonjour")
    await citizen.locator("#send").click()
    await expect(citizen.locator("#log li.bot")).to_have_count(bot_answers + 1)
    await expect(citizen.locator("#log li.bot").last).to_contain_text("Bonjour")
