"""The DPO's page through the real gateway app: admin only, CSRF, find, export, erase."""

from __future__ import annotations

import asyncio
import html as html_module
import json

from aiohttp import ClientResponse

from integrations import keys
from integrations.handoff.store import HandoffStore
from integrations.messages import Incoming, Role
from integrations.settings import Settings
from integrations.store import Store
from tests.gateway.conftest import GatewayClient, console_login, staff_user

SENDER = "4f2a9c7e1b3d5a60"
PAGE = "/console/admin/privacy"


async def page_text(response: ClientResponse) -> str:
    """The page as a reader sees it (Jinja escapes apostrophes)."""
    return html_module.unescape(await response.text())


async def test_an_admin_finds_exports_and_erases_one_persons_data(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    for name, role in (("dpo", "admin"), ("annick", "mediator")):
        await asyncio.to_thread(staff_user, base_settings, name, "mot-de-passe-solide", role)
    client = await gateway_client(base_settings)
    store: Store = client.app[keys.STORE]
    ref, _ = await asyncio.to_thread(
        store.record_incoming,
        Incoming("web", SENDER, SENDER, "rappelez-moi au 06 12 34 56 78", Role.CITIZEN),
    )
    await asyncio.to_thread(
        HandoffStore(store.engine).add_ticket, ref.id, "web", "06 12 34 56 78", "rappel"
    )

    # Anonymous: to the login page; a mediator: refused.
    response = await client.get(PAGE, allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/console/login")
    mediator = await console_login(client, "annick", "mot-de-passe-solide")
    response = await client.post(PAGE, data={"csrf": mediator, "kind": "web", "value": SENDER})
    assert response.status == 403
    await client.post("/console/logout", data={"csrf": mediator})

    csrf = await console_login(client, "dpo", "mot-de-passe-solide")
    page = await client.get(PAGE)
    assert page.status == 200
    assert 'href="/console/admin/privacy" aria-current="page"' in await page_text(page)

    # Every form checks the CSRF token.
    response = await client.post(PAGE, data={"csrf": "faux", "kind": "web", "value": SENDER})
    assert response.status == 403
    assert (await response.json())["code"] == "csrf_failed"

    # A bad identifier: a French reason, 400.
    response = await client.post(PAGE, data={"csrf": csrf, "kind": "email", "value": "marie"})
    assert response.status == 400
    assert "Cette adresse électronique n'est pas valide." in await page_text(response)

    # Find by phone: the conversation and the ticket.
    response = await client.post(PAGE, data={"csrf": csrf, "kind": "phone", "value": "0612345678"})
    assert response.status == 200
    html = await page_text(response)
    assert f"web:{SENDER}" in html and "Effacer définitivement" in html

    # Export: a JSON file.
    response = await client.post(
        f"{PAGE}/export", data={"csrf": csrf, "kind": "web", "value": SENDER}
    )
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    exported = json.loads(await response.text())
    assert exported["messages"][0]["text"] == "rappelez-moi au 06 12 34 56 78"
    assert exported["tickets"][0]["contact"] == "06 12 34 56 78"

    # Erase without the confirmation: nothing goes.
    form = {"csrf": csrf, "kind": "web", "value": SENDER}
    response = await client.post(f"{PAGE}/erase", data={**form, "confirm": "oui"})
    assert response.status == 400
    assert "Rien n'a été effacé" in await page_text(response)
    assert await asyncio.to_thread(store.conversation, f"web:{SENDER}") is not None

    response = await client.post(f"{PAGE}/erase", data={**form, "confirm": "effacer"})
    assert response.status == 200
    assert "ont été effacées" in await page_text(response)
    assert await asyncio.to_thread(store.conversation, f"web:{SENDER}") is None
    assert await asyncio.to_thread(HandoffStore(store.engine).tickets) == []

    # The journal says who did what, with the kind of identifier only.
    journal = await page_text(await client.get("/console/admin/audit"))
    assert "Effacement des données d'une personne" in journal
    assert "Export des données d'une personne" in journal
    assert SENDER not in journal and "0612345678" not in journal
