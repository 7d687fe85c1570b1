"""``assistant check`` against real peers where they are cheap: the database, a real
action server, a real redis-server (with a password), the fake Bot API for Telegram
(its cloud cannot run here); Rasa and Matrix on closed ports fail, naming their setting."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from tests.cli.conftest import ASSISTANT, Result, closed_port
from tests.gateway.fake_telegram import FakeBotApi
from tools.stack import Process, child_env, free_port, procfile_command

REDIS_PASSWORD = "mot-de-passe-redis"
TELEGRAM_TOKEN = "123456:jeton-du-bot"


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real action server (Procfile's command), on a free port; its base URL."""
    folder = tmp_path_factory.mktemp("actions")
    port = free_port()
    database = f"sqlite:///{folder / 'assistant.db'}"
    from common.migrate import upgrade

    upgrade(database)
    env = child_env(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "DATABASE_URL": database,
            "ACTIONS_PORT": str(port),
            "ACTIONS_SECRET": "secret-actions-test",
            "LOG_LEVEL": "WARNING",
        }
    )
    process = Process("action server", procfile_command("actions"), env, folder / "actions.log")
    process.start()
    try:
        process.wait_until(f"http://127.0.0.1:{port}/health", timeout=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server with a password on a loopback port."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server missing: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--requirepass", REDIS_PASSWORD, "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:  # poll until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def check(env: dict[str, str]) -> Result:
    """``assistant check`` as a child process, this event loop serving the fake Bot API."""
    process = await asyncio.create_subprocess_exec(
        str(ASSISTANT), "check", cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


async def test_check_masks_secrets_and_checks_every_peer(
    aiohttp_server, env: dict[str, str], action_server: str, redis_url: str
) -> None:  # type: ignore[no-untyped-def]
    api = FakeBotApi(TELEGRAM_TOKEN)
    telegram = await aiohttp_server(api.app())
    matrix_port = closed_port()
    result = await check(
        {
            **env,
            "ACTION_SERVER_URL": f"{action_server}/webhook",
            "RASA_URL": f"http://127.0.0.1:{closed_port()}",
            "REDIS_URL": redis_url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": "secret-webhook",
            "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram.port}/bot",
            "MATRIX_HOMESERVER": f"http://127.0.0.1:{matrix_port}",
        }
    )
    out = result.stdout
    assert "Traceback" not in result.stderr
    # The settings in force, secrets masked (a URL's password too), defaults named.
    for secret in ("jeton-test", "secret-actions-test", "mot-de-passe-admin", REDIS_PASSWORD,
                   TELEGRAM_TOKEN, "secret-webhook"):  # fmt: skip
        assert secret not in out, secret
    assert "RASA_TOKEN" in out and "•••• (défini)" in out
    assert "REDIS_URL" in out and "redis://:••••@127.0.0.1" in out
    assert "GATEWAY_PORT" in out and "(défaut : 8080)" in out
    # Each peer.
    assert "OK     base de données : joignable, révision" in out
    assert f"OK     serveur d'actions : {action_server} répond" in out
    assert "OK     Redis : 127.0.0.1:" in out
    assert "OK     Telegram : bot @" in out and api.attempts("getMe")
    assert "ÉCHEC  Rasa (RASA_URL) : injoignable" in out
    assert "ÉCHEC  Matrix (MATRIX_HOMESERVER) : injoignable" in out
    assert "2 vérification(s) en échec." in out
    assert result.returncode == 1


async def test_check_without_optional_peers(
    env: dict[str, str], action_server: str, tmp_path: Path
) -> None:
    result = await check(
        {**env, "ACTION_SERVER_URL": f"{action_server}/webhook",
         "RASA_URL": f"http://127.0.0.1:{closed_port()}"}
    )  # fmt: skip
    out = result.stdout
    assert "—      Redis : non utilisé (REDIS_URL vide)" in out
    assert "—      Telegram : non utilisé (TELEGRAM_BOT_TOKEN vide)" in out
    assert "—      Matrix : non utilisé (MATRIX_HOMESERVER vide)" in out
    assert "1 vérification(s) en échec." in out and result.returncode == 1


async def test_check_names_a_wrong_redis_password(env: dict[str, str], redis_url: str) -> None:
    wrong = redis_url.replace(REDIS_PASSWORD, "pas-le-bon")
    result = await check({**env, "REDIS_URL": wrong})
    assert "ÉCHEC  Redis (REDIS_URL) : refuse" in result.stdout
    assert "pas-le-bon" not in result.stdout and result.returncode == 1
