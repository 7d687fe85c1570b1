"""Presence with consequences, transfer, closing a request nobody took, typing: at API level.

A mediator is online while a console WebSocket of theirs is open. Gone for
``handoff_presence_timeout_s`` (one second here), their conversations go back to the
head of the queue: each person is told, the other mediators are alerted. The tests wait
for those frames, never for a fixed time.
"""

from __future__ import annotations

import dataclasses

from aiohttp.test_utils import TestClient

from integrations import keys
from integrations.keys import HANDOFF, PRESENCE
from integrations.settings import Settings
from integrations.store import Owner
from tests.gateway.conftest import GatewayClient
from tests.gateway.test_handoff import (
    always_open,
    events,
    frames_until,
    key,
    mediator,
    say,
    second_client,
)
from tests.gateway.web_client import citizen, history, socket

COUNCIL_PHONE = "02 61 91 00 00"  # data/council.yml


def quick(settings: Settings) -> Settings:
    return dataclasses.replace(always_open(settings), handoff_presence_timeout_s=1)


async def conversation_id(client: TestClient, name: str) -> int:
    found = client.app[keys.STORE].conversation(await key(client, name))
    assert found is not None
    return found.id


def event_is(name: str):  # type: ignore[no-untyped-def]
    return lambda f: (f.get("custom") or {}).get("event") == name


async def test_a_departed_mediator_loses_the_conversation_to_the_head_of_the_queue(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    settings = quick(base_settings)
    client = await gateway_client(settings)
    other = await second_client(client)
    try:
        csrf_a = await mediator(client, settings, "annick", "Annick")
        csrf_b = await mediator(other, settings, "bruno", "Bruno")
        async with other.ws_connect(f"/console/ws?csrf={csrf_b}") as bruno:
            annick = await client.ws_connect(f"/console/ws?csrf={csrf_a}")
            await say(client, "alice", "/request_human")
            await say(client, "bob", "/request_human")
            bob_id = await conversation_id(client, "bob")
            alice_id = await conversation_id(client, "alice")
            # Annick takes Bob, the second in line: Alice stays first.
            taken = await client.post(
                f"/console/conversations/{bob_id}/take", json={}, headers={"X-CSRF-Token": csrf_a}
            )
            assert taken.status == 200

            # A reload (socket closed, opened again at once) is no departure.
            await annick.close()
            annick = await client.ws_connect(f"/console/ws?csrf={csrf_a}")
            await frames_until(annick, lambda f: f["type"] == "queue")
            assert client.app[PRESENCE].pending() == set()

            async with socket(client, await citizen(client, "bob"), after=0) as bob:
                await frames_until(bob, event_is("mediator_joined"))
                await annick.close()  # the console is closed for good
                [*_, gone] = await frames_until(bob, event_is("mediator_gone"))
                assert gone["text"] == (
                    "Annick n'est plus en ligne : votre conversation revient en tête de la "
                    "file d'attente, et le prochain médiateur disponible vous répondra ici."
                )
                [*_, state] = await frames_until(bob, lambda f: f.get("type") == "state")
                assert state == {
                    "type": "state",
                    "owner": "waiting",
                    "queue_position": 1,
                    "mediator": None,
                }
            seen = await frames_until(bruno, lambda f: f["type"] == "requeued")
            assert seen[-1] == {
                "type": "requeued",
                "mediator": "Annick",
                "conversations": [bob_id],
            }
            [*_, queue] = [f for f in seen if f["type"] == "queue"]
            assert [w["id"] for w in queue["waiting"]] == [bob_id, alice_id]  # head of the queue
            alice = await history(other, await citizen(client, "alice"))
            assert alice["state"]["queue_position"] == 2

            retaken = await other.post(
                f"/console/conversations/{bob_id}/take", json={}, headers={"X-CSRF-Token": csrf_b}
            )
            assert retaken.status == 200
            assert client.app[keys.STORE].conversation(await key(client, "bob")).owner is (
                Owner.MEDIATOR
            )
            replay = await history(client, await citizen(client, "bob"))
            assert events(replay["messages"])[-3:] == [
                "mediator_joined",
                "mediator_gone",
                "mediator_joined",
            ]
            assert replay["state"]["mediator"] == "Bruno"
    finally:
        await other.session.close()


async def test_transfer_to_an_online_mediator_with_a_note(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    settings = quick(base_settings)
    client = await gateway_client(settings)
    other = await second_client(client)
    try:
        csrf_a = await mediator(client, settings, "annick", "Annick")
        csrf_b = await mediator(other, settings, "bruno", "Bruno")
        bruno_id = next(u.id for u, _ in client.app[keys.STAFF].users() if u.username == "bruno")
        async with (
            client.ws_connect(f"/console/ws?csrf={csrf_a}"),
            other.ws_connect(f"/console/ws?csrf={csrf_b}") as bruno,
        ):
            await frames_until(bruno, lambda f: f["type"] == "presence" and len(f["online"]) == 2)
            await say(client, "carole", "/request_human")
            carole_id = await conversation_id(client, "carole")
            await client.post(
                f"/console/conversations/{carole_id}/take",
                json={},
                headers={"X-CSRF-Token": csrf_a},
            )
            page = await (await client.get(f"/console/conversations/{carole_id}")).text()
            assert f'<option value="{bruno_id}">Bruno</option>' in page

            moved = await client.post(
                f"/console/conversations/{carole_id}/transfer",
                data={"csrf": csrf_a, "to": str(bruno_id), "note": "Dossier APA, déjà relancée."},
                allow_redirects=False,
            )
            assert moved.status == 303
            assert moved.headers["Location"].endswith("?done=transferred")
            [*_, told] = await frames_until(bruno, lambda f: f["type"] == "transferred")
            assert told == {
                "type": "transferred",
                "conversation_id": carole_id,
                "from": "Annick",
                "note": "Dossier APA, déjà relancée.",
            }
            replay = await history(client, await citizen(client, "carole"))
            assert replay["messages"][-1]["text"] == (
                "Annick a confié votre conversation à Bruno, qui va vous répondre ici."
            )
            assert replay["state"]["mediator"] == "Bruno"
            notes = client.app[HANDOFF].store.notes(carole_id)
            assert [(n.author_name, n.text) for n in notes] == [
                ("Annick", "Transmise à Bruno : Dossier APA, déjà relancée.")
            ]
            # Annick no longer writes to Carole; Bruno does.
            url = f"/console/conversations/{carole_id}/messages"
            refused = await client.post(
                url, json={"text": "Encore moi"}, headers={"X-CSRF-Token": csrf_a}
            )
            assert refused.status == 409
            written = await other.post(
                url, json={"text": "Bonjour, ici Bruno."}, headers={"X-CSRF-Token": csrf_b}
            )
            assert written.status == 200
            # Nobody offline gets a conversation.
            again = await other.post(
                f"/console/conversations/{carole_id}/transfer",
                json={"to": 999},
                headers={"X-CSRF-Token": csrf_b},
            )
            assert again.status == 409 and (await again.json())["code"] == "not_online"
    finally:
        await other.session.close()


async def test_closing_a_request_nobody_took_asks_then_offers_to_leave_a_message(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    settings = quick(base_settings)
    client = await gateway_client(settings)
    csrf = await mediator(client, settings, "annick", "Annick")
    async with client.ws_connect(f"/console/ws?csrf={csrf}"):
        await say(client, "dina", "/request_human")
        dina_id = await conversation_id(client, "dina")
        url = f"/console/conversations/{dina_id}/close"
        asked = await client.post(url, json={}, headers={"X-CSRF-Token": csrf})
        assert asked.status == 409 and (await asked.json())["code"] == "confirmation_needed"
        page = await client.post(url, data={"csrf": csrf})
        assert page.status == 200
        assert "Clore une demande à laquelle personne n'a répondu ?" in await page.text()
        assert client.app[keys.STORE].conversation(await key(client, "dina")).owner is (
            Owner.WAITING
        )
        closed = await client.post(url, data={"csrf": csrf, "confirm": "1"}, allow_redirects=False)
        assert closed.status == 303
    replay = await history(client, await citizen(client, "dina"))
    told = replay["messages"][-1]
    assert told["custom"]["event"] == "no_mediator" and told["custom"]["unanswered"] is True
    assert "ne peuvent pas vous répondre en direct" in told["text"]
    assert COUNCIL_PHONE in told["text"]
    assert client.app[HANDOFF].store.queue() == []
    # What comes next works: the message she leaves becomes a ticket.
    done = await say(client, "dina", "Rappelez-moi au 06 12 34 56 78 pour mon dossier")
    assert events(done) == ["ticket_created"]


async def test_nobody_online_gets_one_message_with_the_council_number(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    client = await gateway_client(quick(base_settings))
    offered = await say(client, "emma", "/request_human")  # Rasa is down, nobody online
    assert len(offered) == 1 and events(offered) == ["no_mediator"]
    assert COUNCIL_PHONE in offered[0]["text"]
    assert "indisponible" not in offered[0]["text"]


async def test_typing_is_shown_both_ways(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    settings = quick(base_settings)
    client = await gateway_client(settings)
    csrf = await mediator(client, settings, "annick", "Annick")
    async with client.ws_connect(f"/console/ws?csrf={csrf}") as console:
        await say(client, "fanny", "/request_human")
        fanny_id = await conversation_id(client, "fanny")
        await client.post(
            f"/console/conversations/{fanny_id}/take", json={}, headers={"X-CSRF-Token": csrf}
        )
        await console.send_json({"action": "watch", "conversation_id": fanny_id, "after": 0})
        async with socket(client, await citizen(client, "fanny"), after=0) as fanny:
            await fanny.send_json({"type": "typing"})
            [*_, typing] = await frames_until(console, lambda f: f["type"] == "typing")
            assert typing == {"type": "typing", "conversation_id": fanny_id}
            await console.send_json({"action": "typing", "conversation_id": fanny_id})
            seen = await frames_until(fanny, lambda f: f.get("type") == "typing")
            assert seen[-1] == {"type": "typing", "mediator": "Annick"}
            # Messages carry when they were stored, for the time shown next to them.
            [joined] = [f for f in seen if event_is("mediator_joined")(f)]
            assert "T" in joined["at"] and joined["at"].endswith("+00:00")
        # Her last screen closed: the mediator is told.
        [*_, left] = await frames_until(console, lambda f: f["type"] == "person_left")
        assert left == {"type": "person_left", "conversation_id": fanny_id}


async def test_handled_tickets_keep_who_and_when(
    gateway_client: GatewayClient, base_settings: Settings
) -> None:
    settings = quick(base_settings)
    client = await gateway_client(settings)
    await say(client, "gael", "/request_human")
    await say(client, "gael", "Mon numéro : 06 11 22 33 44")
    csrf = await mediator(client, settings, "annick", "Annick")
    [ticket] = client.app[HANDOFF].store.tickets()
    await client.post(f"/console/tickets/{ticket.id}/done", data={"csrf": csrf})
    [handled] = client.app[HANDOFF].store.tickets("done")
    assert handled.done_by == "Annick" and handled.done_at is not None
    page = await (await client.get("/console/tickets")).text()
    assert "Déjà traitées (1)" in page and "06 11 22 33 44" in page and "Annick" in page
