"""``python -m rasa_ext.serve``: ``rasa run`` configured from the environment, no secret in argv;
``RASA_WORKERS`` Rasa processes, each on its own loopback port.

``rasa run --auth-token $RASA_TOKEN`` shows the token to anyone who lists the
processes (``ps``, ``/proc/<pid>/cmdline``). This launcher builds the same command
line in memory and runs Rasa's CLI in this very process, so the token never leaves
the environment:

    RASA_TOKEN      token of the HTTP API (required)
    RASA_HOST       interface to listen on [127.0.0.1]
    RASA_PORT       [5005] the first worker's port; worker i listens on RASA_PORT + i
    RASA_WORKERS    [one per core] Rasa processes; the gateway sends each conversation
                    to the same one (``integrations/rasa_client.py``)
    RASA_MODEL      a model file or a folder of models [models]
    RASA_ENDPOINTS  [bot/endpoints.yml]   (action server + its secret, tracker store)
    RASA_CREDENTIALS [bot/credentials.yml] (the gateway channel + its secret)
    REDIS_URL       [empty] when set, Rasa's Redis lock store (conversations locked across
                    workers and machines); empty: each process's own in-memory locks

With several workers this process supervises them: it starts ``RASA_WORKERS`` copies
of itself (``RASA_WORKERS=1``, each its own port), starts again one that dies (after a
short pause) and stops them all on SIGTERM / SIGINT. A worker that dies before it ever
listened on its port (a configuration error, a missing secret) stops them all: the
supervisor exits with its code.

    supervisor ──┬─ worker 0  :RASA_PORT
                 ├─ worker 1  :RASA_PORT+1
                 └─ …

Other arguments are passed on to ``rasa run`` (``--debug``, ``--cors``…); secrets on
the command line (``--auth-token``, ``--jwt-secret``) are refused.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from common.config import ConfigError, database_url, env_int, env_str, require_free_port
from common.db import check_database

# Options of ``rasa run`` whose value is a secret: they belong in the environment.
SECRET_OPTIONS = ("--auth-token", "-t", "--jwt-secret", "--ssl-password")
# The lock store's password goes to Rasa through this variable (``${...}`` in the
# generated endpoints file), never written to the file.
LOCK_PASSWORD_VARIABLE = "RASA_LOCK_STORE_PASSWORD"
RESTART_PAUSE_S = 2.0


def workers() -> int:
    """``RASA_WORKERS``: Rasa processes, one per core unless set."""
    return env_int("RASA_WORKERS", os.cpu_count() or 1, minimum=1)


def lock_store(redis_url: str) -> dict[str, object]:
    """The ``lock_store`` endpoint of Rasa's RedisLockStore for ``redis_url``."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(f"REDIS_URL must be redis://host[:port][/db], not {redis_url!r}")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(f"REDIS_URL: the database must be a number, not {path!r}")
    store: dict[str, object] = {
        "type": "redis",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(path or 0),
        "key_prefix": "assistant",
    }
    if parts.scheme == "rediss":
        store["use_ssl"] = True
    if parts.password:
        os.environ[LOCK_PASSWORD_VARIABLE] = unquote(parts.password)
        store["password"] = "${" + LOCK_PASSWORD_VARIABLE + "}"
    return store


def endpoints_file(endpoints: str, redis_url: str) -> str:
    """``endpoints``, or with ``REDIS_URL`` a copy adding Rasa's Redis lock store (a
    temporary file, removed when this process exits)."""
    if not redis_url:
        return endpoints
    content = yaml.safe_load(Path(endpoints).read_text(encoding="utf-8")) or {}
    content["lock_store"] = lock_store(redis_url)
    handle, name = tempfile.mkstemp(prefix="rasa-endpoints-", suffix=".yml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        yaml.safe_dump(content, out, sort_keys=False)
    atexit.register(lambda: Path(name).unlink(missing_ok=True))
    return name


def rasa_argv(extra: list[str]) -> list[str]:
    """The ``rasa run`` command line from the environment (holding the token: keep in memory)."""
    for argument in extra:
        if argument.split("=", 1)[0] in SECRET_OPTIONS:
            raise ConfigError(f"{argument.split('=', 1)[0]} must not be on the command line")
    endpoints = env_str("RASA_ENDPOINTS", "bot/endpoints.yml")
    return [
        "rasa",
        "run",
        "--interface",
        env_str("RASA_HOST", "127.0.0.1"),
        "--port",
        str(env_int("RASA_PORT", 5005, minimum=1)),
        "--enable-api",
        "--auth-token",
        env_str("RASA_TOKEN"),
        "--model",
        env_str("RASA_MODEL", "models"),
        "--endpoints",
        endpoints_file(endpoints, env_str("REDIS_URL", "")),
        "--credentials",
        env_str("RASA_CREDENTIALS", "bot/credentials.yml"),
        *extra,
    ]


def require_model(value: str) -> None:
    """``RASA_MODEL`` names a model archive, or a folder holding one."""
    path = Path(value)
    if path.is_file() or (path.is_dir() and any(path.glob("*.tar.gz"))):
        return
    raise ConfigError(
        f"aucun modèle dans {value} (RASA_MODEL) : entraînez-en un avec « make train » "
        "ou indiquez une archive .tar.gz existante dans RASA_MODEL"
    )


# One worker per core already uses every core: TensorFlow's and BLAS's own thread pools
# (one thread per core each, by default) would only make the workers preempt each other.
# Set in the environment, these win.
WORKER_THREADS = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


def supervise(count: int, extra: list[str]) -> int:
    """Run ``count`` workers on consecutive ports until SIGTERM / SIGINT; restart the dead."""
    base = env_int("RASA_PORT", 5005, minimum=1)
    stopping = False

    def start(index: int) -> subprocess.Popen[bytes]:
        env = {**WORKER_THREADS, **os.environ, "RASA_WORKERS": "1", "RASA_PORT": str(base + index)}
        return subprocess.Popen([sys.executable, "-m", "rasa_ext.serve", *extra], env=env)

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = [start(i) for i in range(count)]
    listened = [False] * count
    code = 0
    while not stopping:
        for index, child in enumerate(children):
            if not listened[index]:
                listened[index] = _listens(base + index)
            if child.poll() is not None and not stopping:
                if not listened[index]:
                    print(
                        f"rasa: worker {index} exited with {child.returncode} at start; stopping",
                        file=sys.stderr,
                        flush=True,
                    )
                    stopping, code = True, child.returncode or 1
                    break
                print(
                    f"rasa: worker {index} (port {base + index}) exited with"
                    f" {child.returncode}; starting it again",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(RESTART_PAUSE_S)
                children[index] = start(index)
                listened[index] = False
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def _listens(port: int) -> bool:
    """Whether something accepts connections on loopback ``port`` (the worker is up)."""
    host = env_str("RASA_HOST", "127.0.0.1")
    try:
        with socket.create_connection((host if host != "0.0.0.0" else "127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def main(speedups: bool = True) -> int:
    """``speedups=False`` runs Rasa as it ships (``bench/plain_rasa.py``, the baseline of
    ``bench.scale``); otherwise ``rasa_ext.speedups`` is installed first."""
    try:
        count = workers()
        argv = rasa_argv(sys.argv[1:]) if count == 1 else []
        require_model(env_str("RASA_MODEL", "models"))
        check_database(database_url())
        # Every worker's port (RASA_PORT, RASA_PORT+1…), before any worker starts.
        base = env_int("RASA_PORT", 5005, minimum=1)
        for port in range(base, base + count):
            require_free_port("RASA_PORT", env_str("RASA_HOST", "127.0.0.1"), port)
    except ConfigError as err:
        print(f"rasa: erreur de configuration : {err}", file=sys.stderr)
        return 2
    if count > 1:
        return supervise(count, sys.argv[1:])
    from rasa_ext.cli import run

    run(argv, speedups)  # /proc/<pid>/cmdline keeps "python -m rasa_ext.serve"
    return 0


if __name__ == "__main__":
    sys.exit(main())
