"""Gateway fixtures: the gateway app on a fresh SQLite database, talking to the real stack."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from common.migrate import upgrade
from integrations.app import create_app
from integrations.settings import Settings
from tools.stack import Stack, free_port

GatewayClient = Callable[..., Awaitable[TestClient]]
PORT_ATTEMPTS = 3


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


@pytest.fixture
def base_settings(tmp_path: Path) -> Settings:
    """Settings pointing at nothing: Rasa and the action server on closed ports; the
    database (a fresh SQLite file) migrated."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        rasa_url="http://127.0.0.1:9",
        action_server_url="http://127.0.0.1:9/webhook",
        rasa_timeout_s=10,
        health_timeout_s=2,
        max_message_chars=500,
        max_body_bytes=8 * 1024,
    )
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def stack_settings(base_settings: Settings, rasa_stack: Stack) -> Settings:
    """Settings for the real Rasa server and action server of the session."""
    return dataclasses.replace(
        base_settings,
        rasa_url=rasa_stack.rasa_url,
        rasa_token=rasa_stack.token,
        gateway_channel_secret=rasa_stack.gateway_secret,
        action_server_url=f"{rasa_stack.actions_url}/webhook",
        actions_secret=rasa_stack.actions_secret,
    )


@pytest.fixture
def gateway_client(aiohttp_client) -> GatewayClient:  # type: ignore[no-untyped-def]
    """Start a gateway app for the given settings; stopped at the end of the test."""

    async def start(settings: Settings) -> TestClient:
        # The server listens on settings.port, so that the public origins derived from it
        # (Settings.web_origins) are the test server's own, as in production. Another
        # process may bind the free port first: then another one.
        upgrade(settings.database_url)  # another database than base_settings' may be given
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = free_port()
            app = create_app(dataclasses.replace(settings, host="127.0.0.1", port=port))
            try:
                return await aiohttp_client(app, server_kwargs={"port": port})
            except OSError as err:
                if err.errno != errno.EADDRINUSE or attempt == PORT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    return start


TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "s3cret_Token-42"


@pytest.fixture
async def fake_telegram(aiohttp_server):  # type: ignore[no-untyped-def]
    """The fake Bot API server; ``.api_url`` is what python-telegram-bot gets as base_url."""
    from tests.gateway.fake_telegram import FakeBotApi

    api = FakeBotApi(token=TELEGRAM_TOKEN)
    server = await aiohttp_server(api.app())
    api.api_url = str(server.make_url("/bot"))  # type: ignore[attr-defined]
    return api


def with_telegram(settings: Settings, api_url: str, mode: str = "webhook") -> Settings:
    from integrations.settings import TelegramSettings

    return dataclasses.replace(
        settings,
        telegram=TelegramSettings(
            token=TELEGRAM_TOKEN,
            mode=mode,  # type: ignore[arg-type]
            webhook_secret=TELEGRAM_SECRET,
            api_url=api_url,
        ),
    )


async def wait_until(predicate: Callable[[], bool], within: float = 30, what: str = "") -> None:
    import asyncio
    import time

    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached after {within:.0f}s: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real Synapse homeserver (installed into var/synapse-venv when missing)."""
    from tools.synapse import running_synapse

    with running_synapse(tmp_path_factory.mktemp("synapse")) as server:
        server.users = {  # type: ignore[attr-defined]
            name: server.register(name, f"pw-{name}") for name in ("assistant", "annick", "intrus")
        }
        yield server


def with_matrix(settings: Settings, synapse, store_path: Path, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    from integrations.settings import MatrixSettings

    fields = {
        "homeserver": synapse.url,
        "user_id": synapse.users["assistant"],
        "password": "pw-assistant",
        "store_path": store_path,
        "sync_timeout_ms": 2000,
        "max_backoff_s": 1.0,
        **overrides,
    }
    return dataclasses.replace(settings, matrix=MatrixSettings(**fields))


@pytest.fixture
async def annick(synapse):  # type: ignore[no-untyped-def]
    """A council agent with a Matrix account on the test homeserver."""
    from tests.gateway.matrix_user import MatrixUser

    user = MatrixUser(synapse.url, synapse.users["annick"], "pw-annick")
    await user.login()
    yield user
    await user.close()


def staff_user(
    settings: Settings, username: str, password: str, role: str = "mediator", name: str = ""
):  # type: ignore[no-untyped-def]
    """Create a console account in the settings' database; returns the StaffUser."""
    from common.db import make_engine
    from integrations.console.auth import StaffStore

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        store = StaffStore(engine)
        return store.add_user(username, name or username.capitalize(), password, role)
    finally:
        engine.dispose()


async def login_form_token(client: TestClient, path: str = "/console/login") -> str:
    """The CSRF token of the login form (the client keeps its cookie)."""
    import re

    page = await client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found, "no CSRF field on the login page"
    return found.group(1)


async def console_login(client: TestClient, username: str, password: str) -> str:
    """Log ``client`` in to the console (it keeps the cookie); returns the CSRF token."""
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": await login_form_token(client)},
        allow_redirects=False,
    )
    assert response.status == 302, f"login failed: {response.status} {await response.text()}"
    return await csrf_of(client)


async def csrf_of(client: TestClient) -> str:
    """The CSRF token of the logged-in session, as any console page gives it."""
    import asyncio

    from integrations import keys
    from integrations.console.auth import SESSION_COOKIE

    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    session = await asyncio.to_thread(client.app[keys.STAFF].session, token)
    assert session is not None
    return session.csrf_token
