"""Talking to Rasa through the gateway's own input channel; probing Rasa and the action server.

Rasa's only input channel is ``rasa_ext/gateway_channel.py`` (``bot/credentials.yml``):
``POST /webhooks/gateway/webhook`` with the ``X-Gateway-Secret`` header, so no other
process can hand Rasa a message with identity metadata. The tracker API calls carry
``RASA_TOKEN``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

GATEWAY_CHANNEL_PATH = "/webhooks/gateway/webhook"
GATEWAY_SECRET_HEADER = "X-Gateway-Secret"


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


class RasaClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        rasa_url: str,
        actions_health_url: str,
        token: str | None = None,
        channel_secret: str = "",
        timeout_s: float = 30.0,
        health_timeout_s: float = 3.0,
    ) -> None:
        self._session = session
        self._rasa_url = rasa_url.rstrip("/")
        self._actions_health_url = actions_health_url
        self._token = token
        self._channel_headers = {GATEWAY_SECRET_HEADER: channel_secret}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._health_timeout = aiohttp.ClientTimeout(total=health_timeout_s)

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any], input_channel: str
    ) -> list[dict[str, Any]]:
        """One user message through Rasa's gateway channel; the bot's messages."""
        body = {
            "sender": sender,
            "message": text,
            "metadata": metadata,
            "input_channel": input_channel,
        }
        url = f"{self._rasa_url}{GATEWAY_CHANNEL_PATH}"
        try:
            async with self._session.post(
                url, json=body, headers=self._channel_headers, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as err:
            raise RasaUnavailable(f"Rasa unreachable: {err!r}") from err
        if not isinstance(answer, list):
            raise RasaUnavailable(f"unexpected answer from Rasa: {answer!r:.200}")
        return [m for m in answer if isinstance(m, dict)]

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Append events to a tracker (pause, resume, a mediator's message as a bot event)."""
        url = f"{self._rasa_url}/conversations/{quote(sender, safe='')}/tracker/events"
        params = {"token": self._token} if self._token else None
        try:
            async with self._session.post(
                url, json=events, params=params, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RasaUnavailable(f"Rasa unreachable: {err!r}") from err

    async def rasa_ok(self) -> bool:
        """True when Rasa answers (with a token: when a model is loaded)."""
        if self._token:
            return await self._probe(f"{self._rasa_url}/status", {"token": self._token})
        return await self._probe(f"{self._rasa_url}/", None)

    async def actions_ok(self) -> bool:
        return await self._probe(self._actions_health_url, None)

    async def _probe(self, url: str, params: dict[str, str] | None) -> bool:
        try:
            async with self._session.get(
                url, params=params, timeout=self._health_timeout
            ) as response:
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError) as err:
            log.debug("probe %s failed: %r", url, err)
            return False
