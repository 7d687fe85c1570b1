"""Conversations through the widget in chromium, with the real model and action server.

stack_settings + gateway_client: an in-process gateway on a real port, wired to the
real Rasa server of the session.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from integrations import keys
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, staff_user
from tests.gateway.web_client import HISTORY, WebConversation, history
from tests.widget.conftest import (
    ANSWER_TIMEOUT_MS,
    BOT_MESSAGES,
    MESSAGES,
    active_element,
    axe_installed,
    axe_violations,
    conversation_of,
    demo_url,
    describe,
    log,
    message_field,
    open_demo,
    open_widget,
    send,
    sender_of,
    wait_for_answers,
)

pytestmark = [pytest.mark.browser, pytest.mark.stack]


async def record_typing(page: Page) -> None:
    """Remember in the page whether the typing indicator was ever shown."""
    await page.evaluate(
        """() => {
            const typing = document.querySelector("#departement-assistant")
                .shadowRoot.querySelector(".typing");
            window.typingShown = false;
            new MutationObserver(() => { if (!typing.hidden) window.typingShown = true; })
                .observe(typing, { attributes: true, attributeFilter: ["hidden"] });
        }"""
    )


async def clear_conversation(page: Page) -> None:
    """« Effacer la conversation », confirmed: no message left on screen."""
    await page.get_by_role("button", name="Effacer la conversation").click()
    await page.get_by_role("button", name="Oui, tout effacer").click()
    await expect(page.locator(MESSAGES)).to_have_count(0)


async def test_a_conversation_with_quick_replies_survives_reload_and_navigation(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(stack_settings)
    page = await open_demo(client, browser)
    await record_typing(page)

    await send(page, "bonjour")
    await expect(page.locator(BOT_MESSAGES).first).to_contain_text("Bonjour")
    assert await page.evaluate("window.typingShown")
    await expect(page.locator(".typing")).to_be_hidden()

    await send(page, "que savez-vous faire ?")
    choices = page.get_by_role("group", name="Réponses proposées")
    await expect(choices).to_be_visible()
    await choices.get_by_role("button", name="Apprendre le numérique").click()
    # The button's words are shown for the person's message, not the payload.
    await expect(page.locator(".message.user").last).to_have_text(
        re.compile(r"^Vous :Apprendre le numérique\d\d:\d\d$")
    )
    await wait_for_answers(page, 3)
    await expect(message_field(page)).to_be_focused()
    shown = await page.locator(MESSAGES).all_inner_texts()
    assert len(shown) >= 6

    # A reload keeps the conversation, and the open window, without stealing the focus.
    await page.reload()
    await expect(page.locator(MESSAGES)).to_have_count(len(shown))
    assert await page.locator(MESSAGES).all_inner_texts() == shown
    await expect(page.get_by_role("dialog")).to_be_visible()
    assert (await active_element(page))["tag"] == "body"

    # So does going to another page of the site.
    await page.get_by_role("link", name="Vos démarches").click()
    await page.wait_for_url("**/demo/demarches")
    await expect(page.locator(MESSAGES)).to_have_count(len(shown))
    assert await page.locator(MESSAGES).all_inner_texts() == shown

    # The conversation goes on where it was.
    await send(page, "merci")
    assert await page.locator(MESSAGES).count() >= len(shown) + 2


async def test_a_whole_session_with_the_keyboard_alone(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(stack_settings)
    page = await browser.new_page()
    await page.goto(demo_url(client))

    # Tab through the page to the launcher; Enter opens the window, focus in the field.
    for _ in range(10):
        await page.keyboard.press("Tab")
        if (await active_element(page))["text"] == "Une question ? Discutons":
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(message_field(page)).to_be_focused()

    await page.keyboard.type("que savez-vous faire ?")
    await page.keyboard.press("Enter")
    await wait_for_answers(page, 1)
    await expect(message_field(page)).to_be_focused()

    # Shift+Tab from the field goes back up through the answer: its feedback button,
    # then its quick replies, from the last one up.
    visited = []
    for _ in range(4):
        await page.keyboard.press("Shift+Tab")
        visited.append((await active_element(page))["text"])
        if visited[-1] == "Apprendre le numérique":
            break
    assert visited[-2:] == ["Parler à un médiateur", "Apprendre le numérique"], visited
    outline = await page.evaluate(
        """() => { const root = document.querySelector("#departement-assistant").shadowRoot;
                   return getComputedStyle(root.activeElement).outlineStyle; }"""
    )
    assert outline == "solid"  # visible focus
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.user").last).to_contain_text("Apprendre le numérique")
    await wait_for_answers(page, 2)
    await expect(message_field(page)).to_be_focused()

    # Escape closes and gives the focus back to the launcher; Enter opens again.
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    assert (await active_element(page))["text"] == "Une question ? Discutons"
    await page.keyboard.press("Enter")
    await expect(message_field(page)).to_be_focused()
    await expect(page.locator(BOT_MESSAGES)).to_have_count(2)


async def test_axe_finds_no_wcag_violation_on_the_open_widget_with_a_conversation(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    axe_installed()
    client = await gateway_client(stack_settings)
    page = await open_demo(client, browser)
    await send(page, "bonjour")
    await send(page, "que savez-vous faire ?")
    await expect(page.get_by_role("group", name="Réponses proposées")).to_be_visible()
    await expect(page.locator(".typing")).to_be_hidden()

    violations = await axe_violations(page)
    assert not violations, describe(violations)

    await page.get_by_role("button", name="Effacer la conversation").click()
    violations = await axe_violations(page)
    assert not violations, "with the confirmation open:\n" + describe(violations)
    await page.keyboard.press("Escape")

    await page.get_by_role("button", name="Vos données").click()
    violations = await axe_violations(page)
    assert not violations, "on the privacy notice:\n" + describe(violations)


async def test_asking_for_a_human_and_clearing_the_conversation(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(stack_settings)
    page = await open_demo(client, browser)
    await send(page, "bonjour")
    old_sender = await sender_of(page)

    # The visible « Parler à un médiateur » action sends the request_human intent.
    before = await page.locator(MESSAGES).count()
    await page.get_by_role("button", name="Parler à un médiateur").click()
    await expect(page.locator(".message.user").last).to_have_text(
        re.compile(r"^Vous :Parler à un médiateur\d\d:\d\d$")
    )
    await expect(page.locator(MESSAGES).nth(before + 1)).to_contain_text(
        "médiateur", timeout=ANSWER_TIMEOUT_MS
    )

    # « Effacer la conversation » asks first; Escape or « Annuler » keep everything.
    clear = page.get_by_role("button", name="Effacer la conversation")
    await clear.click()
    await expect(page.get_by_role("button", name="Annuler")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(clear).to_be_focused()
    assert await page.locator(MESSAGES).count() >= before + 2

    await clear_conversation(page)
    await expect(page.get_by_role("status")).to_have_text("La conversation a été effacée.")
    await expect(message_field(page)).to_be_focused()
    new_sender = await sender_of(page)
    assert new_sender and new_sender != old_sender

    # A new conversation starts from scratch, and stays empty after a reload.
    await page.reload()
    await expect(page.locator(MESSAGES)).to_have_count(0)
    await send(page, "bonjour")
    await expect(page.locator(BOT_MESSAGES)).to_have_count(1)
    await expect(log(page)).to_contain_text("Bonjour")


async def stored_history(client, conversation: WebConversation) -> list[dict]:  # type: ignore[no-untyped-def]
    return (await history(client, conversation))["messages"]


async def test_another_tab_replays_the_conversation_and_both_stay_in_step(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    """The protocol's catch-up: a tab without the conversation gets it from the gateway."""
    client = await gateway_client(stack_settings)
    context = await browser.new_context()
    first = await open_demo(client, context)
    await send(first, "bonjour")
    shown = await first.locator(MESSAGES).all_inner_texts()

    # A second tab shares the conversation id (localStorage), not the tab's copy.
    second = await open_demo(client, context, "/demo/demarches")
    await expect(second.locator(MESSAGES)).to_have_count(len(shown))
    assert await second.locator(MESSAGES).all_inner_texts() == shown

    # What one tab sends, the other shows too: the message once, then the answer.
    await send(second, "que savez-vous faire ?")
    await expect(first.locator(".message.user")).to_have_count(2)
    await wait_for_answers(first, 2)
    await expect(first.locator(MESSAGES)).to_have_count(await second.locator(MESSAGES).count())
    await context.close()


async def test_clearing_deletes_the_stored_conversation(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(stack_settings)
    page = await open_demo(client, browser)
    await send(page, "bonjour")
    conversation = await conversation_of(page)
    assert [m["author"] for m in await stored_history(client, conversation)] == ["user", "bot"]

    await clear_conversation(page)
    assert client.server.app[keys.STORE].messages(conversation.rasa_key) == []
    # Its key went with it: the old conversation cannot be read back, even by its key.
    gone = await client.get(HISTORY, headers=conversation.headers)
    assert gone.status == 403
    assert await conversation_of(page) != conversation


async def test_a_bot_answer_can_be_flagged_as_unhelpful(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(stack_settings)
    page = await open_demo(client, browser)
    await send(page, "bonjour")
    answer = page.locator(BOT_MESSAGES).first
    await answer.get_by_role("button", name="Cette réponse ne m'aide pas").click()
    await expect(answer).to_contain_text("Merci, c'est noté.")
    await expect(message_field(page)).to_be_focused()


async def test_without_websockets_it_sends_by_rest_and_polls_the_history(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    """A browser or a proxy without WebSockets: the REST fallback keeps the conversation."""
    client = await gateway_client(stack_settings)
    context = await browser.new_context()
    blocked = await context.new_page()
    await blocked.add_init_script(
        "window.WebSocket = function () { throw new Error('WebSocket blocked'); };"
    )
    requests = []
    blocked.on("request", lambda request: requests.append(request))
    await blocked.goto(demo_url(client))
    await open_widget(blocked)
    await send(blocked, "bonjour")
    await expect(blocked.locator(BOT_MESSAGES).first).to_contain_text("Bonjour")
    # The key goes in a header of every REST call, never in a URL (access logs keep URLs).
    conversation = await conversation_of(blocked)
    rest = [r for r in requests if "/webhooks/rest/" in r.url]
    assert {r.url.split("?")[0].rsplit("/", 1)[-1] for r in rest} >= {"webhook", "history"}
    for request in rest:
        assert conversation.key not in request.url
        assert (await request.all_headers())["x-conversation-key"] == conversation.key

    # A message written in another tab (over its WebSocket) reaches it by polling.
    other = await open_demo(client, context)
    await send(other, "que savez-vous faire ?")
    await expect(blocked.locator(".message.user")).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    await wait_for_answers(blocked, 2)
    await expect(blocked.get_by_role("group", name="Réponses proposées")).to_be_visible()
    await context.close()


async def test_the_key_never_travels_in_a_url(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(stack_settings)
    page = await browser.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    await page.goto(demo_url(client))
    await open_widget(page)
    await send(page, "bonjour")
    await page.reload()  # catch-up over a new WebSocket
    await expect(page.locator(MESSAGES)).to_have_count(2)
    conversation = await conversation_of(page)
    assert any("/webhooks/websocket" in url for url in urls)
    assert any(url.endswith("/webhooks/web/conversations") for url in urls)
    assert not [url for url in urls if conversation.key in url]


async def test_a_conversation_from_before_keys_starts_anew(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    """A widget of an older version kept only a client-chosen id: nobody can read that one
    back, so the widget asks the gateway for a new conversation."""
    client = await gateway_client(stack_settings)
    page = await browser.new_page()
    await page.goto(demo_url(client))
    await page.evaluate(
        """() => localStorage.setItem(
            "departement-assistant:" + location.origin + ":sender", "ancien-id")"""
    )
    await page.reload()
    await open_widget(page)
    await send(page, "bonjour")
    conversation = await conversation_of(page)
    assert conversation.sender != "ancien-id"
    assert [m["author"] for m in await stored_history(client, conversation)] == ["user", "bot"]


async def test_an_agent_signs_in_from_the_widget_and_is_recognised(
    gateway_client: GatewayClient, stack_settings: Settings, browser: Browser
) -> None:
    """« Vous êtes agent ? Se connecter » → the console login → the agents' page, where the
    same widget speaks to the assistant as that agent (data/agents.yml: web a.martin)."""
    staff_user(stack_settings, "a.martin", "mot-de-passe-anne", name="Anne")
    client = await gateway_client(stack_settings)
    page = await open_demo(client, browser)
    await send(page, "mes réservations")
    await expect(page.locator(BOT_MESSAGES).last).to_contain_text("réservé aux agents")

    await page.get_by_role("link", name="Se connecter").click()
    await page.get_by_label("Identifiant").fill("a.martin")
    await page.get_by_label("Mot de passe").fill("mot-de-passe-anne")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page).to_have_url(demo_url(client, "/console/agent/"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("agents")
    await open_widget(page)
    await send(page, "mes réservations")
    answer = page.locator(BOT_MESSAGES).last
    await expect(answer).not_to_contain_text("réservé aux agents")
    await expect(answer).to_contain_text("réservation")
    agent = await page.evaluate(
        """() => localStorage.getItem(
            "departement-assistant:agent:" + location.origin + ":sender")"""
    )
    assert agent.startswith("agent-")
