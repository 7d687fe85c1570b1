"""Human handoff at API level: the state machine, the queue, the relay, tickets, replay.

Rasa is down in ``base_settings``: "/request_human" still starts the handoff (the widget's
button must always work), and every owner change is checked through the gateway's HTTP
and WebSocket interfaces with real console logins.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from integrations import keys
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import GatewayClient, console_login, staff_user
from tests.gateway.web_client import citizen, erase, history, socket
from tests.gateway.web_client import say as web_say

PASSWORD = "mot-de-passe-long"


def always_open(settings: Settings) -> Settings:
    return dataclasses.replace(settings, mediator_hours="24/7")


async def second_client(client: TestClient) -> TestClient:
    """Another browser (its own cookies) on the same running gateway."""
    other = TestClient(client.server)
    await other.start_server()
    return other


async def mediator(client: TestClient, settings: Settings, username: str, name: str) -> str:
    staff_user(settings, username, PASSWORD, "mediator", name)
    return await console_login(client, username, PASSWORD)


async def say(client: TestClient, name: str, text: str) -> list[dict[str, Any]]:
    """``name`` writes on the web (a conversation the gateway issued, with its key)."""
    return await web_say(client, await citizen(client, name), text)


async def key(client: TestClient, name: str) -> str:
    """The gateway's key of ``name``'s conversation (``web:<sender>``)."""
    return (await citizen(client, name)).rasa_key


def events(replies: list[dict[str, Any]]) -> list[str]:
    return [r["custom"]["event"] for r in replies if "event" in (r.get("custom") or {})]


async def frames_until(ws, predicate, within: float = 10) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Frames received until one matches ``predicate`` (included)."""
    seen = []
    while True:
        frame = await ws.receive_json(timeout=within)
        seen.append(frame)
        if predicate(frame):
            return seen


async def test_request_queue_take_chat_and_hand_back(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = always_open(base_settings)
    client = await gateway_client(settings)
    csrf = await mediator(client, settings, "annick", "Annick")
    async with client.ws_connect(f"/console/ws?csrf={csrf}") as console:
        [*_, queue] = await frames_until(console, lambda f: f["type"] == "queue")
        assert queue == {"type": "queue", "waiting": [], "active": []}

        first = await say(client, "alice", "/request_human")
        assert events(first) == ["handoff_waiting"]
        assert "première personne dans la file" in first[-1]["text"]
        # The REST answer names who speaks: the widget shows the notice as the system's.
        assert first[-1]["author"] == "system"
        assert all(isinstance(r["id"], int) for r in first)
        second = await say(client, "bob", "/request_human")
        assert second[-1]["custom"] == {"event": "handoff_waiting", "queue_position": 2}
        frame = await frames_until(console, lambda f: len(f.get("waiting", [])) == 2)
        alice_id = frame[-1]["waiting"][0]["id"]
        assert frame[-1]["waiting"][0]["reason"] == "request_human"

        # While waiting, the bot never answers: the message is stored, nobody replies.
        assert await say(client, "alice", "il y a quelqu'un ?") == []

        async with socket(client, await citizen(client, "alice"), after=0) as user:
            state = await user.receive_json(timeout=10)
            assert state == {
                "type": "state",
                "owner": "waiting",
                "queue_position": 1,
                "mediator": None,
            }
            replayed = await frames_until(user, lambda f: f.get("text") == "il y a quelqu'un ?")
            # One message says what happens (no "service unavailable" from the down bot).
            assert [f["author"] for f in replayed] == ["user", "system", "user"]
            assert replayed[1]["custom"]["event"] == "handoff_waiting"
            assert [f["id"] for f in replayed] == sorted(f["id"] for f in replayed)

            taken = await client.post(
                f"/console/conversations/{alice_id}/take",
                data={"csrf": csrf},
                allow_redirects=False,
            )
            assert taken.status == 303
            joined = await frames_until(user, lambda f: f.get("type") == "message")
            assert joined[-1]["text"] == "Annick a rejoint la conversation."
            assert joined[-1]["custom"] == {"event": "mediator_joined", "mediator": "Annick"}
            state = await frames_until(user, lambda f: f.get("type") == "state")
            assert state[-1]["owner"] == "mediator" and state[-1]["mediator"] == "Annick"

            await console.send_json({"action": "watch", "conversation_id": alice_id, "after": 0})
            await console.send_json(
                {
                    "action": "send",
                    "conversation_id": alice_id,
                    "text": "Bonjour, je suis Annick.",
                    "client_id": "m-1",
                }
            )
            told = await frames_until(user, lambda f: f.get("author") == "mediator")
            assert told[-1]["text"] == "Bonjour, je suis Annick."
            assert told[-1]["mediator"] == "Annick"
            echoed = await frames_until(console, lambda f: f.get("client_id") == "m-1")
            assert echoed[-1]["conversation_id"] == alice_id

            await user.send_json({"message": "Merci, j'ai besoin d'aide", "client_id": "u-1"})
            mine = await frames_until(user, lambda f: f.get("client_id") == "u-1")
            assert mine[-1]["author"] == "user"
            relayed = await frames_until(
                console, lambda f: f.get("text") == "Merci, j'ai besoin d'aide"
            )
            assert relayed[-1]["author"] == "user" and relayed[-1]["id"] == mine[-1]["id"]

            back = await client.post(
                f"/console/conversations/{alice_id}/handback",
                data={"csrf": csrf},
                allow_redirects=False,
            )
            assert back.status == 303
            left = await frames_until(
                user, lambda f: (f.get("custom") or {}).get("event") == "handed_back"
            )
            assert left[-1]["text"].startswith("Annick a quitté la conversation. L'assistant")
        store = client.app[keys.STORE]
        assert store.conversation(await key(client, "alice")).owner is Owner.BOT
        # Replayed, the mediator's message still names her (the widget labels it so).
        replay = await history(client, await citizen(client, "alice"))
        written = [m for m in replay["messages"] if m["author"] == "mediator"]
        assert [m["mediator"] for m in written] == ["Annick"]
        assert all("mediator" not in m for m in replay["messages"] if m["author"] != "mediator")
        # Bob moved up the queue.
        state = await history(client, await citizen(client, "bob"))
        assert state["state"] == {
            "owner": "waiting",
            "queue_position": 1,
            "mediator": None,
        }


async def test_two_mediators_take_the_same_conversation_at_once(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = always_open(base_settings)
    client = await gateway_client(settings)
    other = await second_client(client)
    try:
        csrf_a = await mediator(client, settings, "annick", "Annick")
        csrf_b = await mediator(other, settings, "bruno", "Bruno")
        async with client.ws_connect(f"/console/ws?csrf={csrf_a}"):
            await say(client, "carole", "/request_human")
            conversation = client.app[keys.STORE].conversation(await key(client, "carole"))
            assert conversation.owner is Owner.WAITING
            url = f"/console/conversations/{conversation.id}/take"
            responses = await asyncio.gather(
                client.post(url, json={}, headers={"X-CSRF-Token": csrf_a}),
                other.post(url, json={}, headers={"X-CSRF-Token": csrf_b}),
            )
            statuses = sorted(r.status for r in responses)
            assert statuses == [200, 409]
            loser = next(r for r in responses if r.status == 409)
            assert await loser.json() == {
                "error": "Cette conversation est déjà prise en charge.",
                "code": "already_taken",
            }
            joined = [
                m.text
                for m in client.app[keys.STORE].messages(await key(client, "carole"))
                if "a rejoint" in m.text
            ]
            assert len(joined) == 1
    finally:
        await other.session.close()


async def test_console_actions_need_login_role_and_csrf(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = always_open(base_settings)
    client = await gateway_client(settings)
    await say(client, "dina", "/request_human")  # nobody online: leaving a message
    conversation = client.app[keys.STORE].conversation(await key(client, "dina"))
    url = f"/console/conversations/{conversation.id}/take"
    anonymous = await client.post(url, data={"csrf": "x"})
    assert anonymous.status == 401
    assert (await anonymous.json())["code"] == "unauthorized"
    csrf = await mediator(client, settings, "annick", "Annick")
    forged = await client.post(url, data={"csrf": "pas le bon"})
    assert forged.status == 403 and (await forged.json())["code"] == "csrf_failed"
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws?csrf=pas-le-bon")
    assert refused.value.status == 403
    page = await client.get("/console/")
    assert page.status == 200 and "File d'attente" in await page.text()
    for unknown in ("999999", "pas-un-nombre"):
        missing = await client.get(f"/console/conversations/{unknown}")
        assert missing.status == 404 and missing.content_type == "text/html"
        assert "Conversation introuvable" in await missing.text()
    assert csrf


async def test_nobody_online_offers_to_leave_a_message_that_becomes_a_ticket(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = always_open(base_settings)
    client = await gateway_client(settings)
    offered = await say(client, "emma", "/request_human")
    assert events(offered) == ["no_mediator"]
    assert "Aucun médiateur n'est disponible" in offered[-1]["text"]
    assert offered[-1]["buttons"] == [{"title": "Ne pas laisser de message", "payload": "annuler"}]
    store = client.app[keys.STORE]
    assert store.conversation(await key(client, "emma")).owner is Owner.WAITING

    asked = await say(client, "emma", "Je n'arrive pas à déclarer mes revenus.")
    assert events(asked) == ["ticket_contact_needed"]
    done = await say(client, "emma", "Mon numéro : 06 12 34 56 78, plutôt le matin")
    assert events(done) == ["ticket_created"]
    assert "06 12 34 56 78" in done[-1]["text"]
    assert store.conversation(await key(client, "emma")).owner is Owner.BOT

    csrf = await mediator(client, settings, "annick", "Annick")
    page = await (await client.get("/console/")).text()
    assert "Je n&#39;arrive pas à déclarer mes revenus." in page and "06 12 34 56 78" in page
    [ticket] = _handoff(client).store.tickets()
    assert ticket.contact == "06 12 34 56 78"
    assert "plutôt le matin" in ticket.text
    treated = await client.post(
        f"/console/tickets/{ticket.id}/done", data={"csrf": csrf}, allow_redirects=False
    )
    assert treated.status == 303
    assert _handoff(client).store.tickets() == []

    # Cancelling also gives the conversation back to the bot.
    await say(client, "fanny", "/request_human")
    cancelled = await say(client, "fanny", "annuler")
    assert events(cancelled) == ["handed_back"]
    assert store.conversation(await key(client, "fanny")).owner is Owner.BOT


async def test_outside_hours_is_said_honestly(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = dataclasses.replace(base_settings, mediator_hours="off")
    client = await gateway_client(settings)
    csrf = await mediator(client, settings, "annick", "Annick")
    async with client.ws_connect(f"/console/ws?csrf={csrf}"):
        offered = await say(client, "gilles", "/request_human")
    assert offered[-1]["custom"] == {"event": "no_mediator", "outside_hours": True}
    assert "ne sont pas disponibles en ce moment" in offered[-1]["text"]


async def test_close_proactive_take_history_and_delete(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = always_open(base_settings)
    client = await gateway_client(settings)
    csrf = await mediator(client, settings, "annick", "Annick")
    await say(client, "henri", "bonjour")  # the bot (down) answers
    conversation = client.app[keys.STORE].conversation(await key(client, "henri"))
    assert conversation.owner is Owner.BOT
    # A mediator takes a live conversation of the bot.
    taken = await client.post(
        f"/console/conversations/{conversation.id}/take", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert taken.status == 200
    assert client.app[keys.STORE].conversation(await key(client, "henri")).owner is Owner.MEDIATOR
    note = await client.post(
        f"/console/conversations/{conversation.id}/notes",
        data={"csrf": csrf, "text": "Personne âgée, parler lentement."},
        allow_redirects=False,
    )
    assert note.status == 303
    page = await (await client.get(f"/console/conversations/{conversation.id}")).text()
    assert "Personne âgée, parler lentement." in page and "Rendre la main" in page
    closed = await client.post(
        f"/console/conversations/{conversation.id}/close", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert closed.status == 200
    henri = await citizen(client, "henri")
    replay = await history(client, henri)
    assert replay["state"]["owner"] == "closed"
    assert [m["custom"]["event"] for m in replay["messages"] if m.get("custom")][-2:] == [
        "mediator_joined",
        "closed",
    ]
    assert replay["messages"][-1]["text"].startswith("Annick a terminé la conversation.")
    ids = [m["id"] for m in replay["messages"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    later = await history(client, henri, after=ids[2])
    assert [m["id"] for m in later["messages"]] == ids[3:]
    search = await (await client.get("/console/closed?q=bonjour")).text()
    assert f"/console/conversations/{conversation.id}" in search

    # Writing again after the close: back to the bot.
    await say(client, "henri", "re-bonjour")
    assert client.app[keys.STORE].conversation(await key(client, "henri")).owner is Owner.BOT

    # Rasa's SQL tracker store shares DATABASE_URL in production: its events go too.
    engine = client.app[keys.STORE].engine
    with engine.begin() as connection:
        connection.execute(text("create table events (id integer primary key, sender_id text)"))
        connection.execute(
            text("insert into events (sender_id) values (:henri), ('web:autre')"),
            {"henri": henri.rasa_key},
        )
    await erase(client, henri)
    with engine.connect() as connection:
        left = connection.execute(text("select sender_id from events")).scalars().all()
    assert left == ["web:autre"]
    assert client.app[keys.STORE].conversation(await key(client, "henri")) is None
    gone = await client.get(f"/console/conversations/{conversation.id}")
    assert gone.status == 404 and "Conversation introuvable" in await gone.text()
    # Its key went with it: nobody reads that conversation again.
    gone_key = await client.get(
        "/webhooks/rest/history", params={"sender": henri.sender}, headers=henri.headers
    )
    assert gone_key.status == 403
    assert (await gone_key.json())["code"] == "invalid_conversation_key"
    bad = await client.get("/webhooks/rest/history?after=-3", headers=henri.headers)
    assert bad.status == 400 and (await bad.json())["code"] == "invalid_after"


def _handoff(client: TestClient):  # type: ignore[no-untyped-def]
    from integrations.keys import HANDOFF

    return client.app[HANDOFF]
