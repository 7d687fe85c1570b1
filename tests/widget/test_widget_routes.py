"""The widget's assets and demo pages, served by the gateway (no browser, no Rasa)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from common.content import ContentError
from integrations.settings import Settings
from integrations.widget.config import fill, load_config
from tests.gateway.conftest import GatewayClient, console_login, staff_user


def server_config(script: str) -> dict:
    """The configuration the gateway wrote into widget.js."""
    found = re.search(r"const SERVER = (\{.*?\});\n", script)
    assert found, "no server configuration in widget.js"
    return json.loads(found.group(1))


async def test_the_script_carries_the_contacts_and_the_privacy_notice(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    settings = dataclasses.replace(base_settings, retention_days=30, widget_title="Aide en ligne")
    client = await gateway_client(settings)
    response = await client.get("/widget/widget.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    config = server_config(await response.text())
    assert config["title"] == "Aide en ligne"
    assert config["maxMessageChars"] == settings.max_message_chars
    assert config["council"]["phone"] == "02 61 91 00 00"
    assert config["council"]["email"] == "contact@departement.example"
    notice = " ".join(config["privacy"]["paragraphs"])
    assert "30 jours" in notice
    assert "contact@departement.example" in notice and "02 61 91 00 00" in notice
    assert "{" not in notice  # every placeholder filled
    assert "sensibles" in config["privacy"]["warning"]


async def test_assets_are_revalidated_with_an_etag(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    client = await gateway_client(base_settings)
    for path, content_type in (
        ("/widget/widget.js", "text/javascript"),
        ("/widget/widget.css", "text/css"),
    ):
        first = await client.get(path)
        assert first.status == 200 and first.content_type == content_type
        assert first.headers["Cache-Control"] == "no-cache"
        again = await client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status == 304


async def test_the_demo_site_has_two_french_pages_with_the_widget(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    client = await gateway_client(base_settings)
    for path in ("/demo/", "/demo/demarches"):
        response = await client.get(path)
        assert response.status == 200 and response.content_type == "text/html"
        page = await response.text()
        assert '<html lang="fr">' in page
        assert "Département de l'Exemple" in page
        assert '<script src="/widget/widget.js"' in page
    redirect = await client.get("/demo", allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["Location"] == "/demo/"
    missing = await client.get("/demo/inconnue")
    assert missing.status == 404
    assert (await missing.json())["error"] == "Page introuvable."


async def test_the_demo_can_be_switched_off(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    client = await gateway_client(dataclasses.replace(base_settings, widget_demo=False))
    assert (await client.get("/demo/")).status == 404
    assert (await client.get("/widget/widget.js")).status == 200


async def test_broken_content_files_give_a_french_503_and_a_log_line(
    gateway_client: GatewayClient,
    base_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "council.yml").write_text("name: Département\nswitchboard: {}\n")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    client = await gateway_client(base_settings)
    response = await client.get("/widget/widget.js")
    assert response.status == 503
    assert await response.json() == {
        "error": "L'assistant est momentanément indisponible.",
        "code": "widget_unavailable",
    }
    assert "widget: cannot read its content files" in caplog.text


def test_an_unknown_placeholder_in_the_privacy_notice_is_an_error() -> None:
    assert fill("Gardés {retention_days} jours.", {"retention_days": "90"}) == "Gardés 90 jours."
    with pytest.raises(ContentError, match="retention_day"):
        fill("Gardés {retention_day} jours.", {"retention_days": "90"})


def test_the_shipped_privacy_notice_names_the_retention_and_a_contact(
    base_settings: Settings,
) -> None:
    notice = load_config(base_settings).privacy
    text = " ".join(notice.paragraphs)
    assert f"{base_settings.retention_days} jours" in text
    assert "Effacer la conversation" in text
    # Short sentences for readers uneasy with written French (widget issue: plain language).
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    assert max(len(s.split()) for s in sentences) <= 25


def test_widget_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.config import ConfigError

    monkeypatch.setenv("WIDGET_TITLE", "Aide en ligne")
    monkeypatch.setenv("WIDGET_DEMO", "false")
    settings = Settings.from_env()
    assert (settings.widget_title, settings.widget_demo) == ("Aide en ligne", False)
    monkeypatch.setenv("WIDGET_DEMO", "peut-être")
    with pytest.raises(ConfigError, match="WIDGET_DEMO"):
        Settings.from_env()


async def test_the_agents_page_needs_a_signed_in_account(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    client = await gateway_client(base_settings)
    anonymous = await client.get("/console/agent/", allow_redirects=False)
    assert anonymous.status == 302
    assert anonymous.headers["Location"] == "/console/login?next=/console/agent/"
    assert (await client.get("/console/agent", allow_redirects=False)).headers[
        "Location"
    ] == "/console/agent/"

    staff_user(base_settings, "annick", "mot-de-passe-annick", name="Annick")
    await console_login(client, "annick", "mot-de-passe-annick")
    page = await client.get("/console/agent/")
    assert page.status == 200
    html = await page.text()
    assert '<script src="/widget/widget.js" defer data-agent="true"' in html
    assert "Annick" in html and "Se déconnecter" in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # The public widget offers the agents' sign-in, which comes back to this page.
    script = await (await client.get("/widget/widget.js")).text()
    assert "Vous êtes agent ? " in script and '"/console/agent/"' in script
