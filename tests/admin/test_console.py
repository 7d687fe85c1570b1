"""Admin console over HTTP: roles, CSRF, the inbox pages, and the two feedback endpoints."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from integrations import keys
from integrations.messages import Incoming, Reply, Role
from integrations.settings import Settings
from tests.admin.conftest import RasaEvents
from tests.gateway.conftest import GatewayClient, console_login, staff_user

ADMIN_PAGES = [
    "/console/admin/",
    "/console/admin/models",
    "/console/admin/audit",
]
ADMIN_POSTS = [
    "/console/admin/train",
    "/console/admin/rollback",
    "/console/admin/inbox/1",
    "/console/admin/models/1/activate",
]


async def logged_in(
    gateway_client: GatewayClient, settings: Settings, role: str
) -> tuple[TestClient, str]:
    await asyncio.to_thread(staff_user, settings, f"{role}1", "mot-de-passe-solide", role, "Annick")
    client = await gateway_client(settings)
    csrf = await console_login(client, f"{role}1", "mot-de-passe-solide")
    return client, csrf


async def test_anonymous_requests_are_refused(
    gateway_client: GatewayClient, admin_settings: Settings
) -> None:
    client = await gateway_client(admin_settings)
    for path in ADMIN_PAGES:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/console/login?next=/console/admin")
    for path in ADMIN_POSTS:
        response = await client.post(path, data={"csrf": "x"}, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"] == f"/console/login?next={path}"
    response = await client.get("/console/admin/training")
    assert response.status == 401
    assert (await response.json())["code"] == "unauthorized"
    response = await client.post("/console/inbox/flag", json={"message_id": 1})
    assert response.status == 401
    admin = client.app[_admin_key()]  # nothing was started or written
    assert await asyncio.to_thread(admin.registry.running) is None
    assert await asyncio.to_thread(admin.audit.latest) == []


def _admin_key():  # type: ignore[no-untyped-def]
    from integrations.keys import ADMIN

    return ADMIN


async def test_mediators_are_refused_the_admin_console(
    gateway_client: GatewayClient, admin_settings: Settings
) -> None:
    client, csrf = await logged_in(gateway_client, admin_settings, "mediator")
    for path in ADMIN_PAGES:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403, path
        assert "réservée aux administrateurs" in await response.text()
    for path in ADMIN_POSTS:
        response = await client.post(path, data={"csrf": csrf}, allow_redirects=False)
        assert response.status == 403, path
    response = await client.get("/console/admin/training")
    assert response.status == 403
    assert (await response.json())["error"] == "Accès réservé : droits insuffisants."
    registry = client.app[_admin_key()].registry
    assert await asyncio.to_thread(registry.versions) == []


async def test_admin_pages_and_csrf(gateway_client: GatewayClient, admin_settings: Settings):
    client, csrf = await logged_in(gateway_client, admin_settings, "admin")
    for path, title in zip(
        ADMIN_PAGES, ["Boîte de réception", "Modèles et entraînement", "Journal"], strict=True
    ):
        response = await client.get(path)
        assert response.status == 200, path
        page = await response.text()
        assert title in page
        assert '<html lang="fr">' in page
    # Without the token, or with another one: refused, nothing done.
    for token in (None, "faux-jeton"):
        data = {"csrf": token} if token else {}
        response = await client.post("/console/admin/train", data=data, allow_redirects=False)
        assert response.status == 403
        assert (await response.json())["code"] == "csrf_failed"
    assert await asyncio.to_thread(client.app[_admin_key()].registry.versions) == []
    # Rasa is down: a rollback with nothing to roll back is a polite refusal.
    response = await client.post("/console/admin/rollback", data={"csrf": csrf})
    assert response.status == 409
    assert "Aucun modèle précédent" in await response.text()
    response = await client.get("/console/admin/training")
    assert await response.json() == {"running": False, "text": "Aucun entraînement en cours."}


async def test_inbox_page_shows_redacted_messages_and_annotates(
    gateway_client: GatewayClient, admin_settings: Settings, project: Path
) -> None:
    client, csrf = await logged_in(gateway_client, admin_settings, "admin")
    events = RasaEvents(admin_settings.database_url)
    secret = "je m'appelle Le Gall, 06 12 34 56 78, j'habite 12 rue de la Paix 29000 Quimper"
    await events.user_says("web:a", secret, "nlu_fallback", 0.45, best="ask_contact")
    await events.user_says("web:b", "mersi bras", "nlu_fallback", 0.45, best="ask_visio_help")
    await events.user_says("web:c", "mersi bras", "nlu_fallback", 0.44, best="ask_visio_help")
    await events.user_says("web:c", "bonjour", "greet", 0.99)  # understood: not in the inbox

    page = await (await client.get("/console/admin/")).text()
    assert "06 12" not in page and "rue de la Paix" not in page and "Le Gall" not in page
    assert "je m&#39;appelle &lt;nom&gt;, &lt;téléphone&gt;, j&#39;habite &lt;adresse&gt;" in page
    rows = re.findall(r'<tr id="message-(\d+)">', page)
    assert len(rows) == 2
    items = await asyncio.to_thread(client.app[_admin_key()].inbox.items)
    [thanks] = [i for i in items if i.text == "mersi bras"]
    assert (thanks.count, thanks.predicted_intent) == (2, "ask_visio_help")
    assert rows[0] == str(thanks.id)  # the most frequent first

    response = await client.post(
        f"/console/admin/inbox/{thanks.id}",
        data={"csrf": csrf, "action": "intent", "intent": "thank"},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert "Annotation enregistrée." in page
    assert "mersi bras" not in page  # handled: no longer in the list to process
    annotations = (project / "nlu_data" / "train" / "annotations.yml").read_text()
    assert "- intent: thank\n  examples: |\n    - mersi bras\n" in annotations
    audit = await (await client.get("/console/admin/audit")).text()
    assert "admin1" in audit and "Annotation (intention existante)" in audit

    # An unknown intent: a French reason, nothing written.
    [other] = await asyncio.to_thread(client.app[_admin_key()].inbox.items)
    response = await client.post(
        f"/console/admin/inbox/{other.id}",
        data={"csrf": csrf, "action": "intent", "intent": "nimporte_quoi"},
    )
    assert response.status == 400
    assert "Intention inconnue" in await response.text()


async def _conversation(client: TestClient, sender: str, text: str) -> tuple[int, int]:
    """A stored web exchange: (user message id, bot answer id)."""
    store = client.app[keys.STORE]
    incoming = Incoming(channel="web", chat_id=sender, user_id=sender, text=text, role=Role.CITIZEN)
    ref, echo = await asyncio.to_thread(store.record_incoming, incoming)
    await asyncio.to_thread(store.add_key, sender, conversation_key(sender))
    [answer] = await asyncio.to_thread(
        store.record_replies, ref.id, [Reply(text="Je n'ai pas compris.")]
    )
    assert echo.id is not None and answer.id is not None
    return echo.id, answer.id


def conversation_key(sender: str) -> str:
    """The key the gateway would have issued for ``sender`` (web channel)."""
    return f"cle-de-test-{sender}-" + "x" * 32


async def test_thumbs_down_feedback(gateway_client: GatewayClient, admin_settings: Settings):
    client = await gateway_client(admin_settings)
    user_id, bot_id = await _conversation(client, "abc", "mon mail c'est a.b@free.fr c'est nul")
    _, other_bot_id = await _conversation(client, "someone-else", "autre chose")
    body = {"sender": "abc", "message_id": bot_id, "rating": "down"}
    headers = {"X-Conversation-Key": conversation_key("abc")}
    for _ in range(2):  # twice: counted once
        response = await client.post("/webhooks/rest/feedback", json=body, headers=headers)
        assert response.status == 204
    [item] = await asyncio.to_thread(client.app[_admin_key()].inbox.items)
    assert item.text == "mon mail c'est <courriel> c'est nul"
    assert (item.count, item.user_down_count) == (1, 1)

    for wrong, key, status in [
        ({**body, "sender": "someone-else"}, "abc", 403),  # not the key's conversation
        (body, "someone-else", 403),
        (body, None, 401),  # no key
        ({**body, "message_id": user_id}, "abc", 404),  # not a bot answer
        ({**body, "message_id": 99999}, "abc", 404),
        ({**body, "message_id": other_bot_id}, "abc", 404),  # another conversation's
        ({**body, "rating": "meh"}, "abc", 400),
        ({**body, "message_id": "dix"}, "abc", 400),
    ]:
        response = await client.post(
            "/webhooks/rest/feedback",
            json=wrong,
            headers={"X-Conversation-Key": conversation_key(key)} if key else {},
        )
        assert response.status == status, (wrong, key)
        error = await response.json()
        assert error["error"] and error["code"]
    response = await client.post("/webhooks/rest/feedback", data="pas du json", headers=headers)
    assert response.status == 400


async def test_mediators_flag_user_messages(
    gateway_client: GatewayClient, admin_settings: Settings
) -> None:
    client, csrf = await logged_in(gateway_client, admin_settings, "mediator")
    user_id, bot_id = await _conversation(
        client, "xyz", "mon IBAN FR76 3000 6000 0112 3456 7890 189"
    )
    response = await client.post(
        "/console/inbox/flag", json={"message_id": user_id}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    [item] = await asyncio.to_thread(client.app[_admin_key()].inbox.items)
    assert (await response.json()) == {"flagged": True, "item_id": item.id}
    assert (item.text, item.mediator_count) == ("mon IBAN <IBAN>", 1)
    # A form post works too (no JavaScript in the mediator console).
    response = await client.post(
        "/console/inbox/flag",
        data={"message_id": str(user_id), "csrf": csrf},
        allow_redirects=False,
    )
    assert response.status == 303
    response = await client.post(
        "/console/inbox/flag", json={"message_id": bot_id}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 404
    response = await client.post("/console/inbox/flag", json={"message_id": user_id})
    assert response.status == 403
    assert (await response.json())["code"] == "csrf_failed"


async def test_odd_message_ids_and_bodies_on_flag_are_400s(
    gateway_client: GatewayClient, admin_settings: Settings
) -> None:
    client, csrf = await logged_in(gateway_client, admin_settings, "mediator")
    headers = {"X-CSRF-Token": csrf}
    for odd in ["²", "1" * 400, -3, 0, True, 1.5, None, [1], "١٢"]:
        response = await client.post(
            "/console/inbox/flag", json={"message_id": odd}, headers=headers
        )
        assert response.status == 400, odd
        assert (await response.json())["code"] == "invalid_message_id"
    response = await client.post(
        "/console/inbox/flag", data={"message_id": "²", "csrf": csrf}, allow_redirects=False
    )
    assert response.status == 400
    response = await client.post(
        "/console/inbox/flag",
        data=b'--x\r\nContent-Disposition: form-data; name="message_id"\r\n\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status == 400
