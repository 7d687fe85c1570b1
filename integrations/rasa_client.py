"""Talking to Rasa through the gateway's own input channel; probing Rasa and the action server.

Rasa's only input channel is ``rasa_ext/gateway_channel.py`` (``bot/credentials.yml``):
``POST /webhooks/gateway/webhook`` with the ``X-Gateway-Secret`` header, so no other
process can hand Rasa a message with identity metadata. The tracker API calls carry
``RASA_TOKEN``.

Several Rasa workers (``RASA_WORKERS``, ``rasa_ext/serve.py``) listen on consecutive
ports from ``RASA_URL``'s; each conversation goes to one of them, always the same, so that
its messages are processed one at a time by one process even without Redis (Rasa's lock
store is then in memory). The worker is the conversation's database id modulo the number
of workers (:func:`worker_of_conversation`): consecutive conversations alternate, so 20 of
them are split 10 and 10 (a hash of their keys split a bench's 14 and 6), and every
gateway replica computes the same. A sender with no conversation row falls back to a
stable hash (:func:`worker_of`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

log = logging.getLogger(__name__)

GATEWAY_CHANNEL_PATH = "/webhooks/gateway/webhook"
GATEWAY_SECRET_HEADER = "X-Gateway-Secret"
# Routes remembered per gateway process (a database lookup each, the first time).
ROUTES_KEPT = 50_000


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


def worker_urls(rasa_url: str, workers: int) -> list[str]:
    """The base URLs of ``workers`` Rasa processes on consecutive ports from ``rasa_url``'s."""
    parts = urlsplit(rasa_url.rstrip("/"))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return [urlunsplit(parts._replace(netloc=f"{host}:{port + index}")) for index in range(workers)]


def worker_of(sender: str, workers: int) -> int:
    """The worker of a conversation: the same for one sender, spread evenly over senders."""
    digest = hashlib.sha256(sender.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % workers


def worker_of_conversation(conversation_id: int, workers: int) -> int:
    """The worker of a stored conversation: consecutive conversations alternate."""
    return conversation_id % workers


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
        workers: int = 1,
        conversation_id: Callable[[str], int | None] | None = None,
    ) -> None:
        """``conversation_id`` gives a sender's conversation id (a blocking database
        lookup, run in a thread); without it, conversations are routed by a hash."""
        self._session = session
        self._urls = worker_urls(rasa_url, workers) if workers > 1 else [rasa_url.rstrip("/")]
        self._conversation_id = conversation_id
        self._routes: OrderedDict[str, int] = OrderedDict()
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
        url = f"{await self.url_of(sender)}{GATEWAY_CHANNEL_PATH}"
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
        base = await self.url_of(sender)
        url = f"{base}/conversations/{quote(sender, safe='')}/tracker/events"
        params = {"token": self._token} if self._token else None
        try:
            async with self._session.post(
                url, json=events, params=params, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RasaUnavailable(f"Rasa unreachable: {err!r}") from err

    async def url_of(self, sender: str) -> str:
        """The base URL of the Rasa worker of conversation ``sender``."""
        workers = len(self._urls)
        if workers == 1:
            return self._urls[0]
        index = self._routes.get(sender)
        if index is None:
            found = None
            if self._conversation_id is not None:
                found = await asyncio.to_thread(self._conversation_id, sender)
            if found is None:  # not stored (yet, or any more): not remembered either
                return self._urls[worker_of(sender, workers)]
            index = self._routes[sender] = worker_of_conversation(found, workers)
            if len(self._routes) > ROUTES_KEPT:
                self._routes.popitem(last=False)
        return self._urls[index]

    def forget_route(self, sender: str) -> None:
        """The conversation was deleted: a new one with this key gets its own worker."""
        self._routes.pop(sender, None)

    async def rasa_ok(self) -> bool:
        """True when every Rasa worker answers (with a token: has its model loaded)."""
        results = await asyncio.gather(*(self._worker_ok(url) for url in self._urls))
        return all(results)

    async def _worker_ok(self, url: str) -> bool:
        if self._token:
            return await self._probe(f"{url}/status", {"token": self._token})
        return await self._probe(f"{url}/", None)

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
