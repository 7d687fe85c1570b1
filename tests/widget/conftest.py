"""Widget fixtures: the gateway fixtures, and helpers to drive the widget in chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from common.config import PROJECT_ROOT
from tests.gateway.conftest import (  # noqa: F401  (fixtures used by the widget tests)
    base_settings,
    gateway_client,
    stack_settings,
)
from tests.gateway.web_client import WebConversation

AXE = PROJECT_ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The real model and action server answer within seconds, but the CPU is shared.
ANSWER_TIMEOUT_MS = 60_000

# Messages shown in the conversation (the welcome note is the widget's own, not stored).
MESSAGES = ".log .message:not(.welcome)"
BOT_MESSAGES = ".log .message.bot:not(.welcome)"


def demo_url(client: TestClient, path: str = "/demo/") -> str:
    """The address of a page of the gateway's demo site."""
    return str(client.server.make_url(path))


async def open_demo(
    client: TestClient, opener: Browser | BrowserContext, path: str = "/demo/"
) -> Page:
    """A new page of the gateway's demo site at ``path``, with the widget open."""
    page = await opener.new_page()
    await page.goto(demo_url(client, path))
    await open_widget(page)
    return page


async def open_widget(page: Page) -> None:
    """Click the launcher; the message field gets the focus."""
    await page.get_by_role("button", name="Une question ? Discutons").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(message_field(page)).to_be_focused()


def message_field(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Votre message")


def log(page: Page) -> Locator:
    return page.get_by_role("log")


async def sender_of(page: Page) -> str:
    """The conversation id the widget keeps in localStorage."""
    return (await conversation_of(page)).sender


async def conversation_of(page: Page) -> WebConversation:
    """The conversation the gateway issued to the widget (sender and key, localStorage)."""
    # Issued when the chat opens (a request to the gateway): wait for it.
    handle = await page.wait_for_function(
        """() => {
            const entries = Object.entries(localStorage);
            const find = (end) => (entries.find(([k]) => k.endsWith(end)) || [])[1] || null;
            const kept = { sender: find(":sender"), key: find(":key") };
            return kept.sender && kept.key ? kept : null;
        }""",
        timeout=10_000,
    )
    kept = await handle.json_value()
    return WebConversation(kept["sender"], kept["key"])


async def send(page: Page, text: str) -> None:
    """Type ``text`` and wait for the next answer of the bot."""
    before = await page.locator(BOT_MESSAGES).count()
    await message_field(page).fill(text)
    await message_field(page).press("Enter")
    await wait_for_answers(page, before + 1)


async def wait_for_answers(page: Page, count: int) -> None:
    await expect(page.locator(BOT_MESSAGES).nth(count - 1)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


async def active_element(page: Page) -> dict[str, Any]:
    """The focused element, looking inside the widget's shadow root."""
    return await page.evaluate(
        """() => {
            let node = document.activeElement;
            while (node && node.shadowRoot && node.shadowRoot.activeElement) {
                node = node.shadowRoot.activeElement;
            }
            return {
                tag: node ? node.tagName.toLowerCase() : null,
                text: node ? (node.innerText || "").trim() : null,
                label: node ? node.getAttribute("aria-label") : null,
                id: node ? node.id : null,
            };
        }"""
    )


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A / AA violations on the whole page, shadow roots included."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return results.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
            }));
        }""",
        AXE_TAGS,
    )
    return result


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=2)


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page scrolls sideways (0 when nothing overflows)."""
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


async def within_viewport(page: Page, locator: Locator) -> bool:
    box = await locator.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )


def axe_installed() -> Path:
    if not AXE.exists():
        raise FileNotFoundError(f"{AXE} missing: run scripts/browser.sh")
    return AXE
