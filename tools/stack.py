"""Train the model and start the Rasa server and the action server as real processes.

Used by the test suite (once per session) and by the benchmarks, so that both
exercise the assistant exactly as ``make run`` starts it: the commands are the
``Procfile``'s (``.venv/bin/python -m actions.server``, ``.venv/bin/python -m
rasa_ext.serve``, and for the gateway ``.venv-gateway/bin/python -m integrations``: each
process in its own environment, whichever environment runs this module), and the token
and the two shared secrets go by environment, never on a command line.

``running_stack(..., workers=2)`` starts ``RASA_WORKERS=2``: one supervising process
(``rasa_ext.serve``) and two Rasa workers on consecutive ports; ``redis_url`` switches
Rasa's Redis lock store on. :func:`rss_bytes` and :meth:`Stack.worker_pids` are for the
benchmarks and the fault tests (``bench/scale.py``, ``tests/scale/``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from common.config import PROJECT_ROOT
from common.migrate import upgrade

PROCFILE = PROJECT_ROOT / "Procfile"
GATEWAY_CHANNEL_PATH = "/webhooks/gateway/webhook"

log = logging.getLogger(__name__)
T = TypeVar("T")


# What the Rasa server and the action server take from the environment of whoever starts
# them; every setting they read is given explicitly, so that a developer's .env (DATA_DIR,
# VISIO_BASE_URL, DATABASE_URL...) cannot change what the tests see.
INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    # A clock moved by faketime (scripts/faketime.sh) is the children's clock too.
    "LD_PRELOAD",
    "FAKETIME",
    "DONT_FAKE_MONOTONIC",
)


def child_env(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` and the few variables of :data:`INHERITED_ENV` that are set, no more."""
    inherited = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    return {**inherited, **settings}


def free_port() -> int:
    """A port free now. A child binds it later, so another process may take it in between:
    :func:`retry_on_port_taken` starts the child again on new ports when that happens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PortTaken(RuntimeError):
    """A child exited because its port had been taken since :func:`free_port` chose it."""


# How the children say it: Python's OSError (aiohttp, Sanic), or our own French line.
PORT_TAKEN_MARKERS = ("address already in use", "[errno 98]", "déjà utilisé")
PORT_ATTEMPTS = 3


def says_port_taken(output: str) -> bool:
    """Whether a child's output says its port was taken."""
    return any(marker in output.lower() for marker in PORT_TAKEN_MARKERS)


def retry_on_port_taken(start: Callable[[], T], what: str) -> T:
    """``start()`` (which picks its ports with :func:`free_port`), again on :exc:`PortTaken`."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return start()
        except PortTaken:
            if attempt == PORT_ATTEMPTS:
                raise
            log.warning("%s: port taken meanwhile, starting again on new ports", what)
    raise AssertionError("unreachable")


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(100):
        base = free_port()
        if base + count > 65535:
            continue
        try:
            with ExitStack() as held:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_bytes(pid: int) -> int:
    """The resident memory of process ``pid`` (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def procfile_command(process: str) -> list[str]:
    """The command the Procfile runs for ``process``; its interpreter relative to the project."""
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            program, *args = shlex.split(command)
            if "/" in program and not program.startswith("/"):
                program = str(PROJECT_ROOT / program)
            return [program, *args]
    raise KeyError(f"no {process!r} process in {PROCFILE}")


def train(model_dir: Path, log_path: Path) -> Path:
    """Train into ``model_dir`` unless its newest model matches; return that model."""
    model_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        subprocess.run(
            [str(PROJECT_ROOT / "scripts" / "train.sh"), "--out", str(model_dir)],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=1800,
        )
    return newest_model(model_dir)


def newest_model(model_dir: Path) -> Path:
    models = sorted(model_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {model_dir}")
    return models[-1]


@dataclass
class Process:
    """A child process with its log file, stopped with SIGTERM then SIGKILL."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = field(default=None, init=False)
    _log_start: int = field(default=0, init=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = self.log_path.open("ab")
        self._log_start = log_file.tell()
        self.popen = subprocess.Popen(
            self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT
        )
        log_file.close()

    def output(self) -> str:
        """What the child wrote since its last start."""
        with self.log_path.open("rb") as log_file:
            log_file.seek(self._log_start)
            return log_file.read().decode("utf-8", "replace")

    def wait_until(self, url: str, timeout: float, params: dict[str, str] | None = None) -> None:
        """Until ``url`` answers 200; :exc:`PortTaken` or RuntimeError if the child exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                if says_port_taken(self.output()):
                    raise PortTaken(f"{self.name}: port taken; see {self.log_path}")
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                if requests.get(url, params=params, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


@dataclass
class Stack:
    """A running Rasa server and action server."""

    rasa_url: str
    actions_url: str
    token: str
    # X-Action-Secret (Rasa → action server) and X-Gateway-Secret (gateway → Rasa).
    actions_secret: str
    gateway_secret: str
    database_url: str
    env: dict[str, str]
    rasa: Process
    actions: Process
    # The base URL of each Rasa worker (one, unless started with workers > 1).
    rasa_urls: list[str] = field(default_factory=list)

    def worker_pids(self) -> list[int]:
        """The Rasa processes: the workers under the supervisor, or the one server."""
        assert self.rasa.popen is not None
        if len(self.rasa_urls) <= 1:
            return [self.rasa.popen.pid]
        return children(self.rasa.popen.pid)

    def wait_workers(self, timeout: float) -> None:
        """Until every worker answers /status (after one was killed and restarted)."""
        for url in self.rasa_urls:
            self.rasa.wait_until(f"{url}/status", timeout=timeout, params={"token": self.token})

    def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None, timeout: float = 30
    ) -> list[dict[str, Any]]:
        """One message through Rasa's gateway channel, as the gateway sends it; the replies."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        response = requests.post(
            self.channel_url, json=body, headers=self.channel_headers, timeout=timeout
        )
        response.raise_for_status()
        return response.json()

    @property
    def channel_url(self) -> str:
        """Rasa's gateway channel; post with ``channel_headers``."""
        return f"{self.rasa_url}{GATEWAY_CHANNEL_PATH}"

    @property
    def channel_headers(self) -> dict[str, str]:
        return {"X-Gateway-Secret": self.gateway_secret}

    def parse(self, text: str) -> dict[str, Any]:
        response = requests.post(
            f"{self.rasa_url}/model/parse",
            params={"token": self.token},
            json={"text": text},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.token},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


@contextmanager
def running_stack(
    model: Path,
    database_url: str,
    log_dir: Path,
    token: str | None = None,
    extra_env: dict[str, str] | None = None,
    ports: tuple[int, int] | None = None,
    workers: int = 1,
    redis_url: str = "",
    rasa_command: list[str] | None = None,
) -> Iterator[Stack]:
    """Start the action server and the Rasa server (``workers`` of them, on consecutive
    ports) on free ports (or ``ports``: Rasa's first, the action server's); stop them on
    exit.

    When a port was taken between :func:`free_port` and the child's bind, both start again
    on new ports (:func:`retry_on_port_taken`). ``rasa_command`` replaces the Procfile's
    Rasa command (the benchmarks' plain Rasa).

    The database is migrated first, as ``scripts/run.sh`` does. ``token`` (Rasa's API) and
    the two shared secrets are random unless given.
    """
    upgrade(database_url)
    token = token or secrets.token_hex(24)
    actions_secret, gateway_secret = secrets.token_hex(24), secrets.token_hex(24)
    with ExitStack() as stack:

        def start() -> Stack:
            """Both processes on new free ports, ready; stopped again when they are not."""
            rasa_port, actions_port = ports or (free_ports(workers), free_port())
            env = child_env(
                {
                    "PYTHONPATH": str(PROJECT_ROOT),
                    "DATABASE_URL": database_url,
                    "ACTIONS_HOST": "127.0.0.1",
                    "ACTIONS_PORT": str(actions_port),
                    "ACTIONS_SECRET": actions_secret,
                    "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
                    "RASA_HOST": "127.0.0.1",
                    "RASA_PORT": str(rasa_port),
                    "RASA_WORKERS": str(workers),
                    "REDIS_URL": redis_url,
                    "RASA_MODEL": str(model),
                    "RASA_TOKEN": token,
                    "RASA_ENDPOINTS": "bot/endpoints.yml",
                    "RASA_CREDENTIALS": "bot/credentials.yml",
                    "GATEWAY_CHANNEL_SECRET": gateway_secret,
                    "RASA_URL": f"http://127.0.0.1:{rasa_port}",
                    "TZ": "Europe/Paris",
                    "RASA_TELEMETRY_ENABLED": "false",
                    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                    "LOG_LEVEL": "INFO",
                    **(extra_env or {}),
                }
            )
            actions = Process(
                "action server", procfile_command("actions"), env, log_dir / "actions.log"
            )
            command = rasa_command or procfile_command("rasa")
            rasa = Process("rasa server", command, env, log_dir / "rasa.log")
            with ExitStack() as attempt:
                for process in (actions, rasa):
                    process.start()
                    attempt.callback(process.stop)
                actions.wait_until(f"http://127.0.0.1:{actions_port}/health", timeout=120)
                urls = [f"http://127.0.0.1:{rasa_port + i}" for i in range(workers)]
                for url in urls:
                    rasa.wait_until(f"{url}/status", timeout=240 * workers, params={"token": token})
                stack.push(attempt.pop_all())
            return Stack(
                rasa_url=f"http://127.0.0.1:{rasa_port}",
                actions_url=f"http://127.0.0.1:{actions_port}",
                token=token,
                actions_secret=actions_secret,
                gateway_secret=gateway_secret,
                database_url=database_url,
                env=env,
                rasa=rasa,
                actions=actions,
                rasa_urls=urls,
            )

        # Ports chosen by the caller are not changed: their being taken is the caller's.
        yield start() if ports else retry_on_port_taken(start, "rasa and action servers")


@asynccontextmanager
async def running_gateway(
    stack: Stack, workdir: Path, started: list[Process] | None = None
) -> AsyncIterator[str]:
    """The real gateway process in front of ``stack``, for benchmarks; yields its base URL
    (and appends the process to ``started``, when given).

    Started as the Procfile starts it, in the gateway's environment. One address sends
    every message of a benchmark: the public rate limits are lifted.
    """
    database_url = f"sqlite:///{workdir / 'gateway.db'}"
    upgrade(database_url)

    def start() -> tuple[Process, str]:
        port = free_port()
        env = {
            **stack.env,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "DATABASE_URL": database_url,
            "GATEWAY_RATE_PER_ADDRESS": str(10**9),
            "GATEWAY_RATE_PER_CONVERSATION": str(10**9),
        }
        for name in ("TELEGRAM_BOT_TOKEN", "MATRIX_HOMESERVER"):
            env.pop(name, None)
        gateway = Process("gateway", procfile_command("gateway"), env, workdir / "gateway.log")
        gateway.start()
        try:
            gateway.wait_until(f"http://127.0.0.1:{port}/health", 120)
        except BaseException:
            gateway.stop()
            raise
        if started is not None:
            started.append(gateway)
        return gateway, f"http://127.0.0.1:{port}"

    gateway, url = await asyncio.to_thread(retry_on_port_taken, start, "gateway")
    try:
        yield url
    finally:
        await asyncio.to_thread(gateway.stop)
