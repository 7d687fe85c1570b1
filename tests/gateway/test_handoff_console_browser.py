"""The mediator console and the widget in real browsers (headless chromium), Rasa down:
the widget's « Parler à un médiateur » starts the handoff without the model.

A mediator's console closed mid-conversation: after the presence timeout the person is
told and a second mediator takes it. Transfer between mediators. The nobody-online path
says one thing. axe-core on every console page. Keyboard only: take, reply, hand back,
with the focus checked at each step and kept across the queue's live refresh.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from integrations import keys
from integrations.keys import HANDOFF
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, staff_user
from tests.gateway.web_client import citizen
from tests.gateway.web_client import say as web_say
from tests.widget.conftest import AXE, MESSAGES, open_demo

pytestmark = [pytest.mark.browser]

PASSWORD = "mot-de-passe-long"
COUNCIL_PHONE = "02 61 91 00 00"  # data/council.yml
# What axe checks: WCAG 2.1 A / AA and its best practices (empty table headers…).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
WAIT_MS = 20_000


def settings_for(base: Settings) -> Settings:
    """Mediators always on duty; a console gone two seconds counts as departed."""
    return dataclasses.replace(base, mediator_hours="24/7", handoff_presence_timeout_s=2)


async def console(browser: Browser, base: str, username: str) -> Page:
    """A mediator's browser, logged in, on the queue page and connected. (axe-core is
    injected as an inline script, which the console's CSP refuses: bypassed here.)"""
    page = await (await browser.new_context(bypass_csp=True)).new_page()
    await page.goto(base + "console/login")
    await page.get_by_label("Identifiant").fill(username)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/console/")
    await expect(page.locator("#live-status")).to_contain_text("Connecté")
    return page


async def ask_for_a_mediator(page: Page) -> None:
    await page.get_by_role("button", name="Parler à un médiateur").click()


async def axe(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    return await page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target),
            }));
        }""",
        AXE_TAGS,
    )


async def focused(page: Page) -> dict[str, str | None]:
    return await page.evaluate(
        """() => {
            const node = document.activeElement;
            return { id: node.id || null, key: node.dataset ? node.dataset.key || null : null,
                     tag: node.tagName.toLowerCase() };
        }"""
    )


async def tab_to(page: Page, wanted: dict[str, str], backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element has ``wanted``'s id or data-key."""
    for _ in range(60):
        now = await focused(page)
        if all(now.get(k) == v for k, v in wanted.items()):
            return
        await page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"never reached {wanted} with the keyboard")


async def two_mediators(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> tuple[TestClient, Page, Page]:
    """The gateway with mediators Annick and Bruno, each in their own logged-in console."""
    settings = settings_for(base_settings)
    staff_user(settings, "annick", PASSWORD, "mediator", "Annick")
    staff_user(settings, "bruno", PASSWORD, "mediator", "Bruno")
    client = await gateway_client(settings)
    base = str(client.server.make_url("/"))
    return client, await console(browser, base, "annick"), await console(browser, base, "bruno")


async def test_a_closed_console_gives_the_person_back_to_the_queue_then_to_another_mediator(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    client, annick, bruno = await two_mediators(gateway_client, base_settings, browser)

    person = await open_demo(client, await browser.new_context())
    await ask_for_a_mediator(person)
    await expect(person.locator(".who")).to_have_text(
        "En attente d'un médiateur : vous êtes la première personne dans la file."
    )
    await annick.locator(".waiting-row").get_by_role("button", name="Prendre en charge").click()
    await annick.wait_for_url("**/console/conversations/*")
    await expect(person.locator(".who")).to_have_text("Annick vous répond.")

    await annick.context.close()  # mid-conversation, the console is gone
    gone = person.locator(".message.system").last
    await expect(gone).to_contain_text("Annick n'est plus en ligne", timeout=WAIT_MS)
    await expect(person.locator(".who")).to_have_text(
        "En attente d'un médiateur : vous êtes la première personne dans la file."
    )
    await expect(bruno.locator("#live-status")).to_contain_text(
        "Annick n'est plus en ligne : sa conversation revient en tête de la file d'attente."
    )
    await expect(bruno.locator(".waiting-row")).to_contain_text("Revenue en tête de file")
    await bruno.locator(".waiting-row").get_by_role("button", name="Prendre en charge").click()
    await bruno.wait_for_url("**/console/conversations/*")
    await expect(person.locator(".message.system").last).to_contain_text(
        "Bruno a rejoint la conversation."
    )
    await expect(person.locator(".who")).to_have_text("Bruno vous répond.")


async def test_transfer_to_another_online_mediator(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    client, annick, bruno = await two_mediators(gateway_client, base_settings, browser)
    await expect(annick.locator("#online")).to_contain_text("Bruno")

    person = await open_demo(client, await browser.new_context())
    await ask_for_a_mediator(person)
    await annick.locator(".waiting-row").get_by_role("button", name="Prendre en charge").click()
    await annick.wait_for_url("**/console/conversations/*")
    await annick.get_by_label("Médiateur en ligne").select_option(label="Bruno")
    await annick.get_by_label("Note pour ce médiateur").fill("Demande d'APA, dossier incomplet.")
    await annick.get_by_role("button", name="Transmettre la conversation").click()

    await expect(person.locator(".message.system").last).to_contain_text(
        "Annick a confié votre conversation à Bruno, qui va vous répondre ici."
    )
    await expect(person.locator(".who")).to_have_text("Bruno vous répond.")
    await expect(bruno.locator("#live-status")).to_contain_text(
        "Annick vous a transmis une conversation : « Demande d'APA, dossier incomplet. »"
    )
    await expect(annick.locator("#done")).to_be_focused()
    await expect(annick.locator("#owner-line")).to_contain_text("avec un médiateur (Bruno)")
    await expect(annick.get_by_role("button", name="Rendre la main à l'assistant")).to_have_count(0)


async def test_nobody_online_says_one_thing_with_the_council_number(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(settings_for(base_settings))
    person = await open_demo(client, await browser.new_context())
    await ask_for_a_mediator(person)
    # Whatever the way it came (socket, or REST before the socket opened): one answer.
    answer = person.locator(".log .message:not(.welcome):not(.user)")
    await expect(answer).to_have_count(1)
    await expect(answer).to_contain_text("Aucun médiateur n'est disponible en ce moment")
    await expect(answer).to_contain_text(COUNCIL_PHONE)
    await expect(person.locator(".who")).to_have_text(
        "Aucun médiateur disponible : vous pouvez laisser un message."
    )
    shown = "\n".join(await person.locator(MESSAGES).all_inner_texts())
    assert "fais appel" not in shown and "indisponible" not in shown
    assert "En attente d'un médiateur" not in await person.locator(".who").inner_text()


async def test_axe_finds_nothing_on_any_console_page(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    settings = settings_for(base_settings)
    staff_user(settings, "annick", PASSWORD, "mediator", "Annick")
    client = await gateway_client(settings)
    base = str(client.server.make_url("/"))
    service = client.app[HANDOFF]
    login = await (await browser.new_context(bypass_csp=True)).new_page()
    await login.goto(base + "console/login")
    report: dict[str, Any] = {"login": await axe(login)}

    # Two messages left while nobody is online (one will be handled); then, Annick
    # online, one person waiting, one with Annick, one closed.
    await web_say(client, await citizen(client, "t1"), "/request_human")
    await web_say(client, await citizen(client, "t1"), "Rappelez-moi au 06 12 34 56 78")
    await web_say(client, await citizen(client, "t2"), "/request_human")
    await web_say(client, await citizen(client, "t2"), "Mon courriel : t2@exemple.fr")
    page = await console(browser, base, "annick")
    await web_say(client, await citizen(client, "mine"), "/request_human")
    await web_say(client, await citizen(client, "gone"), "/request_human")
    await web_say(client, await citizen(client, "waiting"), "/request_human")
    await web_say(client, await citizen(client, "waiting"), "J'habite à Quimper, pour le RSA")
    store = client.app[keys.STORE]

    def id_of(name: str) -> int:
        found = store.conversation(f"web:{known[name]}")
        assert found is not None
        return found.id

    known = {n: (await citizen(client, n)).sender for n in ("mine", "gone", "waiting")}
    for name in ("mine", "gone"):
        await page.goto(base + f"console/conversations/{id_of(name)}")
        await page.get_by_role("button", name="Prendre en charge").click()
        await expect(page.locator("#chat-text")).to_be_focused()
    await page.get_by_role("button", name="Clore la conversation").click()
    await expect(page.locator("#done")).to_have_text("La conversation est terminée.")
    report["conversation closed"] = await axe(page)
    [first, _] = service.store.tickets()
    await page.goto(base + "console/tickets")
    await page.locator(f"form[action$='/tickets/{first.id}/done'] button").click()
    await expect(page.locator("#done")).to_be_focused()
    report["tickets"] = await axe(page)

    await page.goto(base + "console/")
    await expect(page.locator(".waiting-row")).to_have_count(1)
    await page.locator(".waiting-row summary").click()
    report["queue"] = await axe(page)
    await page.goto(base + f"console/conversations/{id_of('mine')}")
    await web_say(client, await citizen(client, "mine"), "Bonjour, je suis perdu")
    await expect(page.locator("#transcript .msg-user").last).to_contain_text("perdu")
    report["conversation mine"] = await axe(page)
    await page.goto(base + f"console/conversations/{id_of('waiting')}")
    await expect(page.locator("h1")).to_contain_text("Quimper")
    report["conversation waiting"] = await axe(page)
    await page.get_by_role("button", name="Clore sans réponse…").click()
    await expect(page.locator("#confirm-close")).to_be_focused()
    report["close confirmation"] = await axe(page)
    await page.goto(base + "console/closed")
    report["closed list"] = await axe(page)
    found = {name: v for name, v in report.items() if v}
    assert not found, json.dumps(found, ensure_ascii=False, indent=2)


async def test_keyboard_only_take_reply_and_hand_back(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    settings = settings_for(base_settings)
    staff_user(settings, "annick", PASSWORD, "mediator", "Annick")
    client = await gateway_client(settings)
    base = str(client.server.make_url("/"))
    page = await console(browser, base, "annick")
    person = await open_demo(client, await browser.new_context())
    await ask_for_a_mediator(person)
    await expect(page.locator(".waiting-row")).to_have_count(1)
    row_id = await page.locator(".waiting-row").get_attribute("data-id")

    # The preview open, the focus on "Prendre en charge": a live refresh keeps both.
    await tab_to(page, {"key": f"summary-{row_id}"})
    await page.keyboard.press("Enter")
    await tab_to(page, {"key": f"take-{row_id}"})
    await web_say(client, await citizen(client, "autre"), "/request_human")
    await expect(page.locator("#waiting-count")).to_have_text("2")
    assert await focused(page) == {"id": None, "key": f"take-{row_id}", "tag": "button"}
    assert await page.locator(f"details[data-key='preview-{row_id}']").get_attribute("open") == ""

    await page.keyboard.press("Enter")
    await expect(page.locator("#done")).to_have_text(
        "Vous avez pris la conversation en charge : écrivez à la personne."
    )
    await expect(page.locator("#chat-text")).to_be_focused()
    # A button press reads as the button's words, never as its payload.
    await expect(page.locator("#transcript")).to_contain_text("bouton « Parler à un médiateur »")
    await expect(page.locator("#transcript")).not_to_contain_text("/request_human")
    # The newest message is in view: the transcript is scrolled to its end.
    assert await page.evaluate(
        "() => { const t = document.getElementById('transcript');"
        " return t.scrollHeight - t.scrollTop - t.clientHeight < 2; }"
    )

    await page.keyboard.type("Bonjour, ici Annick.")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("Que puis-je faire ?")
    assert await page.locator("#chat-text").input_value() == (
        "Bonjour, ici Annick.\nQue puis-je faire ?"
    )
    await page.keyboard.press("Enter")
    await expect(person.locator(".message.mediator")).to_contain_text("Que puis-je faire ?")
    await expect(person.locator(".message.mediator .author")).to_have_text("Annick")
    mine = page.locator("#transcript .msg-mediator").last
    await expect(mine.locator(".who")).to_have_text("Annick")
    await expect(mine.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(person.locator(".message.mediator .time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(page.locator("#chat-text")).to_be_focused()
    await expect(page.locator("#chat-text")).to_have_value("")

    # Typing shows on the other side, both ways.
    await page.keyboard.type("Un ins")
    await expect(person.locator(".typing")).to_contain_text("Annick écrit…")
    await person.get_by_role("textbox", name="Votre message").fill("Merci")
    await person.get_by_role("textbox", name="Votre message").press("a")
    await expect(page.locator("#typing")).to_have_text("La personne écrit…")

    await tab_to(page, {"id": "hand-back"}, backwards=True)
    await page.keyboard.press("Enter")
    await expect(page.locator("#done")).to_have_text("La conversation est rendue à l'assistant.")
    await expect(page.locator("#done")).to_be_focused()
    await expect(page.locator("#owner-line")).to_contain_text("avec l'assistant")
    await expect(person.locator(".message.system").last).to_contain_text(
        "Annick a quitté la conversation. L'assistant automatique reprend"
    )
    # Once the widget offers its button again, its last message is not cut: the log is
    # scrolled to its very end.
    await expect(person.get_by_role("button", name="Parler à un médiateur")).to_be_visible()
    gap = await person.evaluate(
        """() => {
            const log = document.getElementById("departement-assistant")
                .shadowRoot.querySelector(".log");
            return log.scrollHeight - log.scrollTop - log.clientHeight;
        }"""
    )
    assert gap < 2, f"the widget stops {gap} px short of its last message"


async def test_one_notification_for_two_tabs_and_settings_kept(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    settings = settings_for(base_settings)
    staff_user(settings, "annick", PASSWORD, "mediator", "Annick")
    client = await gateway_client(settings)
    base = str(client.server.make_url("/"))
    first = await console(browser, base, "annick")
    await first.context.grant_permissions(["notifications"])
    # Each tab counts the notifications it shows (the browser's own stay hidden, headless).
    await first.context.add_init_script(
        """window.__shown = [];
        window.Notification = class { constructor(title, options) {
            window.__shown.push(title + " | " + options.body); } };
        window.Notification.permission = "granted";"""
    )
    await first.reload()
    await first.get_by_label("Notification du navigateur").check()
    await first.reload()  # kept in this browser
    await expect(first.get_by_label("Notification du navigateur")).to_be_checked()
    second = await first.context.new_page()
    await second.goto(base + "console/")
    for tab in (first, second):
        await expect(tab.locator("#live-status")).to_contain_text("Connecté")

    await web_say(client, await citizen(client, "alice"), "/request_human")
    for tab in (first, second):
        await expect(tab).to_have_title("(1) File d'attente — Assistant du Département")
    # The tab that alerts marks the event (shared storage) in the step that shows it.
    await first.wait_for_function(
        "() => (localStorage.getItem('departement-console:alerted') || '').includes('waiting:')"
    )
    shown = await first.evaluate("window.__shown") + await second.evaluate("window.__shown")
    assert shown == ["Nouvelle demande en attente | Une personne attend un médiateur."]
