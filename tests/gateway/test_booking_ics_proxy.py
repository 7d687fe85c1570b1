"""``GET /bookings/{ref}.ics`` on the gateway is the action server's route of the same path.

The gateway never opens the booking store: it asks the real action server (started here
from Rasa's environment, ``RASA_VENV``) with ``X-Action-Secret``, passes the calendar or
the 404 on, and answers a French 503 when the action server does not answer.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from integrations.settings import AdminSettings, Settings
from tests.gateway.conftest import GatewayClient
from tools.stack import Process, free_port

# Run in Rasa's environment (this module imports nothing of the action server's):
# one confirmed booking in the action server's store.
SEED = """
import importlib, sys
from datetime import UTC, datetime, timedelta

get_store = importlib.import_module("actions.booking_store").get_store
start = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
outcome = get_store(sys.argv[1]).book(
    "a.martin", "brest-penfeld", start, start + timedelta(hours=1), 6,
    "https://visio.departement.example/Departement-abc", start - timedelta(days=2),
)
print(outcome.booking.ref)
"""


@dataclass(frozen=True)
class ActionServer:
    url: str
    secret: str
    ref: str


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    workdir = tmp_path_factory.mktemp("ics")
    python = str(AdminSettings().rasa_venv / "bin" / "python")
    database_url = f"sqlite:///{workdir / 'assistant.db'}"
    port, secret = free_port(), secrets.token_hex(24)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": database_url,
        "ACTIONS_HOST": "127.0.0.1",
        "ACTIONS_PORT": str(port),
        "ACTIONS_SECRET": secret,
    }
    seeded = subprocess.run(
        [python, "-c", SEED, database_url],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    server = Process("action server", [python, "-m", "actions.server"], env, workdir / "a.log")
    server.start()
    try:
        server.wait_until(f"http://127.0.0.1:{port}/health", timeout=180)
        yield ActionServer(f"http://127.0.0.1:{port}", secret, seeded.stdout.strip())
    finally:
        server.stop()


def behind(settings: Settings, server: ActionServer, secret: str | None = None) -> Settings:
    return dataclasses.replace(
        settings,
        action_server_url=f"{server.url}/webhook",
        actions_secret=server.secret if secret is None else secret,
    )


async def test_the_invitation_is_the_action_servers_calendar(
    gateway_client: GatewayClient, base_settings: Settings, action_server: ActionServer
) -> None:
    client = await gateway_client(behind(base_settings, action_server))
    response = await client.get(f"/bookings/{action_server.ref}.ics")
    assert response.status == 200, await response.text()
    assert response.content_type == "text/calendar"
    assert response.headers["Content-Disposition"].endswith(
        f'filename="reservation-{action_server.ref}.ics"'
    )
    body = await response.text()
    assert "BEGIN:VEVENT" in body and "DTSTART" in body
    assert "visio.departement.example/Departement-abc" in body.replace("\r\n ", "")


async def test_an_unknown_or_malformed_reference_is_404(
    gateway_client: GatewayClient, base_settings: Settings, action_server: ActionServer
) -> None:
    client = await gateway_client(behind(base_settings, action_server))
    for ref in ("AAAAAAAAAAAAAAAA", "x", "..%2F..%2Fetc"):
        response = await client.get(f"/bookings/{ref}.ics")
        assert response.status == 404, ref
        assert (await response.json())["code"] == "not_found"


async def test_without_the_right_secret_the_action_server_refuses(
    gateway_client: GatewayClient, base_settings: Settings, action_server: ActionServer
) -> None:
    """The secret is what opens the action server: a wrong one gets no calendar."""
    client = await gateway_client(behind(base_settings, action_server, secret="faux"))
    response = await client.get(f"/bookings/{action_server.ref}.ics")
    assert response.status == 503
    assert (await response.json())["code"] == "bookings_unavailable"


async def test_a_down_action_server_is_a_french_503(
    gateway_client: GatewayClient, base_settings: Settings, tmp_path: Path
) -> None:
    client = await gateway_client(base_settings)  # the action server on a closed port
    response = await client.get("/bookings/AAAAAAAAAAAAAAAA.ics")
    assert response.status == 503
    assert await response.json() == {
        "error": "Le service des réservations est momentanément indisponible. "
        "Réessayez dans quelques minutes.",
        "code": "bookings_unavailable",
    }
