"""The widget in a real chromium, against an in-process gateway whose Rasa is down.

What does not need the model: embedding on another site, the service-unavailable
message, live frames pushed by the gateway (mediator joined, state) and reconnection,
small screens, 200 % zoom, reduced motion. The conversations with the real model are in
test_widget_conversation.py.
"""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from integrations import keys
from integrations.messages import Author, Reply
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, wait_until
from tests.widget.conftest import (
    active_element,
    demo_url,
    horizontal_overflow,
    log,
    message_field,
    open_demo,
    open_widget,
    sender_of,
    within_viewport,
)

pytestmark = [pytest.mark.browser]


async def test_one_script_tag_embeds_it_in_another_site_and_a_dead_gateway_is_explained(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser, aiohttp_server
) -> None:  # type: ignore[no-untyped-def]
    """Assets from the gateway, API on data-gateway (here a closed port): French message."""
    client = await gateway_client(base_settings)
    script = client.server.make_url("/widget/widget.js")
    page_html = (
        '<!doctype html><html lang="fr"><head><title>Mairie</title></head><body>'
        "<main><h1>Site de la mairie</h1></main>"
        f'<script src="{script}" data-gateway="http://127.0.0.1:9"'
        ' data-title="Aide en ligne" data-color="#ffcc00"></script></body></html>'
    )

    async def council_page(request: web.Request) -> web.Response:
        return web.Response(text=page_html, content_type="text/html")

    site = web.Application()
    site.router.add_get("/", council_page)
    council_site = await aiohttp_server(site)  # another origin than the gateway's
    page = await browser.new_page()
    await page.goto(str(council_site.make_url("/")))
    launcher = page.get_by_role("button", name="Une question ? Discutons")
    # A light data-color gets black text, a dark one white text (contrast >= 4.5:1).
    assert await launcher.evaluate("b => getComputedStyle(b).color") == "rgb(0, 0, 0)"
    await open_widget(page)
    await expect(page.get_by_role("heading", name="Aide en ligne")).to_be_visible()

    await message_field(page).fill("Bonjour")
    await message_field(page).press("Enter")
    unavailable = log(page).locator(".message.system")
    await expect(unavailable).to_contain_text("momentanément indisponible", timeout=20_000)
    await expect(unavailable).to_contain_text("02 61 91 00 00")
    # The person's message stays shown; the connection problem is said once, politely.
    await expect(log(page).locator(".message.user")).to_have_text(
        re.compile(r"^Vous :Bonjour\d\d:\d\d$")
    )
    await expect(page.get_by_role("status")).to_contain_text("Connexion perdue", timeout=20_000)


async def test_live_frames_show_the_mediator_and_survive_a_reconnection(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(base_settings)
    hub = client.server.app[keys.HUB]
    web_channel = client.server.app[keys.WEB]
    page = await open_demo(client, browser)
    sender = await sender_of(page)
    key = f"web:{sender}"
    await wait_until(lambda: hub.connected(key) == 1, what="the widget's WebSocket")

    await hub.publish(
        key,
        [
            {"type": "state", "owner": "mediator", "queue_position": None, "mediator": "Annick"},
            {
                "type": "message",
                "id": 41,
                "author": "system",
                "recipient_id": sender,
                "text": "Annick a rejoint la conversation.",
                "custom": {"event": "mediator_joined"},
            },
        ],
    )
    await expect(log(page)).to_contain_text("Annick a rejoint la conversation.")
    await expect(page.get_by_role("dialog")).to_contain_text("Annick vous répond.")
    # Nobody asks for a human while one is answering.
    await expect(page.get_by_role("button", name="Parler à un médiateur")).to_be_hidden()
    await web_channel.send(
        sender,
        [
            Reply(
                text="Bonjour, je suis Annick. Voir [Service-public.fr](https://www.service-public.fr).",
                author=Author.MEDIATOR,
            )
        ],
    )
    mediator = log(page).locator(".message.mediator")
    await expect(mediator).to_contain_text("Annick")
    await expect(mediator).to_contain_text("Bonjour, je suis Annick.")
    # Links are real links, announced as opening a new window; the text is never HTML.
    link = mediator.get_by_role("link", name="Service-public.fr (nouvelle fenêtre)")
    await expect(link).to_have_attribute("href", "https://www.service-public.fr")
    await expect(link).to_have_attribute("target", "_blank")

    # The gateway drops the socket: the widget reconnects by itself and keeps receiving.
    await hub.close_all()
    await wait_until(lambda: hub.connected(key) == 1, what="the widget reconnecting")
    await web_channel.send(sender, [Reply(text="Toujours là ?", author=Author.MEDIATOR)])
    await expect(mediator.nth(1)).to_contain_text("Toujours là ?")
    # A frame already shown (same id) is not shown twice.
    await hub.publish(
        key,
        [{"type": "message", "id": 41, "author": "system", "text": "Annick a rejoint."}],
    )
    await web_channel.send(sender, [Reply(text="Dernier message.", author=Author.MEDIATOR)])
    await web_channel.send(sender, [Reply(text="<img src=x onerror=alert(1)> <b>gras</b>")])
    await expect(log(page).locator(".message.bot").last).to_contain_text("<b>gras</b>")
    assert await log(page).locator(".message img, .message b").count() == 0
    await expect(mediator.nth(2)).to_contain_text("Dernier message.")
    await expect(log(page).locator(".message.system")).to_have_count(1)

    # Closed, the window still counts what arrives, on the launcher.
    await page.keyboard.press("Escape")
    await web_channel.send(sender, [Reply(text="Vous êtes là ?", author=Author.MEDIATOR)])
    await expect(
        page.get_by_role("button", name="Une question ? Discutons 1 nouveau message")
    ).to_be_visible()


async def fits(page: Page) -> None:
    """No sideways scrolling, and every control of the open widget on screen."""
    assert await horizontal_overflow(page) == 0
    for name in (
        "Fermer la discussion",
        "Envoyer",
        "Parler à un médiateur",
        "Effacer la conversation",
        "Vos données",
    ):
        button = page.get_by_role("button", name=name)
        await expect(button).to_be_visible()
        assert await within_viewport(page, button), f"« {name} » is off screen"
    assert await within_viewport(page, message_field(page))


async def fill_with_messages(client: TestClient, page: Page) -> None:
    """Several long answers pushed by the gateway, as after a long conversation."""
    sender = await sender_of(page)
    hub = client.server.app[keys.HUB]
    await wait_until(lambda: hub.connected(f"web:{sender}") == 1, what="the widget's WebSocket")
    long_text = (
        "Voici les étapes : ouvrez https://www.service-public.fr/particuliers/vosdroits/F1234 "
        "puis remplissez le formulaire. " * 4
    )
    await client.server.app[keys.WEB].send(sender, [Reply(text=long_text)] * 5)
    await expect(log(page).locator(".message.bot:not(.welcome)")).to_have_count(5)


@pytest.mark.parametrize(
    ("viewport", "scale"),
    [
        ({"width": 320, "height": 640}, 1),  # RGAA 10.11: reflow at 320 CSS pixels
        # 200 % zoom of a 1280 × 720 window: the page lays out in 640 × 360 CSS pixels.
        ({"width": 640, "height": 360}, 2),
    ],
    ids=["320px", "zoom-200"],
)
async def test_small_screens_and_200_percent_zoom_keep_every_control_reachable(
    gateway_client: GatewayClient,
    base_settings: Settings,
    browser: Browser,
    viewport: dict[str, int],
    scale: int,
) -> None:
    client = await gateway_client(base_settings)
    context = await browser.new_context(viewport=viewport, device_scale_factor=scale)
    page = await context.new_page()
    await page.goto(demo_url(client))
    assert await horizontal_overflow(page) == 0
    launcher = page.get_by_role("button", name="Une question ? Discutons")
    await expect(launcher).to_be_visible()
    assert await within_viewport(page, launcher)
    await open_widget(page)
    # The window covers the page: it is modal, the page behind leaves the Tab order.
    await expect(page.get_by_role("dialog")).to_have_attribute("aria-modal", "true")
    assert await page.locator("main").evaluate("m => m.inert")
    await fill_with_messages(client, page)
    await fits(page)
    # The newest message is scrolled into view inside the conversation.
    last = log(page).locator(".message").last
    assert await last.evaluate(
        """m => { const l = m.parentElement.getBoundingClientRect();
                  const r = m.getBoundingClientRect();
                  return r.bottom <= l.bottom + 1; }"""
    )
    await page.get_by_role("button", name="Vos données").click()
    await expect(page.get_by_role("heading", name="Vos données")).to_be_focused()
    assert await horizontal_overflow(page) == 0
    back = page.get_by_role("button", name="Retour à la conversation")
    await back.scroll_into_view_if_needed()
    assert await within_viewport(page, back)
    await page.keyboard.press("Escape")
    await expect(launcher).to_be_focused()
    assert not await page.locator("main").evaluate("m => m.inert")
    await context.close()


async def test_reduced_motion_stops_the_typing_animation(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(base_settings)
    for motion, expected in (("no-preference", "da-bounce"), ("reduce", "none")):
        context = await browser.new_context(reduced_motion=motion)
        page = await open_demo(client, context)
        dot = page.locator(".typing .dots span").first
        assert await dot.evaluate("d => getComputedStyle(d).animationName") == expected
        await context.close()


async def test_the_privacy_notice_says_what_is_kept_how_long_and_whom_to_ask(
    gateway_client: GatewayClient, base_settings: Settings, browser: Browser
) -> None:
    client = await gateway_client(base_settings)
    page = await open_demo(client, browser)
    await expect(log(page)).to_contain_text("Ne donnez pas d'informations sensibles")
    privacy_button = page.get_by_role("button", name="Vos données")
    await privacy_button.click()
    notice = page.locator("#da-privacy")
    await expect(notice).to_contain_text(f"{base_settings.retention_days} jours")
    await expect(notice).to_contain_text("contact@departement.example")
    await expect(notice).to_contain_text("02 61 91 00 00")
    # The notice takes the conversation's place, its title gets the focus.
    await expect(page.get_by_role("heading", name="Vos données")).to_be_focused()
    await expect(log(page)).to_be_hidden()
    await page.get_by_role("button", name="Retour à la conversation").click()
    await expect(privacy_button).to_be_focused()
    await expect(log(page)).to_be_visible()
    assert (await active_element(page))["text"] == "Vos données"
