"""A real headless browser for the tests: Debian's chromium driven by playwright.

playwright's own browser download cannot run here (closed network); the lock file's
playwright package drives /usr/bin/chromium (installed by scripts/browser.sh).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches chromium keeps calling Google's hosts,
# which this closed network refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():  # noqa: ASYNC240 (one stat, before any await)
        raise FileNotFoundError(f"{CHROMIUM} missing: run scripts/browser.sh")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
