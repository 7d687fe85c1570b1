"""``GET /bookings/{ref}.ics`` on the gateway is the action server's route of the same path.

The gateway never opens the booking store: it asks the real action server (started here
from Rasa's environment, ``RASA_VENV``) with ``X-Action-Secret``, passes the calendar or
the 404 on, and answers a French 503 when the action server does not answer.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from common.config import PROJECT_ROOT
from integrations.settings import AdminSettings, Settings
from tests import rasa_env
from tests.gateway.conftest import GatewayClient
from tools.stack import Process, child_env, free_port

AGENT = "a.martin"
START = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
BOOKED_AT = START - timedelta(days=2)


@dataclass(frozen=True)
class ActionServer:
    url: str
    secret: str
    ref: str
    database_url: str


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    """One confirmed booking, served by a real action server (shared by the module's
    read-only tests)."""
    with _action_server(tmp_path_factory.mktemp("ics")) as server:
        yield server


@contextmanager
def _action_server(workdir: Path) -> Iterator[ActionServer]:
    python = str(AdminSettings().rasa_venv / "bin" / "python")
    database_url = f"sqlite:///{workdir / 'assistant.db'}"
    port, secret = free_port(), secrets.token_hex(24)
    env = child_env(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "DATABASE_URL": database_url,
            "ACTIONS_HOST": "127.0.0.1",
            "ACTIONS_PORT": str(port),
            "ACTIONS_SECRET": secret,
        }
    )
    ref = rasa_env.call(
        "book",
        database_url,
        AGENT,
        "brest-penfeld",
        START.isoformat(),
        (START + timedelta(hours=1)).isoformat(),
        6,
        "https://visio.departement.example/Departement-abc",
        BOOKED_AT.isoformat(),
    )
    server = Process("action server", [python, "-m", "actions.server"], env, workdir / "a.log")
    server.start()
    try:
        server.wait_until(f"http://127.0.0.1:{port}/health", timeout=180)
        yield ActionServer(f"http://127.0.0.1:{port}", secret, ref, database_url)
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


async def test_a_moved_then_cancelled_booking_updates_the_same_invitation(
    gateway_client: GatewayClient, base_settings: Settings, tmp_path: Path
) -> None:
    """Same UID for the booking's whole life, SEQUENCE raised on a move, then the
    cancellation (METHOD:CANCEL) at the same link — read with the icalendar library."""
    with _action_server(tmp_path) as server:
        client = await gateway_client(behind(base_settings, server))

        async def event() -> tuple[str, Any]:
            response = await client.get(f"/bookings/{server.ref}.ics")
            assert response.status == 200 and response.content_type == "text/calendar"
            calendar = Calendar.from_ical(await response.text())
            [found] = calendar.walk("VEVENT")
            return str(calendar["METHOD"]), found

        method, first = await event()
        assert method == "PUBLISH" and int(first["SEQUENCE"]) == 0
        assert str(first["DESCRIPTION"]).startswith("Salle Penfeld, 6 personnes.")
        later = START + timedelta(hours=2)
        rasa_env.call(
            "move_booking",
            server.database_url,
            AGENT,
            server.ref,
            later.isoformat(),
            (later + timedelta(hours=1)).isoformat(),
            START.isoformat(),
        )
        method, second = await event()
        assert str(second["UID"]) == str(first["UID"]) and int(second["SEQUENCE"]) == 1
        assert second.decoded("DTSTART") == later
        rasa_env.call("cancel_booking", server.database_url, AGENT, server.ref, START.isoformat())
        method, third = await event()
        assert method == "CANCEL" and str(third["STATUS"]) == "CANCELLED"
        assert str(third["UID"]) == str(first["UID"]) and int(third["SEQUENCE"]) == 2
