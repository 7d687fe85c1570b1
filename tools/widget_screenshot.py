"""Screenshot of the web widget for the README: docs/widget.png.

Starts the real stack (newest model of ``models/``, or ``--model``) on a throw-away
SQLite database, an in-process gateway, and chromium (tests/browser.py) on the demo
page; has a short conversation; saves the page with the widget open.

    python -m tools.widget_screenshot [--model models/x.tar.gz] [--out docs/widget.png]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
from pathlib import Path

from aiohttp import web

from common.config import PROJECT_ROOT
from integrations.app import create_app
from integrations.settings import Settings
from tests.browser import chromium
from tools.stack import free_port, newest_model, running_stack

VIEWPORT = {"width": 1100, "height": 760}
QUESTIONS = ("bonjour", "que savez-vous faire ?")


async def shoot(settings: Settings, out: Path) -> None:
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport=VIEWPORT)
            await page.goto(f"http://{settings.host}:{settings.port}/demo/")
            await page.get_by_role("button", name="Une question ? Discutons").click()
            field = page.get_by_role("textbox", name="Votre message")
            answers = page.locator(".log .message.bot:not(.welcome)")
            for count, question in enumerate(QUESTIONS, start=1):
                await field.fill(question)
                await field.press("Enter")
                await answers.nth(count - 1).wait_for(timeout=60_000)
            await page.locator(".typing").wait_for(state="hidden")
            await page.mouse.click(5, 5)  # no focus ring in the picture
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(out))
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model archive (default: newest of models/)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "widget.png")
    args = parser.parse_args()
    model = args.model or newest_model(PROJECT_ROOT / "models")
    with tempfile.TemporaryDirectory(prefix="widget-screenshot-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'assistant.db'}"
        with running_stack(model, database_url, Path(tmp) / "logs") as stack:
            settings = dataclasses.replace(
                Settings(),
                port=free_port(),
                database_url=database_url,
                rasa_url=stack.rasa_url,
                rasa_token=stack.token,
                gateway_channel_secret=stack.gateway_secret,
                action_server_url=f"{stack.actions_url}/webhook",
            )
            asyncio.run(shoot(settings, args.out))
    print(f"saved {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
