"""The admin console in a real browser: forms with their CSRF token, live training progress."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from integrations.admin.registry import ModelStatus
from integrations.keys import ADMIN
from integrations.settings import Settings
from tests.admin.conftest import RasaEvents
from tests.gateway.conftest import GatewayClient, staff_user

pytestmark = [pytest.mark.browser]


async def login(page: Page, base: str) -> None:
    await page.goto(f"{base}console/login?next=/console/admin/")
    await page.get_by_label("Identifiant").fill("camille")
    await page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/console/admin/")


async def test_annotating_a_new_intent_from_the_inbox(
    gateway_client: GatewayClient, admin_settings: Settings, project: Path, browser
) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(
        staff_user, admin_settings, "camille", "mot-de-passe-solide", "admin", "Camille"
    )
    events = RasaEvents(admin_settings.database_url)
    await events.user_says("web:z", "refaire ma carte grise", "nlu_fallback", 0.4, "ask_procedure")
    client = await gateway_client(admin_settings)
    page = await browser.new_page()
    await login(page, str(client.server.make_url("/")))

    form = page.get_by_role("form", name="Annoter le message")
    await expect(page.get_by_role("cell", name="refaire ma carte grise")).to_be_visible()
    await form.get_by_label("Nouvelle intention").check()
    await form.get_by_label("Nom (ex. : ask_carte_grise)").fill("ask_carte_grise")
    await form.get_by_label("Réponse de l'assistant").fill(
        "La carte grise se demande sur le site de l'ANTS ou en France Services."
    )
    await form.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_role("status")).to_have_text("Annotation enregistrée.")
    await expect(page.get_by_text("Aucun message dans cette liste.")).to_be_visible()
    assert "ask_carte_grise" in (project / "bot" / "domain" / "annotations.yml").read_text()


async def test_training_progress_updates_without_reloading(
    gateway_client: GatewayClient, admin_settings: Settings, browser
) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(
        staff_user, admin_settings, "camille", "mot-de-passe-solide", "admin", "Camille"
    )
    client = await gateway_client(admin_settings)
    registry = client.app[ADMIN].registry
    # A training job as the background CLI process writes it (no real training here:
    # tests/admin/test_retrain.py runs the real ones).
    job = await asyncio.to_thread(registry.start_job, "camille")
    page = await browser.new_page()
    await login(page, str(client.server.make_url("/")))
    await page.goto(str(client.server.make_url("/console/admin/models")))
    status = page.locator("#training-status")
    await expect(status).to_have_text(f"En attente de démarrage (modèle #{job.id})")
    await expect(page.get_by_role("button", name="Réentraîner le modèle")).to_have_count(0)

    progress = {"phase": "training", "component": "DIETClassifier", "epoch": 3, "epochs": 20}
    await asyncio.to_thread(registry.update, job.id, status=ModelStatus.TRAINING, progress=progress)
    await expect(status).to_have_text(
        f"Entraînement (modèle #{job.id}) : DIETClassifier, époque 3/20", timeout=15_000
    )
    await expect(page.locator("#training-progress")).to_have_attribute("value", "3")

    await asyncio.to_thread(
        registry.update, job.id, status=ModelStatus.FAILED, error="Échec : test"
    )
    await expect(status).to_contain_text("Entraînement terminé", timeout=15_000)
    await status.get_by_role("link", name="Afficher le résultat").click()
    await expect(page.get_by_text("Échec : test")).to_be_visible()
