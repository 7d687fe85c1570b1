"""A throw-away PostgreSQL server on loopback, for tests that must meet the production store.

``scripts/postgres.sh`` installs Debian's server when it is missing; this module creates
a cluster in a temporary folder, starts it on a free 127.0.0.1 port and removes it on
exit. As root, the server runs as the ``postgres`` system user (PostgreSQL refuses root).
:func:`fresh_database` gives each test module a database of its own on that server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common.config import PROJECT_ROOT
from tools.stack import free_port

DATABASE = "assistant"
START_ATTEMPTS = 3  # another process may take the free port before the server binds it


def _bin_dir() -> Path:
    subprocess.run([str(PROJECT_ROOT / "scripts" / "postgres.sh")], check=True, timeout=900)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise FileNotFoundError("PostgreSQL server binaries not found after scripts/postgres.sh")
    return found[-1]


def _as_server_user(args: list[str], **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    try:
        return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)
    except subprocess.CalledProcessError as err:  # say why in the test's report
        err.add_note(f"stderr: {(err.stderr or '')[-2000:]}")
        err.add_note(f"stdout: {(err.stdout or '')[-1000:]}")
        raise


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yield the SQLAlchemy URL of a fresh, empty database on a temporary server."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    data, port = root / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    _as_server_user(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ],
        timeout=120,
    )
    for attempt in range(1, START_ATTEMPTS + 1):
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
        try:
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(root / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                timeout=90,
            )
            break
        except subprocess.CalledProcessError:
            log = (root / "log").read_text(errors="replace")
            if attempt == START_ATTEMPTS or "Address already in use" not in log:
                raise
            port = free_port()
    try:
        _as_server_user(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                DATABASE,
            ],
            timeout=30,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
    finally:
        _as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``, dropped on exit (with
    whatever connections are left); yields its URL.

    Its name is ``prefix`` (e.g. a test module's name) made safe, plus a random part; its
    URL names no driver, so that each environment uses its own (``common.db.make_engine``).
    """
    safe = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[-40:]
    database = f"t_{safe}_{uuid.uuid4().hex[:12]}"
    server = make_url(server_url).set(drivername="postgresql")
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        yield server.set(database=database).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()
