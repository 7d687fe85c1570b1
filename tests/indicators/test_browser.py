"""The dashboard in a real browser: charts drawn by the vendored Chart.js under the
console's CSP, a data table for each chart, filters, and no axe-core violation."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient
from tests.indicators.conftest import PASSWORD
from tests.widget.conftest import axe_violations, describe

pytestmark = [pytest.mark.browser]
MARCH = "du=2026-03-01&au=2026-03-31"


async def login(page: Page, base: str) -> None:
    await page.goto(f"{base}console/login")
    await page.get_by_label("Identifiant").fill("elu")
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/console/indicators/")


async def test_the_dashboard_draws_its_charts_with_tables_and_passes_axe(
    gateway_client: GatewayClient,
    settings: Settings,
    browser,  # type: ignore[no-untyped-def]
) -> None:
    client = await gateway_client(settings)
    base = str(client.server.make_url("/"))
    # First under the real CSP: Chart.js is served locally and draws.
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    await login(page, base)
    await page.goto(f"{base}console/indicators/?{MARCH}")
    issues = page.get_by_role("table", name="Données du graphique : Issue des 11 conversations")
    await expect(issues.get_by_role("row", name="Résolues par l'assistant 6 54.5")).to_be_visible()
    drawn = await page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".map((c) => Chart.getChart(c) ? c.dataset.chart : null)"
    )
    assert "issues" in drawn and None not in drawn, drawn
    assert errors == []
    # Filters: the channel narrows every figure.
    await page.get_by_label("Canal", exact=True).select_option("telegram")
    await page.get_by_role("button", name="Afficher").click()
    await expect(
        page.get_by_role("table", name="Données du graphique : Issue des 1 conversations")
    ).to_be_visible()
    # The CSV of what is shown.
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Télécharger ces indicateurs (CSV)").click()
    saved = await (await download.value).path()
    assert "Abandonnées en attente,Conversations,1" in saved.read_text(encoding="utf-8")

    # Then axe-core on the page (its script is injected: CSP bypassed for it only).
    audit = await (await browser.new_context(bypass_csp=True)).new_page()
    await login(audit, base)
    await audit.goto(f"{base}console/indicators/?{MARCH}")
    await expect(audit.locator("canvas[data-chart='issues']")).to_be_visible()
    violations = await axe_violations(audit)
    assert violations == [], describe(violations)
