"""The survey in the real widget, with the real Rasa stack: asked under each answer when
SURVEY_ENABLED is on, the answer stored and counted; axe-core finds no violation."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from integrations import keys
from integrations.admin.inbox import InboxHit, Source
from integrations.indicators.models import SurveyAnswer
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, stack_settings  # noqa: F401
from tests.widget.conftest import BOT_MESSAGES, axe_violations, describe, open_demo, send

pytestmark = [pytest.mark.browser]


async def test_the_survey_under_an_answer(
    gateway_client: GatewayClient,
    stack_settings: Settings,  # noqa: F811
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SURVEY_ENABLED", "true")
    client = await gateway_client(stack_settings)
    page = await open_demo(client, await browser.new_context(bypass_csp=True))
    await send(page, "bonjour")
    answer = page.locator(BOT_MESSAGES).last
    survey = answer.get_by_role("group", name="Cette réponse vous a-t-elle aidé ?")
    await expect(survey).to_be_visible()
    await expect(answer.get_by_role("button", name="Cette réponse ne m'aide pas")).to_have_count(0)
    violations = await axe_violations(page)
    assert not violations, describe(violations)

    await survey.get_by_role("button", name="Non").click()
    await expect(answer.get_by_text("Merci pour votre réponse.")).to_be_visible()
    engine = client.app[keys.STORE].engine

    def stored() -> tuple[list[bool], int]:
        with engine.connect() as connection:
            answers = connection.execute(select(SurveyAnswer.helpful)).scalars().all()
            downs = connection.execute(
                select(InboxHit.id).where(InboxHit.source == Source.USER_DOWN.value)
            ).all()
        return list(answers), len(downs)

    assert await asyncio.to_thread(stored) == ([False], 1)
