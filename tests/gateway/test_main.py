"""``python -m integrations`` as the Procfile starts it: serves, reports, stops on SIGTERM."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests

from common.config import PROJECT_ROOT
from common.migrate import upgrade
from tools.stack import child_env, free_port


def gateway_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what the test sets: no channel or data folder of a developer's .env."""
    upgrade(f"sqlite:///{tmp_path / 'gateway.db'}")
    return child_env(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "GATEWAY_PORT": str(free_port()),
            "GATEWAY_CHANNEL_SECRET": secrets.token_hex(24),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
            "RASA_URL": "http://127.0.0.1:9",
            "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",
            **extra,
        }
    )


def test_starts_serves_and_stops_cleanly(tmp_path: Path):
    env = gateway_env(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "integrations"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{env['GATEWAY_PORT']}/health"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(url, timeout=10)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "gateway not listening after 60 s"
                time.sleep(0.2)
        assert response.status_code == 503
        assert response.json()["rasa"] == "down" and response.json()["database"] == "ok"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert "gateway listening on" in output


def test_a_configuration_error_names_the_variable(tmp_path: Path):
    env = gateway_env(tmp_path, TELEGRAM_BOT_TOKEN="1:abc", TELEGRAM_MODE="webhook")
    result = subprocess.run(
        [sys.executable, "-m", "integrations"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET is required" in result.stderr


def test_a_database_not_migrated_is_refused_with_the_command_to_run(tmp_path: Path):
    env = gateway_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.db'}")
    result = subprocess.run(
        [sys.executable, "-m", "integrations"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "lancez « python -m common.migrate upgrade »" in result.stderr
    assert "Traceback" not in result.stderr
