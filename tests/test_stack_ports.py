"""The port race of tools/stack.py: ``free_port()`` frees the port it found, the child binds
it later, and another process may take it in between. The child then exits saying so, and
the stack starts it again on a new port instead of failing the test session."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tools import oidc as oidc_module
from tools import stack as stack_module
from tools.stack import PortTaken, Process, Stack, child_env, running_gateway


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port somebody else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_child_that_finds_its_port_taken_says_so(taken_port: int, tmp_path: Path) -> None:
    server = Process(
        "http.server",
        [sys.executable, "-m", "http.server", str(taken_port), "--bind", "127.0.0.1"],
        child_env({}),
        tmp_path / "server.log",
    )
    server.start()
    try:
        with pytest.raises(PortTaken, match=r"http\.server: port taken"):
            server.wait_until(f"http://127.0.0.1:{taken_port}/", timeout=30)
    finally:
        server.stop()


def test_a_child_that_exits_for_another_reason_is_not_retried(tmp_path: Path) -> None:
    broken = Process(
        "broken", [sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "b.log"
    )
    broken.start()
    with pytest.raises(RuntimeError, match="broken exited") as raised:
        broken.wait_until("http://127.0.0.1:9/", timeout=30)
    assert not isinstance(raised.value, PortTaken)


async def test_the_gateway_starts_again_on_a_new_port(
    rasa_stack: Stack, taken_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = [taken_port]  # the race: the first port handed out is taken by then
    real_free_port = stack_module.free_port
    monkeypatch.setattr(
        stack_module, "free_port", lambda: ports.pop() if ports else real_free_port()
    )

    async with running_gateway(rasa_stack, tmp_path) as url:
        assert not url.endswith(f":{taken_port}")
        response = await asyncio.to_thread(requests.get, f"{url}/health", timeout=10)
        assert response.status_code == 200, response.text
    log = (tmp_path / "gateway.log").read_text(encoding="utf-8", errors="replace")
    assert str(taken_port) in log


def test_a_provider_silent_at_its_first_start_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = stack_module.free_port()
    first_start = tmp_path / "started-once"
    # Silent (neither answering nor exiting) the first time, a web server the second.
    script = (
        "import pathlib, sys, time\n"
        f"marker = pathlib.Path({str(first_start)!r})\n"
        "if not marker.exists():\n"
        "    marker.touch()\n"
        "    time.sleep(600)\n"
        "import http.server\n"
        f"http.server.test(http.server.SimpleHTTPRequestHandler, port={port}, bind='127.0.0.1')\n"
    )
    server = Process("provider", [sys.executable, "-c", script], child_env({}), tmp_path / "p.log")
    monkeypatch.setattr(oidc_module, "READY_WITHIN", 3)
    try:
        oidc_module._start(server, f"http://127.0.0.1:{port}/")
        assert first_start.exists()
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        server.stop()
