"""Visioconference links: a provider interface, Jitsi (a URL with an unguessable room) by default.

Other providers (La Suite Meet's external API, BigBlueButton's signed ``create``
call) fit the same interface: ``create(booking_title, start_utc, end_utc) -> URL``.

    VISIO_PROVIDER=jitsi                        (the only one built in)
    VISIO_BASE_URL=https://visio.departement.example
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from common.config import ConfigError, env_str

DEFAULT_BASE_URL = "https://visio.departement.example"
ROOM_PREFIX = "Departement"


class VisioProvider(Protocol):
    def create(self, title: str, start_utc: datetime, end_utc: datetime) -> str:
        """A join URL for a meeting; raises ``VisioError`` when the service refuses."""
        ...


class VisioError(RuntimeError):
    """The visio service could not create a meeting."""


@dataclass(frozen=True)
class JitsiProvider:
    """Jitsi Meet: a meeting exists as soon as someone opens its URL, so the name is the secret."""

    base_url: str

    def create(self, title: str, start_utc: datetime, end_utc: datetime) -> str:
        # 128 random bits: not guessable, and no personal data or date in the URL.
        return f"{self.base_url.rstrip('/')}/{ROOM_PREFIX}-{secrets.token_urlsafe(16)}"


def provider_from_env() -> VisioProvider:
    name = env_str("VISIO_PROVIDER", "jitsi").lower()
    base_url = env_str("VISIO_BASE_URL", DEFAULT_BASE_URL)
    if not base_url.startswith(("https://", "http://")):
        raise ConfigError(f"VISIO_BASE_URL must be an http(s) URL, got {base_url!r}")
    if name == "jitsi":
        return JitsiProvider(base_url)
    raise ConfigError(f"VISIO_PROVIDER must be one of: jitsi; got {name!r}")
