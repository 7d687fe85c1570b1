"""One implementation of the settings: ``common.config.load_environment`` (the tool, the
services' defaults) and ``scripts/env.sh`` (which runs it) give the same values."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from common.config import PROJECT_ROOT, load_environment, masked

COMPARED = ("DATABASE_URL", "RASA_PORT", "ACTIONS_PORT", "RASA_URL", "ACTION_SERVER_URL",
            "DATA_DIR", "RASA_VENV", "TZ", "LOG_LEVEL", "RASA_TOKEN", "ACTIONS_SECRET",
            "GATEWAY_CHANNEL_SECRET", "CONSOLE_ADMIN_PASSWORD")  # fmt: skip


def test_the_environment_wins_then_dotenv_then_defaults(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# a comment\n"
        "export RASA_PORT=7210\n"
        'MEDIATOR_HOURS="Mo-Fr 09:00-12:00; PH off"\n'
        "WIDGET_TITLE='Assistant $RASA_PORT'\n"
        "GATEWAY_PUBLIC_URL=http://127.0.0.1:$RASA_PORT  # expanded, comment dropped\n"
        "LOG_LEVEL=DEBUG\n",
        encoding="utf-8",
    )
    env = {"LOG_LEVEL": "WARNING"}
    load_environment(env, root=tmp_path)
    assert env["LOG_LEVEL"] == "WARNING"  # set in the environment: kept
    assert env["RASA_PORT"] == "7210"
    assert env["RASA_URL"] == "http://127.0.0.1:7210"  # derived from .env's port
    assert env["ACTION_SERVER_URL"] == "http://127.0.0.1:5055/webhook"
    assert env["MEDIATOR_HOURS"] == "Mo-Fr 09:00-12:00; PH off"
    assert env["WIDGET_TITLE"] == "Assistant $RASA_PORT"  # single quotes: literal
    assert env["GATEWAY_PUBLIC_URL"] == "http://127.0.0.1:7210"
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'var' / 'assistant.db'}"


def test_secrets_are_generated_once_private(tmp_path: Path) -> None:
    first: dict[str, str] = {}
    load_environment(first, root=tmp_path)
    secrets_file = tmp_path / "var" / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    again: dict[str, str] = {"RASA_TOKEN": "donné"}
    load_environment(again, root=tmp_path)
    assert again["RASA_TOKEN"] == "donné"
    assert again["ACTIONS_SECRET"] == first["ACTIONS_SECRET"] != first["RASA_TOKEN"]
    assert len(first["CONSOLE_ADMIN_PASSWORD"]) >= 32


def test_env_sh_gives_the_same_settings() -> None:
    given = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
             "RASA_PORT": "7212", "LOG_LEVEL": "WARNING"}  # fmt: skip
    printed = subprocess.run(
        ["bash", "-c", '. scripts/env.sh && for n in "$@"; do printf "%s=%s\\n" "$n" "${!n}"; done',
         "_", *COMPARED],
        cwd=PROJECT_ROOT, env=given, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    from_shell = dict(line.split("=", 1) for line in printed.splitlines())
    expected = dict(given)
    load_environment(expected)  # the checkout's .env and var/secrets.env, as env.sh
    assert from_shell == {name: expected[name] for name in COMPARED}


def test_masked_hides_secrets_and_url_passwords() -> None:
    assert masked("RASA_TOKEN", "abc") == "•••• (défini)"
    assert masked("DATABASE_URL", "postgres://u:secret@db:5432/a") == "postgres://u:••••@db:5432/a"
    assert (
        masked("REDIS_URL", "redis://:secret@127.0.0.1:6379/0") == "redis://:••••@127.0.0.1:6379/0"
    )
    assert masked("RASA_PORT", "5005") == "5005"
