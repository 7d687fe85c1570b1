"""Two real gateway processes on one database and one real Redis: a person on one, a
mediator on the other; each gets every message of the conversation once, in order, through
concurrent writing, replica restarts and a Redis restart.

"Every message" is the database's list: what each socket received (replay and live,
across reconnections) must be exactly the stored ids, increasing, none twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.scale_gateway.replicas import (
    Mediator,
    Person,
    Replica,
    owner_of,
    replicas,
    stored_ids,
    wait_for,
)
from tools.redis import RedisServer

ROUNDS = 8


@pytest.fixture
def pair(database_url: str, redis: RedisServer, tmp_path: Path) -> Iterator[list[Replica]]:
    started = replicas(database_url, redis.url, tmp_path)
    try:
        for replica in started:
            replica.start()
        yield started
    finally:
        for replica in started:
            replica.stop()
    for replica in started:
        assert "Traceback" not in replica.log(), replica.log()[-4000:]


async def mediator_holds(
    a: Replica, b: Replica, http: aiohttp.ClientSession, database_url: str
) -> tuple[Person, Mediator]:
    """A person writes on ``b``; the mediator, on ``a``, takes the conversation."""
    person = Person(http)
    await person.begin(b)
    await person.connect(b)
    await person.say("Bonjour, j'ai une question sur ma carte de bus")
    await wait_for(lambda: len(person.socket.frames) >= 2, what="echo and the bot's answer")
    conversation_id, _ = stored_ids(database_url, person.rasa_key)
    mediator = Mediator(http, database_url)
    await mediator.login(a)
    await mediator.connect(a, conversation_id)
    await mediator.take(a)
    await wait_for(lambda: owner_of(database_url, person.rasa_key) == "mediator")
    return person, mediator


async def talk(person: Person, mediator: Mediator, rounds: int, tag: str) -> None:
    """Both write at once, ``rounds`` messages each."""

    async def person_side() -> None:
        for i in range(rounds):
            await person.say(f"{tag} personne {i}")
            await asyncio.sleep(0.01)

    async def mediator_side() -> None:
        for i in range(rounds):
            await mediator.say(f"{tag} médiatrice {i}")
            await asyncio.sleep(0.01)

    await asyncio.gather(person_side(), mediator_side())


async def everyone_has_everything(
    person: Person, mediator: Mediator, database_url: str, expected: int, rest: int = 0
) -> list[int]:
    """Wait until ``expected`` messages are stored and both sockets have them; assert
    each got exactly the stored ids, in order (the person's socket: but the ``rest``
    messages the person sent over REST, which the REST answer acknowledges: a resync may
    push them too)."""

    def stored() -> list[int]:
        return stored_ids(database_url, person.rasa_key)[1]

    await wait_for(lambda: len(stored()) >= expected, what=f"{expected} messages stored")
    ids = stored()
    await wait_for(lambda: person.socket.last_id == ids[-1], what="the person has the last")
    await wait_for(lambda: mediator.socket.ids()[-1:] == ids[-1:], what="the mediator has it")
    assert mediator.socket.ids() == ids
    person_ids = person.socket.ids()
    assert person_ids == sorted(set(person_ids))
    assert len(set(ids) - set(person_ids)) <= rest and set(person_ids) <= set(ids)
    assert not person.socket.errors and not mediator.socket.errors
    return ids


async def test_mediator_on_one_replica_person_on_the_other(
    pair: list[Replica], http: aiohttp.ClientSession, database_url: str
) -> None:
    a, b = pair
    person, mediator = await mediator_holds(a, b, http, database_url)
    await talk(person, mediator, ROUNDS, "tour 1")
    # echo + bot + "Annick a rejoint" + 2 * ROUNDS
    ids = await everyone_has_everything(person, mediator, database_url, 3 + 2 * ROUNDS)
    texts = [f.get("text", "") for f in person.socket.frames]
    assert sum("personne" in t for t in texts) == ROUNDS
    assert sum("médiatrice" in t for t in texts) == ROUNDS
    assert len(ids) == 3 + 2 * ROUNDS
    await person.socket.close()
    await mediator.socket.close()


async def test_restarting_each_replica_during_a_mediator_conversation(
    pair: list[Replica], http: aiohttp.ClientSession, database_url: str
) -> None:
    a, b = pair
    person, mediator = await mediator_holds(a, b, http, database_url)
    await talk(person, mediator, 3, "avant")
    count = await everyone_has_everything(person, mediator, database_url, 3 + 6)

    # A restarts: the mediator's console reconnects to B (the load balancer's choice)
    # while the person goes on writing.
    await asyncio.to_thread(a.stop)
    await mediator.socket.closed()
    await person.say("pendant le redémarrage de A")
    await mediator.connect(b, mediator.conversation_id)
    await talk(person, mediator, 3, "A arrêté")
    await asyncio.to_thread(a.start)
    count = await everyone_has_everything(person, mediator, database_url, len(count) + 7)

    # B restarts: both were on it, both come back on A with the last id they saw.
    await asyncio.to_thread(b.stop)
    await person.socket.closed()
    await mediator.socket.closed()
    await person.connect(a)
    await mediator.connect(a, mediator.conversation_id)
    await talk(person, mediator, 3, "B arrêté")
    await asyncio.to_thread(b.start)
    await everyone_has_everything(person, mediator, database_url, len(count) + 6)
    # The consoles came back within the presence timeout: the mediator keeps it.
    assert owner_of(database_url, person.rasa_key) == "mediator"
    await person.socket.close()
    await mediator.socket.close()


async def test_redis_restarted_nothing_lost(
    pair: list[Replica], http: aiohttp.ClientSession, database_url: str, redis: RedisServer
) -> None:
    a, b = pair
    person, mediator = await mediator_holds(a, b, http, database_url)
    await talk(person, mediator, 2, "avant")
    before = await everyone_has_everything(person, mediator, database_url, 3 + 4)

    await asyncio.to_thread(redis.stop)
    # Meanwhile: refused with a 503 (REST, with Retry-After) or an error frame naming the
    # message (WebSocket, which the widget sends again); nothing stored.
    response = await person.post(b, "pendant la panne de Redis")
    assert response.status == 503
    assert response.headers["Retry-After"].isdigit()
    refused = await person.say("pendant la panne, par la WebSocket")
    await wait_for(lambda: person.socket.errors, what="the refusal frame")
    assert person.socket.errors[0]["code"] == "service_unavailable"
    assert person.socket.errors[0]["client_id"] == refused
    assert stored_ids(database_url, person.rasa_key)[1] == before

    await asyncio.to_thread(redis.start)

    # The stack recovers by itself: the refused messages go through when sent again, as
    # the widget does (the same client_id on the socket, the same body on REST).
    for _attempt in range(120):
        response = await person.post(b, "pendant la panne de Redis")
        if response.status != 503:
            break
        await asyncio.sleep(float(response.headers["Retry-After"]) / 4)
    assert response.status == 200

    def echoed() -> bool:
        return any(f.get("client_id") == refused for f in person.socket.frames)

    for _attempt in range(60):
        person.socket.errors.clear()
        await person.say("pendant la panne, par la WebSocket", client_id=refused)
        await wait_for(lambda: echoed() or person.socket.errors, what="echo or refusal")
        if echoed():
            break
        await asyncio.sleep(0.5)
    assert echoed()
    await talk(person, mediator, 2, "après")
    # + the REST message (not pushed to the sender's socket: REST answers it) + the
    # WebSocket one + its bot answer... none: a mediator holds it. So 2 + 4.
    stored = await everyone_has_everything(person, mediator, database_url, len(before) + 6, rest=1)
    assert len(stored) == len(before) + 6
    await person.socket.close()
    await mediator.socket.close()
