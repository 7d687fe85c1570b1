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
