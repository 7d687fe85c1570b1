"""A throw-away Redis server on loopback, for the tests and benches of several gateways.

``scripts/redis.sh`` installs Debian's ``redis-server`` when it is missing; this module
starts one on a free 127.0.0.1 port with a random password, no persistence, in a temporary
folder removed on exit. :func:`running_redis` yields the ``REDIS_URL`` to give the gateways;
:func:`redis_server` yields the :class:`RedisServer` itself, for a test that stops and
restarts it (same port, same password) to see the stack recover.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from common.config import PROJECT_ROOT
from tools.stack import free_port

START_TIMEOUT = 30.0
START_ATTEMPTS = 3  # another process may take the free port before the server binds it


def _install() -> None:
    subprocess.run([str(PROJECT_ROOT / "scripts" / "redis.sh")], check=True, timeout=900)


def _ping(port: int, password: str) -> bool:
    """True when the server on ``port`` accepts ``password`` and answers PING (RESP by hand:
    ``tools/`` works in both environments, whichever has the ``redis`` package)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(
                f"*2\r\n$4\r\nAUTH\r\n${len(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n".encode()
            )
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = sock.recv(64)
                if not chunk:
                    return False
                answer += chunk
            return answer == b"+OK\r\n+PONG\r\n"
    except OSError:
        return False


@dataclass
class RedisServer:
    root: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers; on the same port when restarted."""
        args = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--requirepass", self.password,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.root),
            "--logfile", str(self.root / "log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(self.port, self.password):
            if self.process.poll() is not None:
                log = (self.root / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server not answering on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A running :class:`RedisServer`, stopped and its folder removed on exit."""
    _install()
    root = Path(tempfile.mkdtemp(prefix="assistant-redis-"))
    server = RedisServer(root)
    try:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                server.start()
                break
            except RuntimeError as error:
                if attempt == START_ATTEMPTS or "Address already in use" not in str(error):
                    raise
                server.port = free_port()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_redis() -> Iterator[str]:
    """Yield the ``REDIS_URL`` of a fresh, empty, password-protected server."""
    with redis_server() as server:
        yield server.url
