"""Token buckets for the public endpoints.

Each key (a client address, a conversation) has a bucket of ``per_minute`` tokens that
refills continuously; a request takes one, and is refused with 429 and ``Retry-After``
when none is left.

- :class:`RateLimiter`: the buckets in this process's memory (one gateway).
- :class:`SharedRateLimiter`: the buckets in Redis, one per key for every replica (made
  by the bus when ``REDIS_URL`` is set), so that two replicas do not double a limit.
  Each take is one atomic script run on Redis's clock. Redis unreachable: this
  replica's own buckets stand in (said once in the log), rather than refusing everybody.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from integrations.errors import ApiError

log = logging.getLogger(__name__)

# Buckets untouched for this long are full again: dropped to bound the memory.
IDLE_S = 600.0
SWEEP_EVERY = 1000


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``per_minute`` requests per key, in bursts of at most ``burst`` (default: the same)."""

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst or per_minute)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._calls = 0

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 when allowed, else the seconds until one is back."""
        now = self._clock()
        self._calls += 1
        if self._calls % SWEEP_EVERY == 0:
            self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    async def wait_s(self, key: str) -> float:
        """Take a token for ``key`` where the buckets are kept (here: this process)."""
        return self.take(key)

    async def check(self, key: str, what: str) -> None:
        """Take a token or raise the 429 :class:`ApiError` (``what``: whose limit, in French)."""
        wait = await self.wait_s(key)
        if wait > 0:
            raise too_many(wait, what)

    def _sweep(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if now - b.at > IDLE_S]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


# KEYS[1]: the bucket; ARGV: tokens per second, burst. Returns the wait in seconds (as a
# string: Redis would truncate a Lua number to an integer).
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class SharedRateLimiter(RateLimiter):
    """The same buckets in Redis under ``assistant:rate:<name>:<key>``, for every replica."""

    def __init__(self, client: Any, name: str, per_minute: int, burst: int | None = None):
        super().__init__(per_minute, burst)
        self.prefix = f"assistant:rate:{name}:"
        self._take = client.register_script(_TAKE)
        self._fallback = False

    async def wait_s(self, key: str) -> float:
        try:
            wait = float(await self._take(keys=[self.prefix + key], args=[self.rate, self.burst]))
        except (RedisError, OSError) as err:
            if not self._fallback:
                log.warning(
                    "Redis unavailable: %s limited by this replica alone (%r)", self.prefix, err
                )
                self._fallback = True
            return self.take(key)
        if self._fallback:
            log.info("Redis answers again: %s limited across replicas", self.prefix)
            self._fallback = False
        return wait


def too_many(wait_s: float, what: str) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        f"Trop de requêtes {what}. Réessayez dans {seconds} seconde{'s' if seconds > 1 else ''}.",
        headers={"Retry-After": str(seconds)},
    )
