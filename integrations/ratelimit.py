"""Token buckets for the public endpoints, and failure logs for the console's login.

Each key (a client address, a conversation) has a bucket of ``per_minute`` tokens that
refills continuously; a request takes one, and is refused with 429 and ``Retry-After``
when none is left.

- :class:`RateLimiter`: the buckets in this process's memory (one gateway).
- :class:`SharedRateLimiter`: the buckets in Redis, one per key for every replica (made
  by the bus when ``REDIS_URL`` is set), so that two replicas do not double a limit.
  Each take is one atomic script run on Redis's clock. Redis unreachable: this
  replica's own buckets stand in (said once in the log), rather than refusing everybody.

The login throttle (``integrations/console/auth.py``) counts failed password checks per
address, account and pair over a sliding window, in the same two ways:
:class:`FailureLog` (this process) and :class:`SharedFailureLog` (Redis sorted sets, one
per key, on Redis's clock), so that N replicas do not give an attacker N times the
attempts.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
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


class FailureLog:
    """When each key failed, over the last ``window_s`` seconds, in this process."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._calls = 0

    async def ages(self, keys: Sequence[str]) -> dict[str, list[float]]:
        """Seconds since each failure of the window, oldest first, for each of ``keys``."""
        return self._ages(keys)

    async def add(self, keys: Sequence[str]) -> None:
        """One failure now for each of ``keys``."""
        self._add(keys)

    async def clear(self, keys: Sequence[str]) -> None:
        self._clear(keys)

    def _ages(self, keys: Sequence[str]) -> dict[str, list[float]]:
        now = self._clock()
        out: dict[str, list[float]] = {}
        for key in keys:
            failures = self._failures.get(key)
            if failures is None:
                continue
            while failures and failures[0] < now - self.window_s:
                failures.popleft()
            if not failures:  # idle keys go: the memory stays bounded
                del self._failures[key]
                continue
            out[key] = [now - at for at in failures]
        return out

    def _add(self, keys: Sequence[str]) -> None:
        now = self._clock()
        self._calls += 1
        if self._calls % SWEEP_EVERY == 0:  # keys never asked about again go too
            for key in [k for k, f in self._failures.items() if f[-1] < now - self.window_s]:
                del self._failures[key]
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def _clear(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


# KEYS: the failure sets; ARGV[1]: the window in seconds. Returns, per key, the ages of
# its failures (strings: Redis would truncate Lua numbers), oldest first.
_AGES = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local window = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. tostring(now - window))
  local ages = {}
  local rows = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  for j = 2, #rows, 2 do ages[#ages + 1] = tostring(now - tonumber(rows[j])) end
  out[i] = ages
end
return out
"""
# KEYS: the failure sets; ARGV: the window, a member unique to this failure.
_ADD = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[1])) + 1)
end
return 0
"""


class SharedFailureLog(FailureLog):
    """The same log in Redis under ``assistant:failures:<name>:<key>``, for every replica.

    Redis unreachable: this replica's own log stands in (said once in the log)."""

    def __init__(self, client: Any, name: str, window_s: float) -> None:
        super().__init__(window_s)
        self.prefix = f"assistant:failures:{name}:"
        self._client = client
        self._ages_script = client.register_script(_AGES)
        self._add_script = client.register_script(_ADD)
        self._fallback = False

    async def ages(self, keys: Sequence[str]) -> dict[str, list[float]]:
        try:
            rows = await self._ages_script(keys=self._keys(keys), args=[self.window_s])
        except (RedisError, OSError) as err:
            self._alone(err)
            return self._ages(keys)
        self._together()
        return {key: [float(a) for a in ages] for key, ages in zip(keys, rows, strict=True) if ages}

    async def add(self, keys: Sequence[str]) -> None:
        self._add(keys)  # kept here too, for when Redis goes away
        try:
            member = secrets.token_hex(8)
            await self._add_script(keys=self._keys(keys), args=[self.window_s, member])
        except (RedisError, OSError) as err:
            self._alone(err)

    async def clear(self, keys: Sequence[str]) -> None:
        self._clear(keys)
        try:
            await self._client.delete(*self._keys(keys))
        except (RedisError, OSError) as err:
            self._alone(err)

    def _keys(self, keys: Sequence[str]) -> list[str]:
        return [self.prefix + key for key in keys]

    def _alone(self, err: BaseException) -> None:
        if not self._fallback:
            log.warning(
                "Redis unavailable: %s counted by this replica alone (%r)", self.prefix, err
            )
            self._fallback = True

    def _together(self) -> None:
        if self._fallback:
            log.info("Redis answers again: %s counted across replicas", self.prefix)
            self._fallback = False


def too_many(wait_s: float, what: str) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        f"Trop de requêtes {what}. Réessayez dans {seconds} seconde{'s' if seconds > 1 else ''}.",
        headers={"Retry-After": str(seconds)},
    )
