"""Two real gateway replicas on one real Redis count the public rate limits and the
console's failed logins together: a client cannot double its budget, nor an attacker
their password attempts, by being sent to the other replica; with Redis down each
replica goes on limiting alone instead of refusing everybody."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import aiohttp

from integrations.console.auth import LoginThrottle
from tests.scale_gateway.replicas import MEDIATOR, Replica, replicas
from tools.redis import RedisServer

PER_MINUTE = 6  # GATEWAY_RATE_PER_ADDRESS: a burst of 6, then one every 10 s
PAIR_LIMIT = LoginThrottle().pair_limit  # failed checks per (account, address)


async def issue(http: aiohttp.ClientSession, url: str) -> int:
    """A new web conversation asked of one replica (limited per client address)."""
    async with http.post(f"{url}/webhooks/web/conversations", json={}) as response:
        if response.status == 429:
            body = await response.json()
            assert body["code"] == "rate_limited" and "Réessayez" in body["error"], body
            assert int(response.headers["Retry-After"]) >= 1
        return response.status


async def test_two_replicas_share_the_budget_of_an_address(
    redis: RedisServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    pair = replicas(f"sqlite:///{tmp_path / 'gateway.db'}", redis.url, tmp_path)
    pair = [
        dataclasses.replace(r, env={**r.env, "GATEWAY_RATE_PER_ADDRESS": str(PER_MINUTE)})
        for r in pair
    ]
    try:
        for replica in pair:
            replica.start()
        a, b = pair
        # Alternately on each replica: one budget, not one each.
        statuses = [await issue(http, (a, b)[i % 2].url) for i in range(2 * PER_MINUTE)]
        assert statuses == [201] * PER_MINUTE + [429] * PER_MINUTE, statuses

        # Redis down: each replica limits by itself (a fresh budget of its own), no 5xx.
        await asyncio.to_thread(redis.stop)
        alone = [await issue(http, b.url) for _ in range(PER_MINUTE + 1)]
        assert alone == [201] * PER_MINUTE + [429], alone
        await asyncio.to_thread(redis.start)
        # Redis back (empty: it keeps nothing on disk): one shared budget again.
        statuses = [await issue(http, (a, b)[i % 2].url) for i in range(PER_MINUTE + 1)]
        assert statuses == [201] * PER_MINUTE + [429], statuses
    finally:
        for replica in pair:
            replica.stop()
    assert "limited by this replica alone" in b.log()
    assert "Traceback" not in a.log() + b.log()


async def failed_login(http: aiohttp.ClientSession, replica: Replica, attempt: int) -> int:
    """A wrong password for the mediator's account on ``replica``: its status."""
    async with http.get(f"{replica.url}/console/login") as page:
        token = (await page.text()).split('name="csrf" value="', 1)[1].split('"', 1)[0]
    async with http.post(
        f"{replica.url}/console/login",
        data={"username": MEDIATOR, "password": f"essai {attempt}", "csrf": token},
        allow_redirects=False,
    ) as response:
        if response.status == 429:
            assert "Trop de tentatives" in await response.text()
            assert int(response.headers["Retry-After"]) >= 1
        return response.status


async def test_two_replicas_count_the_failed_logins_together(
    redis: RedisServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    a, b = pair = replicas(f"sqlite:///{tmp_path / 'gateway.db'}", redis.url, tmp_path)
    try:
        for replica in pair:
            replica.start()
        # Alternately on each replica: five wrong passwords in all, not five on each.
        statuses = [await failed_login(http, (a, b)[i % 2], i) for i in range(PAIR_LIMIT + 2)]
        assert statuses == [401] * PAIR_LIMIT + [429, 429], statuses

        # Redis down: each replica counts its own failures (b failed twice), no 5xx.
        await asyncio.to_thread(redis.stop)
        alone = [await failed_login(http, b, 10 + i) for i in range(PAIR_LIMIT - 1)]
        assert alone == [401] * (PAIR_LIMIT - 2) + [429], alone
    finally:
        for replica in pair:
            replica.stop()
    assert "counted by this replica alone" in b.log()
    assert "Traceback" not in a.log() + b.log()
