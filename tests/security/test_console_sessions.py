"""Console sessions that end when they should, and mediators who cannot act on a colleague's
conversation: expiry, disabled accounts, the end of the login throttle's window, the
console WebSocket's Origin, and the 409 when another mediator writes or hands back.

Rasa is down in ``base_settings`` (the handoff does not need it).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from integrations import keys
from integrations.console.auth import SESSION_COOKIE, LoginThrottle
from integrations.keys import THROTTLE
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import GatewayClient, console_login, login_form_token, staff_user
from tests.gateway.test_handoff import frames_until
from tests.gateway.web_client import citizen
from tests.gateway.web_client import say as web_say

PASSWORD = "mot-de-passe-de-annick"
LOGIN_PAGE = "/console/login?next=/console/"


async def queue_page(client: TestClient) -> tuple[int, str]:
    """What ``GET /console/`` gives: 200 for a live session, else a redirect to the login."""
    response = await client.get("/console/", allow_redirects=False)
    return response.status, response.headers.get("Location", "")


def session_rows(client: TestClient) -> list[tuple[str, datetime]]:
    with client.app[keys.STORE].engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT u.username, s.expires_at FROM staff_sessions s"
                " JOIN staff_users u ON u.id = s.user_id"
            )
        ).all()
    return [(name, _utc(expires)) for name, expires in rows]


def _utc(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def other_browser(client: TestClient) -> TestClient:
    """Another browser (its own cookies) on the same running gateway."""
    other = TestClient(client.server)
    await other.start_server()
    return other


async def test_an_expired_session_is_refused_and_deleted(
    gateway_client: GatewayClient, base_settings: Settings
):
    staff_user(base_settings, "annick", PASSWORD)
    client = await gateway_client(base_settings)
    await console_login(client, "annick", PASSWORD)
    [(_, first_expiry)] = session_rows(client)
    assert await queue_page(client) == (200, "")
    [(_, slid)] = session_rows(client)
    assert slid >= first_expiry  # each use moves the expiry on

    with client.app[keys.STORE].engine.begin() as connection:
        connection.execute(
            text("UPDATE staff_sessions SET expires_at = :past"),
            {"past": datetime.now(UTC) - timedelta(seconds=1)},
        )
    assert await queue_page(client) == (302, LOGIN_PAGE)
    assert session_rows(client) == []
    anonymous = await client.post("/console/inbox/flag", json={"message_id": 1})
    assert anonymous.status == 401


async def test_disabling_an_account_ends_all_its_sessions(
    gateway_client: GatewayClient, base_settings: Settings
):
    staff_user(base_settings, "annick", PASSWORD)
    staff_user(base_settings, "bruno", PASSWORD)
    client = await gateway_client(base_settings)
    laptop, colleague = await other_browser(client), await other_browser(client)
    try:
        await console_login(client, "annick", PASSWORD)
        await console_login(laptop, "annick", PASSWORD)
        await console_login(colleague, "bruno", PASSWORD)
        await asyncio.to_thread(client.app[keys.STAFF].set_active, "annick", False)

        for browser in (client, laptop):
            assert await queue_page(browser) == (302, LOGIN_PAGE)
        assert await queue_page(colleague) == (200, "")  # the others stay signed in
        assert [name for name, _ in session_rows(client)] == ["bruno"]
        token = await login_form_token(client)
        refused = await client.post(
            "/console/login",
            data={"username": "annick", "password": PASSWORD, "csrf": token},
            allow_redirects=False,
        )
        assert refused.status == 401 and SESSION_COOKIE not in refused.cookies
    finally:
        await laptop.close()
        await colleague.close()


async def test_a_session_of_an_account_disabled_in_the_database_is_refused(
    gateway_client: GatewayClient, base_settings: Settings
):
    staff_user(base_settings, "annick", PASSWORD)
    client = await gateway_client(base_settings)
    await console_login(client, "annick", PASSWORD)
    with client.app[keys.STORE].engine.begin() as connection:  # bypassing set_active
        connection.execute(text("UPDATE staff_users SET active = false"))
    assert await queue_page(client) == (302, LOGIN_PAGE)
    assert session_rows(client) == []


async def test_the_login_throttle_forgets_failures_once_its_window_is_over(
    gateway_client: GatewayClient, base_settings: Settings
):
    now = [1000.0]
    throttle = LoginThrottle(window_s=900.0, clock=lambda: now[0])
    staff_user(base_settings, "annick", PASSWORD)
    client = await gateway_client(base_settings)
    client.app[THROTTLE] = throttle

    async def attempt(password: str) -> tuple[int, str | None]:
        token = await login_form_token(client)
        response = await client.post(
            "/console/login",
            data={"username": "annick", "password": password, "csrf": token},
            allow_redirects=False,
        )
        return response.status, response.headers.get("Retry-After")

    for n in range(throttle.pair_limit):
        assert (await attempt(f"essai {n}"))[0] == 401
    assert await attempt(PASSWORD) == (429, "900")  # even the right password waits
    now[0] += 899.0
    assert await attempt(PASSWORD) == (429, "1")
    now[0] += 2.0  # the window of the first failure is over, and so of all five
    assert (await attempt(PASSWORD))[0] == 302


async def test_the_console_websocket_refuses_another_origin(
    gateway_client: GatewayClient, base_settings: Settings
):
    staff_user(base_settings, "annick", PASSWORD)
    client = await gateway_client(base_settings)
    csrf = await console_login(client, "annick", PASSWORD)
    own_origin = f"http://127.0.0.1:{client.port}"
    assert own_origin in client.app[keys.SETTINGS].web_origins
    for origin in ("https://pirate.example", "null", f"http://127.0.0.1:{client.port + 1}"):
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect(f"/console/ws?csrf={csrf}", headers={"Origin": origin})
        assert refused.value.status == 403, origin
    async with client.ws_connect(
        f"/console/ws?csrf={csrf}", headers={"Origin": own_origin}
    ) as console:
        # Accepted: the console gets its first frames (who is online, then the queue).
        frames = await frames_until(console, lambda f: f["type"] == "queue")
        assert [f["type"] for f in frames] == ["presence", "queue"]


async def test_another_mediator_cannot_write_hand_back_or_close(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = dataclasses.replace(base_settings, mediator_hours="24/7")
    staff_user(settings, "annick", PASSWORD, name="Annick")
    staff_user(settings, "bruno", PASSWORD, name="Bruno")
    client = await gateway_client(settings)
    bruno = await other_browser(client)
    try:
        csrf_a = await console_login(client, "annick", PASSWORD)
        csrf_b = await console_login(bruno, "bruno", PASSWORD)
        person = await citizen(client, "carole")
        async with client.ws_connect(f"/console/ws?csrf={csrf_a}"):  # Annick is online
            await web_say(client, person, "/request_human")
            store = client.app[keys.STORE]
            conversation = store.conversation(person.rasa_key)
            base = f"/console/conversations/{conversation.id}"
            taken = await client.post(f"{base}/take", json={}, headers={"X-CSRF-Token": csrf_a})
            assert taken.status == 200
            before = [m.text for m in store.messages(person.rasa_key)]

            as_bruno = {"X-CSRF-Token": csrf_b}
            written = await bruno.post(
                f"{base}/messages", json={"text": "Ici Bruno"}, headers=as_bruno
            )
            assert written.status == 409
            assert (await written.json())["code"] == "not_yours"
            for action in ("handback", "close"):
                response = await bruno.post(f"{base}/{action}", json={}, headers=as_bruno)
                assert response.status == 409, action
                assert (await response.json())["code"] == "not_yours"
            async with bruno.ws_connect(f"/console/ws?csrf={csrf_b}") as socket:
                await frames_until(socket, lambda f: f["type"] == "queue")  # first frames
                await socket.send_json(
                    {"action": "send", "conversation_id": conversation.id, "text": "Ici Bruno"}
                )
                *_, error = await frames_until(socket, lambda f: f["type"] == "error")
                assert error["code"] == "not_yours"

            # Nothing changed: still Annick's, nothing written to the person.
            assert store.conversation(person.rasa_key).owner is Owner.MEDIATOR
            assert [m.text for m in store.messages(person.rasa_key)] == before
            handed = await client.post(
                f"{base}/handback", json={}, headers={"X-CSRF-Token": csrf_a}
            )
            assert handed.status == 200
            assert store.conversation(person.rasa_key).owner is Owner.BOT
    finally:
        await bruno.close()
