"""Token buckets for the public endpoints, in this process's memory.

Each key (a client address, a conversation) has a bucket of ``per_minute`` tokens that
refills continuously; a request takes one, and is refused with 429 and ``Retry-After``
when none is left. One gateway process: several replicas would need a shared store
(Redis), like the live pushes (see README, "Open points").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from integrations.errors import ApiError

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

    def check(self, key: str, what: str) -> None:
        """Take a token or raise the 429 :class:`ApiError` (``what``: whose limit, in French)."""
        wait = self.take(key)
        if wait > 0:
            raise too_many(wait, what)

    def _sweep(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if now - b.at > IDLE_S]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def too_many(wait_s: float, what: str) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        "rate_limited",
        f"Trop de requêtes {what}. Réessayez dans {seconds} seconde{'s' if seconds > 1 else ''}.",
        headers={"Retry-After": str(seconds)},
    )
