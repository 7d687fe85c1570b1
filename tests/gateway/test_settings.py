"""Gateway settings: defaults, channels switched on by their variables, errors naming them."""

from __future__ import annotations

import os

import pytest

from common.config import ConfigError
from integrations.settings import Settings

GATEWAY_VARIABLES = (
    "GATEWAY_HOST",
    "GATEWAY_PORT",
    "GATEWAY_RASA_TIMEOUT",
    "GATEWAY_MAX_MESSAGE_CHARS",
    "GATEWAY_MAX_BODY_BYTES",
    "GATEWAY_CORS_ORIGINS",
    "RASA_URL",
    "RASA_TOKEN",
    "ACTION_SERVER_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_MODE",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_API_URL",
    "MATRIX_HOMESERVER",
    "MATRIX_USER_ID",
    "MATRIX_PASSWORD",
    "MATRIX_ACCESS_TOKEN",
    "MATRIX_ALLOWED_SERVERS",
    "MATRIX_ALLOWED_USERS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GATEWAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_have_only_the_web_channel():
    settings = Settings.from_env()
    assert settings.port == 8080
    assert settings.telegram is None and settings.matrix is None
    assert settings.actions_health_url == "http://127.0.0.1:5055/health"


def test_channels_are_on_when_configured(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "secret_1")
    monkeypatch.setenv("MATRIX_HOMESERVER", "https://matrix.departement.example/")
    monkeypatch.setenv("MATRIX_USER_ID", "@assistant:departement.example")
    monkeypatch.setenv("MATRIX_ACCESS_TOKEN", "syt_x")
    monkeypatch.setenv("MATRIX_ALLOWED_SERVERS", "departement.example, cd29.fr")
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://www.departement.example")
    settings = Settings.from_env()
    assert settings.telegram is not None and settings.telegram.mode == "webhook"
    assert settings.matrix is not None
    assert settings.matrix.homeserver == "https://matrix.departement.example"
    assert settings.matrix.allowed_servers == ("departement.example", "cd29.fr")
    assert settings.cors_origins == ("https://www.departement.example",)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"GATEWAY_PORT": "huit"}, "GATEWAY_PORT"),
        ({"RASA_URL": "localhost:5005"}, "RASA_URL"),
        ({"TELEGRAM_BOT_TOKEN": "1:abc"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_MODE": "push"}, "TELEGRAM_MODE"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_SECRET": "pas de blancs"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"MATRIX_HOMESERVER": "https://m.example"}, "MATRIX_USER_ID"),
        (
            {"MATRIX_HOMESERVER": "https://m.example", "MATRIX_USER_ID": "@a:m.example"},
            "MATRIX_PASSWORD",
        ),
    ],
)
def test_wrong_settings_fail_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        Settings.from_env()


def test_polling_mode_needs_no_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    settings = Settings.from_env()
    assert settings.telegram is not None and settings.telegram.webhook_secret is None


def test_without_variables_from_env_gives_the_dataclass_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defaults are written once, in the dataclasses: ``from_env`` falls back on them."""
    for name in list(os.environ):
        if name.startswith(
            ("GATEWAY_", "RASA_", "ACTION", "CONSOLE_", "RETENTION_", "ADMIN_", "OIDC_")
        ) or name in ("DATABASE_URL", "WIDGET_TITLE", "WIDGET_DEMO", "MEDIATOR_HOURS"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_CHANNEL_SECRET", "s")
    # RASA_WORKERS defaults to one Rasa per core, as rasa_ext/serve.py starts them.
    assert Settings.from_env() == Settings(
        gateway_channel_secret="s", rasa_workers=os.cpu_count() or 1
    )
