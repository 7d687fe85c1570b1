"""A real Matrix homeserver (Synapse, SQLite) on 127.0.0.1 for tests and local tries.

Synapse lives in its own virtual environment, ``var/synapse-venv``, installed by
``scripts/synapse.sh`` (called here when missing). Each homeserver gets a fresh
folder with its configuration, signing key, SQLite database and log.

    python -m tools.synapse [--dir DIR] [--user bot:password ...]

starts one, registers the given users and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from common.config import PROJECT_ROOT
from tools.stack import free_port

SYNAPSE_VENV = PROJECT_ROOT / "var" / "synapse-venv"
SERVER_NAME = "localhost"


def ensure_installed(venv: Path = SYNAPSE_VENV) -> Path:
    """Install Synapse into ``venv`` unless it is there; the venv's python."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "register_new_matrix_user").exists():
        subprocess.run(
            [str(PROJECT_ROOT / "scripts" / "synapse.sh")],
            cwd=PROJECT_ROOT,
            env={**os.environ, "SYNAPSE_VENV": str(venv)},
            check=True,
            timeout=900,
        )
    return python


def _config(directory: Path, port: int, shared_secret: str) -> str:
    unlimited = "{per_second: 1000, burst_count: 1000}"
    return f"""\
server_name: "{SERVER_NAME}"
pid_file: "{directory}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{directory}/homeserver.db"
log_config: "{directory}/log.config"
media_store_path: "{directory}/media_store"
signing_key_path: "{directory}/{SERVER_NAME}.signing.key"
registration_shared_secret: "{shared_secret}"
macaroon_secret_key: "{secrets.token_hex(16)}"
form_secret: "{secrets.token_hex(16)}"
report_stats: false
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
rc_message: {unlimited}
rc_registration: {unlimited}
rc_login:
  address: {unlimited}
  account: {unlimited}
  failed_attempts: {unlimited}
rc_joins:
  local: {unlimited}
  remote: {unlimited}
rc_invites:
  per_room: {unlimited}
  per_user: {unlimited}
  per_issuer: {unlimited}
"""


def _log_config(directory: Path) -> str:
    return f"""\
version: 1
formatters:
  precise:
    format: "%(asctime)s %(name)s %(levelname)s %(message)s"
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: "{directory}/homeserver.log"
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


@dataclass
class Synapse:
    """A Synapse process and its folder; can be stopped and started again on the same port."""

    directory: Path
    python: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "homeserver.yaml"

    def configure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(_config(self.directory, self.port, secrets.token_hex(16)))
        (self.directory / "log.config").write_text(_log_config(self.directory))
        subprocess.run(
            [
                str(self.python),
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config_path),
                "--generate-keys",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 180) -> None:
        log = (self.directory / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Synapse exited; see {self.directory}/stdout.log")
            try:
                if requests.get(f"{self.url}/_matrix/client/versions", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"Synapse not ready after {timeout:.0f}s; see {self.directory}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def register(self, name: str, password: str, admin: bool = False) -> str:
        """Create ``@name:localhost`` with ``register_new_matrix_user``; its user id."""
        subprocess.run(
            [
                str(self.python.parent / "register_new_matrix_user"),
                "-c",
                str(self.config_path),
                "-u",
                name,
                "-p",
                password,
                "--admin" if admin else "--no-admin",
                self.url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return f"@{name}:{SERVER_NAME}"


@contextmanager
def running_synapse(directory: Path | None = None) -> Iterator[Synapse]:
    """A started Synapse in ``directory`` (a temporary folder by default), stopped on exit."""
    python = ensure_installed()
    with tempfile.TemporaryDirectory(prefix="synapse-") as tmp:
        synapse = Synapse(directory=directory or Path(tmp), python=python)
        synapse.configure()
        synapse.start()
        try:
            yield synapse
        finally:
            synapse.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="folder (default: temporary)")
    parser.add_argument("--user", action="append", default=[], help="name:password to register")
    args = parser.parse_args()
    with running_synapse(args.dir) as synapse:
        for spec in args.user:
            name, _, password = spec.partition(":")
            print("registered", synapse.register(name, password))
        print(f"Synapse on {synapse.url} (server name {SERVER_NAME}); Ctrl-C stops it")
        try:
            while synapse.process is not None and synapse.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
