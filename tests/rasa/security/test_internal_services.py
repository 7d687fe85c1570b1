"""Internal services closed: the attacks of issue 12 on Rasa and the action server, replayed.

Against the real stack of the session (``tools/stack.py``, the Procfile's commands):
the action server and Rasa listen on 127.0.0.1 only, the action server runs nothing
without ``X-Action-Secret``, Rasa takes messages only on the gateway channel with
``X-Gateway-Secret`` (its REST channel is gone), and no secret is on a command line.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import rasa_sdk
import requests

from actions.booking_store import CONFIRMED, BookingStore, get_store
from common.config import PROJECT_ROOT, ConfigError
from rasa_ext.serve import rasa_argv
from tools.stack import (
    PortTaken,
    Stack,
    child_env,
    free_port,
    procfile_command,
    retry_on_port_taken,
    says_port_taken,
)

pytestmark = [pytest.mark.model, pytest.mark.stack]

# An agent of data/agents.yml that no other end-to-end test books for.
AGENT_ID = "m.kerouac"
AGENT_METADATA = {
    "channel": "matrix",
    "user_id": "@m.kerouac:departement.example",
    "role": "agent",
    "locale": "fr",
}


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the LISTEN sockets on ``port`` (IPv4 and IPv6), from /proc/net."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def other_local_addresses() -> list[str]:
    """127.0.0.2 (loopback, but not 127.0.0.1) and this machine's non-loopback IPv4 addresses."""
    addresses = {"127.0.0.2"}
    try:
        output = subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, timeout=10
        ).stdout
        addresses.update(a for a in output.split() if "." in a and not a.startswith("127."))
    except OSError:
        pass
    return sorted(addresses)


@pytest.mark.parametrize("service", ["actions", "rasa"])
def test_internal_services_listen_on_loopback_only(rasa_stack: Stack, service: str):
    port = port_of(rasa_stack.actions_url if service == "actions" else rasa_stack.rasa_url)
    assert listening_addresses(port) == {LOOPBACK_HEX}
    assert connects("127.0.0.1", port)
    for address in other_local_addresses():
        assert not connects(address, port), f"{service} answers on {address}:{port}"


# --- action server ----------------------------------------------------------------------


def forged_action_call(action: str, slots: dict, intent: str = "affirm") -> dict:
    """What Rasa posts to the action server: a tracker claiming to be an agent on Matrix."""
    return {
        "next_action": action,
        "sender_id": "matrix:!forged:departement.example",
        "version": rasa_sdk.__version__,
        "domain": {},
        "tracker": {
            "sender_id": "matrix:!forged:departement.example",
            "slots": slots,
            "latest_message": {
                "text": "oui",
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [],
                "metadata": AGENT_METADATA,
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture
def agent_booking(rasa_stack: Stack) -> Iterator[tuple[BookingStore, int]]:
    """A confirmed booking of the agent, far in the future, in the stack's database."""
    store = get_store(rasa_stack.database_url)
    assert store.agent_for(AGENT_METADATA["channel"], AGENT_METADATA["user_id"]) is not None
    room = store.sites()[0].rooms[0]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=300)
    end, now = start + timedelta(minutes=30), datetime.now(UTC)
    outcome = store.book(AGENT_ID, room.id, start, end, 2, "https://visio.example/x", now)
    assert outcome.booking is not None
    yield store, outcome.booking.id
    store.cancel(AGENT_ID, outcome.booking.id, datetime.now(UTC))


def status_of(store: BookingStore, booking_id: int) -> str:
    booking = store.get(AGENT_ID, booking_id)
    assert booking is not None
    return booking.status


def test_action_server_runs_nothing_without_the_secret(
    rasa_stack: Stack, agent_booking: tuple[BookingStore, int]
):
    """The issue's attack: a forged tracker cancels an agent's booking. Refused unless signed."""
    store, booking_id = agent_booking
    call = forged_action_call(
        "action_booking_answer",
        {"booking_action": "cancel", "booking_ref": str(booking_id), "booking_confirmed": True},
    )
    webhook = f"{rasa_stack.actions_url}/webhook"

    missing = requests.post(webhook, json=call, timeout=30)
    assert missing.status_code == 401
    assert missing.json()["code"] == "missing_secret" and missing.json()["error"]
    wrong = requests.post(
        webhook, json=call, headers={"X-Action-Secret": rasa_stack.actions_secret[:-1]}, timeout=30
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_secret"
    assert "events" not in wrong.json() and "responses" not in wrong.json()
    assert status_of(store, booking_id) == CONFIRMED  # the action did not run

    signed = requests.post(
        webhook, json=call, headers={"X-Action-Secret": rasa_stack.actions_secret}, timeout=30
    )
    assert signed.status_code == 200, signed.text
    assert "C'est annulé" in signed.json()["responses"][0]["text"]
    assert status_of(store, booking_id) != CONFIRMED


def test_action_server_lists_actions_only_with_the_secret(rasa_stack: Stack):
    url = f"{rasa_stack.actions_url}/actions"
    assert requests.get(url, timeout=10).status_code == 401
    signed = requests.get(url, headers={"X-Action-Secret": rasa_stack.actions_secret}, timeout=10)
    assert {"name": "action_booking_list"} in signed.json()
    assert requests.get(f"{rasa_stack.actions_url}/health", timeout=10).status_code == 200


# --- Rasa: the gateway channel only -------------------------------------------------------


def test_rasa_rest_channel_is_gone(rasa_stack: Stack):
    body = {"sender": "forged-rest", "message": "mes réservations", "metadata": AGENT_METADATA}
    response = requests.post(f"{rasa_stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=30)
    assert response.status_code == 404


def stored_events(stack: Stack, sender: str) -> int:
    database = stack.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "select count(*) from events where sender_id = ?", (sender,)
        ).fetchone()[0]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_secret"),
        ({"X-Gateway-Secret": "pas-le-bon"}, 403, "invalid_secret"),
        ({"X-Gateway-Secret": ""}, 403, "invalid_secret"),
    ],
)
def test_gateway_channel_refuses_without_the_secret(
    rasa_stack: Stack, headers: dict, status: int, code: str
):
    sender = f"matrix:!forged-{status}-{len(headers)}:departement.example"
    body = {"sender": sender, "message": "mes réservations", "metadata": AGENT_METADATA}
    response = requests.post(rasa_stack.channel_url, json=body, headers=headers, timeout=30)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["error"]
    assert stored_events(rasa_stack, sender) == 0
    tracker = requests.get(
        f"{rasa_stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": rasa_stack.token},
        timeout=30,
    )
    assert tracker.status_code == 200
    assert not [e for e in tracker.json()["events"] if e["event"] == "user"]


def test_gateway_channel_answers_with_the_secret(rasa_stack: Stack):
    sender = "matrix:!signed:departement.example"
    replies = rasa_stack.send(sender, "mes réservations", metadata=AGENT_METADATA)
    assert replies and all(r["recipient_id"] == sender for r in replies)
    assert "réservé aux agents" not in " ".join(r.get("text", "") for r in replies)
    assert rasa_stack.tracker(sender)["latest_message"]["metadata"] == AGENT_METADATA


@pytest.mark.parametrize(
    "body",
    [b"pas du json", b"[]", b'{"message": "bonjour"}', b'{"sender": "x", "message": 3}'],
)
def test_gateway_channel_rejects_a_malformed_message(rasa_stack: Stack, body: bytes):
    response = requests.post(
        rasa_stack.channel_url,
        data=body,
        headers={**rasa_stack.channel_headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and response.json()["error"]


# --- no secret on a command line ------------------------------------------------------------


def test_no_secret_on_the_command_lines(rasa_stack: Stack):
    secrets = (rasa_stack.token, rasa_stack.actions_secret, rasa_stack.gateway_secret)
    for process, module in (
        (rasa_stack.rasa, "rasa_ext.serve"),
        (rasa_stack.actions, "actions.server"),
    ):
        assert process.popen is not None and process.popen.poll() is None
        pids = [process.popen.pid, *children(process.popen.pid)]
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            assert not [s for s in secrets if s in cmdline], f"{process.name}: {cmdline!r}"
        first = Path(f"/proc/{process.popen.pid}/cmdline").read_bytes().split(b"\0")
        assert first[1:3] == [b"-m", module.encode()]


@pytest.mark.parametrize("process", ["actions", "rasa", "gateway"])
def test_procfile_puts_nothing_from_the_environment_on_a_command_line(process: str):
    """honcho runs each line with sh -c: a ``$VARIABLE`` would land in /proc/<pid>/cmdline."""
    assert "$" not in " ".join(procfile_command(process))


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_rasa_launcher_refuses_a_secret_in_its_arguments(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RASA_TOKEN", "t0ken")
    with pytest.raises(ConfigError, match="--auth-token"):
        rasa_argv(["--auth-token", "visible"])
    assert rasa_argv([])[rasa_argv([]).index("--auth-token") + 1] == "t0ken"
    monkeypatch.delenv("RASA_TOKEN")
    with pytest.raises(ConfigError, match="RASA_TOKEN is required"):
        rasa_argv([])


def run_to_exit(
    module: str, env: dict[str, str], port_variable: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``python -m module`` run until it exits, on a free port (again on new ones when a
    parallel test took it meanwhile)."""

    def start() -> subprocess.CompletedProcess[str]:
        env[port_variable] = str(free_port())
        result = subprocess.run(
            [sys.executable, "-m", module],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if says_port_taken(result.stderr):
            raise PortTaken(result.stderr)
        return result

    return retry_on_port_taken(start, module)


def test_action_server_will_not_start_without_its_secret():
    env = child_env({"PYTHONPATH": str(PROJECT_ROOT)})
    result = run_to_exit("actions.server", env, "ACTIONS_PORT", timeout=120)
    assert result.returncode == 2
    assert "ACTIONS_SECRET is required" in result.stderr


def test_rasa_will_not_start_without_the_channel_secret(tmp_path: Path):
    env = child_env(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "RASA_TOKEN": "t",
            "ACTIONS_SECRET": "s",
            "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",
        }
    )
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'rasa.db'}"
    result = run_to_exit("rasa_ext.serve", env, "RASA_PORT", timeout=300)
    assert result.returncode != 0
    assert "GATEWAY_CHANNEL_SECRET" in result.stdout + result.stderr
