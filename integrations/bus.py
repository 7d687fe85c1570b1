"""What the gateway replicas tell each other: pub/sub topics and one lock per conversation.

```mermaid
flowchart LR
  A[replica A: a message stored, under the conversation's lock] -- publish --> R[(Redis pub/sub)]
  R -- every replica, A included, in publish order --> HA[A's sockets]
  R --> HB[B's sockets: the person's widget, the mediators' consoles]
```

One gateway (``REDIS_URL`` empty, the embedded default): :class:`Bus` hands every message
to this process's subscribers, and the conversation's lock is the gateway's own asyncio
lock. Several replicas: :class:`RedisBus` publishes on Redis, every replica (the publisher
too) hears every message in the order Redis got them, and ``lock(key)`` is a Redis lock as
well, so that one conversation's messages are stored and published one at a time across
replicas: their ids, their publication and their delivery follow one order, and a socket
that drops any message whose id it already sent gets each once, in order.

Redis down: taking a lock or publishing raises :class:`BusUnavailable` (a 503 the widget
and the console retry); nothing is stored without the lock. The subscriber reconnects by
itself, then ``on_reconnect`` callbacks re-send from the database what sockets may have
missed meanwhile (``Hub.resync``, ``ConsoleHub.resync``).

Ownership is not here: it stays in the database, changed by conditional updates
(``integrations/handoff/store.py``), so two replicas never both win a take.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import LockError, RedisError

from integrations.errors import ApiError
from integrations.ratelimit import FailureLog, RateLimiter, SharedFailureLog, SharedRateLimiter

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Reconnected = Callable[[], Awaitable[None]]
Lock = Callable[[str], AbstractAsyncContextManager[Any]]

PREFIX = "assistant:"
# Seconds between two attempts to reach Redis again, at most.
MAX_BACKOFF_S = 5.0
RETRY_AFTER_S = 2
# Published when a replica failed to publish: every replica re-sends from the database.
RESYNC_TOPIC = "resync"


class BusUnavailable(ApiError):
    """Redis cannot be reached: the request is refused, nothing was stored."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "service_unavailable",
            "Service momentanément indisponible : votre message n'a pas été envoyé, "
            "il sera renvoyé dans un instant.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


class Bus:
    """One gateway: messages go to this process's subscribers; no lock of its own."""

    def __init__(self) -> None:
        # This replica's name, in what it publishes (presence: who says who is online).
        self.replica = secrets.token_hex(6)
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.on_reconnect: list[Reconnected] = []

    @property
    def shared(self) -> bool:
        """True when other replicas hear what this one publishes."""
        return False

    @property
    def healthy(self) -> bool:
        """True when this replica hears the others (always, alone)."""
        return True

    @property
    def lock(self) -> Lock | None:
        """The conversations' lock across replicas; None: the gateway's own suffices."""
        return None

    def rate_limiter(self, name: str, per_minute: int) -> RateLimiter:
        """``per_minute`` requests per key, counted by this replica alone."""
        return RateLimiter(per_minute)

    def failure_log(self, name: str, window_s: float) -> FailureLog:
        """Failures per key over ``window_s``, counted by this replica alone."""
        return FailureLog(window_s)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        await self._dispatch(topic, message)

    async def _dispatch(self, topic: str, message: dict[str, Any]) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                await handler(message)
            except Exception:  # one subscriber's trouble must not starve the others
                log.exception("bus subscriber of %s failed", topic)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


class RedisBus(Bus):
    """Several replicas: Redis pub/sub, and a Redis lock per conversation."""

    def __init__(self, url: str, lock_timeout_s: float) -> None:
        super().__init__()
        options: dict[str, Any] = {
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "health_check_interval": 10,
        }
        # Commands retry a few times (a pooled connection may predate a Redis restart);
        # the subscription does not: a lost one must be seen, to resync after it.
        self.client = redis.from_url(
            url, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3), **options
        )
        self.listener = redis.from_url(url, **options)
        self.lock_timeout_s = lock_timeout_s
        self._local: dict[str, asyncio.Lock] = {}
        self._reader: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._missed = False
        self.subscribe(RESYNC_TOPIC, self._resync)

    @property
    def shared(self) -> bool:
        return True

    @property
    def healthy(self) -> bool:
        return self.connected.is_set()

    @property
    def lock(self) -> Lock:
        return self._lock

    def rate_limiter(self, name: str, per_minute: int) -> RateLimiter:
        """``per_minute`` requests per key, counted across every replica."""
        return SharedRateLimiter(self.client, name, per_minute)

    def failure_log(self, name: str, window_s: float) -> FailureLog:
        """Failures per key over ``window_s``, counted across every replica."""
        return SharedFailureLog(self.client, name, window_s)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        try:
            await self.client.publish(PREFIX + topic, json.dumps(message))
        except (RedisError, OSError) as err:
            log.warning("Redis unavailable, %s not published: %r", topic, err)
            self._missed = True  # every replica resyncs once Redis answers again
            raise BusUnavailable() from err

    async def _resync(self, _message: dict[str, Any] | None = None) -> None:
        for callback in self.on_reconnect:
            try:
                await callback()
            except Exception:
                log.exception("resync after a Redis outage failed")

    async def _after_missed(self) -> None:
        """A publication failed here: once Redis answers, every replica resyncs."""
        try:
            await self.client.publish(PREFIX + RESYNC_TOPIC, "{}")
        except (RedisError, OSError):
            return
        self._missed = False
        log.info("Redis answers again: every replica re-sends what sockets may have missed")

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        """This process's waiters queue on an asyncio lock, then one Redis lock per
        conversation across replicas (expiring after ``lock_timeout_s`` if its holder
        dies); Redis down: :class:`BusUnavailable`."""
        local = self._local.get(key)
        if local is None:
            local = self._local[key] = asyncio.Lock()
        try:
            async with local:
                shared = self.client.lock(
                    # Not "assistant:lock:…": that is Rasa's lock store (rasa_ext/serve.py).
                    f"{PREFIX}gateway-lock:{key}",
                    timeout=self.lock_timeout_s,
                    sleep=0.01,
                    blocking_timeout=self.lock_timeout_s,
                )
                try:
                    acquired = await shared.acquire()
                except (RedisError, OSError) as err:
                    log.warning("Redis unavailable, no lock for %s: %r", key, err)
                    raise BusUnavailable() from err
                if not acquired:
                    log.warning("lock of %s still held after %ss", key, self.lock_timeout_s)
                    raise BusUnavailable()
                try:
                    yield
                finally:
                    try:
                        await shared.release()
                    except (LockError, RedisError, OSError) as err:
                        log.warning("lock of %s not released (expires by itself): %r", key, err)
        finally:
            if not local.locked() and self._local.get(key) is local:
                del self._local[key]

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        """Listen to every subscribed topic, reconnecting with a backoff; after a
        reconnection the ``on_reconnect`` callbacks re-send what may have been missed."""
        backoff, first = 0.1, True
        while True:
            pubsub = self.listener.pubsub()
            try:
                await pubsub.subscribe(*(PREFIX + topic for topic in self._handlers))
                if not first:
                    log.info("Redis reachable again: re-sending what sockets may have missed")
                    await self._resync()
                first, backoff = False, 0.1
                self.connected.set()
                while True:
                    if self._missed:
                        await self._after_missed()
                    # A timeout, not listen(): the health check pings a silent connection.
                    item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if item is not None and item.get("type") == "message":
                        topic = item["channel"].decode().removeprefix(PREFIX)
                        await self._dispatch(topic, json.loads(item["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as err:
                if self.connected.is_set():
                    log.warning("Redis subscription lost: %r; reconnecting", err)
                self.connected.clear()
                first = False
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.client.aclose()
        await self.listener.aclose()


def make_bus(redis_url: str | None, lock_timeout_s: float) -> Bus:
    return RedisBus(redis_url, lock_timeout_s) if redis_url else Bus()
