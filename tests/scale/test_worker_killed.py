"""kill -9 a Rasa worker under load: no message lost, none answered twice, each
conversation answered in order (integrations/outbox.py, rasa_ext/serve.py).

The real stack: two Rasa workers under ``rasa_ext.serve``'s supervisor, sharing Rasa's
Redis lock store (a real ``redis-server``, ``tools/redis.py``), the action server, the
real gateway process on its SQLite database. Conversations write at the same
time through the gateway's REST webhook; once answers flow, the worker of the first
conversation is killed with SIGKILL. The supervisor starts it again, the gateway's
outbox sends what it could not deliver, and then, for every conversation:

- the gateway stored every message, and Rasa's tracker holds each of them exactly once,
  in the order written (nothing lost, nothing processed twice);
- the gateway stored the bot's answers exactly as the tracker has them (none twice);
- the outbox is empty.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from integrations.rasa_client import worker_of_conversation
from tools.redis import running_redis
from tools.stack import Stack, running_gateway, running_stack

pytestmark = [pytest.mark.stack, pytest.mark.long]

CONVERSATIONS = 6
MESSAGES = 8
TEXTS = ["bonjour", "merci", "au revoir", "bonsoir", "merci beaucoup", "salut", "super", "ok"]


@pytest.fixture(scope="module")
def two_workers(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("scale")
    database = f"sqlite:///{work}/rasa.db"
    with (
        running_redis() as redis_url,
        running_stack(trained_model, database, work / "logs", workers=2, redis_url=redis_url) as s,
    ):
        yield s


@pytest.fixture
async def gateway(two_workers: Stack, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    async with running_gateway(two_workers, tmp_path) as url:
        yield url, tmp_path / "gateway.db"


def rows(database: Path, query: str, **params: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query), params))
    finally:
        engine.dispose()


async def wait_for(predicate, within: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached after {within:.0f}s: {what}")
        await asyncio.sleep(1)


async def test_a_worker_killed_under_load_loses_nothing_and_answers_nothing_twice(
    two_workers: Stack, gateway: tuple[str, Path]
):
    url, database = gateway
    senders = [f"kill-{i}" for i in range(CONVERSATIONS)]
    workers = two_workers.worker_pids()
    victim = 0
    answered = asyncio.Event()
    done = 0

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:

        async def converse(sender: str) -> None:
            nonlocal done
            for turn in range(MESSAGES):
                body = {"sender": sender, "message": TEXTS[turn]}
                async with session.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                    assert response.status == 200, await response.text()
                    await response.json()
                done += 1
                if done >= CONVERSATIONS:
                    answered.set()

        async def kill() -> None:
            nonlocal victim
            await answered.wait()
            ids = await asyncio.to_thread(rows, database, "select key, id from conversations")
            routes = {key: worker_of_conversation(id_, 2) for key, id_ in ids}
            assert {routes[f"web:{s}"] for s in senders} == {0, 1}  # both workers loaded
            victim = workers[routes[f"web:{senders[0]}"]]
            os.kill(victim, signal.SIGKILL)

        await asyncio.gather(kill(), *(converse(s) for s in senders))

    assert victim not in two_workers.worker_pids()  # killed, and started again
    await asyncio.to_thread(two_workers.wait_workers, 900)
    await wait_for(
        lambda: rows(database, "select count(*) from outbox")[0][0] == 0,
        within=600,
        what="the outbox empty",
    )
    # The kill was felt: messages of the victim's conversations waited in the outbox.
    assert "message queued" in (database.parent / "gateway.log").read_text()
    for sender in senders:
        key = f"web:{sender}"
        stored = rows(
            database,
            "select m.direction, m.author, m.text from messages m join conversations c"
            " on c.id = m.conversation_id where c.key = :key order by m.id",
            key=key,
        )
        tracker = await asyncio.to_thread(two_workers.tracker, key)
        user_events = [e for e in tracker["events"] if e["event"] == "user"]
        assert [d for d, _, t in stored if d == "in"] == ["in"] * MESSAGES
        assert [t for d, _, t in stored if d == "in"] == TEXTS[:MESSAGES]
        assert [e["text"] for e in user_events] == TEXTS[:MESSAGES], key
        assert len({e["metadata"]["message_key"] for e in user_events}) == MESSAGES
        tracker_bot = [e["text"] for e in tracker["events"] if e["event"] == "bot" and e["text"]]
        assert [t for _, a, t in stored if a == "bot"] == tracker_bot, key
