"""The gateway refuses to start without the secret it sends to Rasa's channel.

(Split from tests/rasa/security/test_internal_services.py, which runs in Rasa's
environment: this one needs the gateway's.)
"""

from __future__ import annotations

import pytest

from common.config import ConfigError
from integrations.settings import Settings


def test_gateway_settings_require_the_channel_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("GATEWAY_CHANNEL_SECRET", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("MATRIX_HOMESERVER", raising=False)
    with pytest.raises(ConfigError, match="GATEWAY_CHANNEL_SECRET is required"):
        Settings.from_env()
    monkeypatch.setenv("GATEWAY_CHANNEL_SECRET", "s3cret")
    assert Settings.from_env().gateway_channel_secret == "s3cret"
