"""The ``assistant`` tool and the launchers, run as an IT person runs them: a child
process with only the settings given (and PATH, HOME), on a database of the test's own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from common.migrate import upgrade

GATEWAY_PYTHON = Path(sys.executable)
RASA_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
ASSISTANT = GATEWAY_PYTHON.parent / "assistant"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The non-empty lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def base_env(**settings: str) -> dict[str, str]:
    """A bare environment: PATH, HOME, the given settings, secrets so that nothing reads
    or writes the checkout's var/secrets.env for them."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "RASA_TOKEN": "jeton-test",
        "ACTIONS_SECRET": "secret-actions-test",
        "GATEWAY_CHANNEL_SECRET": "secret-canal-test",
        "CONSOLE_ADMIN_PASSWORD": "mot-de-passe-admin",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    env.update(settings)
    return env


def run(command: list[str], env: dict[str, str], stdin: str = "", timeout: float = 300) -> Result:
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assistant(*args: str, env: dict[str, str], stdin: str = "", timeout: float = 300) -> Result:
    """``assistant <args>`` through its installed console script (scripts/setup.sh)."""
    return run([str(ASSISTANT), *args], env, stdin, timeout)


def assert_one_line(result: Result, *words: str) -> str:
    """Non-zero exit, no traceback, one line on stderr holding every word."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert len(result.lines) == 1, result.stderr
    for word in words:
        assert word in result.lines[0], result.lines[0]
    return result.lines[0]


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A fresh, migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'assistant.db'}"
    upgrade(url)
    return url


@pytest.fixture
def env(database: str, tmp_path: Path) -> dict[str, str]:
    return base_env(DATABASE_URL=database, ADMIN_MODELS_DIR=str(tmp_path / "models"))


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port somebody else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
