"""Attacks on the public web channel, replayed: each must fail (issue 12).

- a client-chosen sender or forged metadata never makes anybody an agent;
- history, WebSocket, erase and feedback need the conversation's key;
- an agent's own conversation needs its account's session;
- rate limits, a cap on WebSockets, the Origin against configured origins.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp import WSMsgType

from integrations import keys
from integrations.keys import ADMIN
from integrations.messages import Author, Reply
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient, console_login, staff_user, texts, wait_until
from tests.gateway.web_client import (
    CONVERSATION,
    CONVERSATIONS,
    FEEDBACK,
    HISTORY,
    WEBHOOK,
    WEBSOCKET,
    WebConversation,
    new_conversation,
    open_socket,
    say,
)

AGENTS_ONLY = "réservé aux agents"
AGENT_ANSWERS = ("Vos réservations à venir", "Vous n'avez aucune réservation")
WRONG_KEY = {"X-Conversation-Key": "pas-la-bonne-cle-" + "x" * 26}


def assert_refused(status: int, body: dict, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["code"] == code
    assert isinstance(body["error"], str) and len(body["error"]) > 10


# --- identity -------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.stack
async def test_a_client_chosen_agent_sender_gets_the_citizen_answer(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack
):
    """The attack of issue 12: data/agents.yml maps the web login a.martin to an agent."""
    client = await gateway_client(stack_settings)
    response = await client.post(
        WEBHOOK, json={"sender": "a.martin", "message": "mes réservations"}
    )
    assert response.status == 200
    answer = texts(await response.json())
    assert AGENTS_ONLY in answer, answer
    assert not any(text in answer for text in AGENT_ANSWERS)
    tracker = await asyncio.to_thread(rasa_stack.tracker, "web:a.martin")
    metadata = tracker["latest_message"]["metadata"]
    assert metadata["role"] == "citizen" and "user_id" not in metadata


@pytest.mark.model
@pytest.mark.stack
async def test_forged_metadata_is_ignored(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack
):
    client = await gateway_client(stack_settings)
    forged = {"channel": "telegram", "user_id": "100000001", "role": "agent"}
    conversation = await new_conversation(client)
    answer = texts(await say(client, conversation, "mes réservations", metadata=forged))
    assert AGENTS_ONLY in answer, answer
    tracker = await asyncio.to_thread(rasa_stack.tracker, conversation.rasa_key)
    metadata = tracker["latest_message"]["metadata"]
    assert {k: metadata[k] for k in ("channel", "role")} == {"channel": "web", "role": "citizen"}
    assert "user_id" not in metadata
    assert metadata["client"] == forged  # kept for information, under "client" only


@pytest.mark.model
@pytest.mark.stack
async def test_a_signed_in_agent_is_an_agent_on_rest_and_websocket(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack
):
    # Until the console has its "agent" role, a mediator account is a council agent too.
    staff_user(stack_settings, "a.martin", "mot-de-passe-anne", name="Anne")
    client = await gateway_client(stack_settings)
    await console_login(client, "a.martin", "mot-de-passe-anne")
    page = await client.get("/console/agent/")
    assert page.status == 200
    assert 'data-agent="true"' in await page.text()

    conversation = await new_conversation(client, agent=True)
    assert conversation.sender.startswith("agent-")
    answer = texts(await say(client, conversation, "mes réservations"))
    assert any(text in answer for text in AGENT_ANSWERS), answer
    tracker = await asyncio.to_thread(rasa_stack.tracker, conversation.rasa_key)
    metadata = tracker["latest_message"]["metadata"]
    assert (metadata["user_id"], metadata["role"]) == ("a.martin", "agent")

    # The same account gets the same conversation back (tied to it, not to the browser).
    again = await new_conversation(client, agent=True)
    assert again.sender == conversation.sender and again.key != conversation.key

    ws = await open_socket(client, again, after=0)
    try:
        assert (await ws.receive_json(timeout=10))["type"] == "state"
        seen = 0
        while seen < 2:  # the replayed question and answer
            seen += (await ws.receive_json(timeout=10))["type"] == "message"
        await ws.send_json({"message": "mes réservations", "client_id": "c-1"})
        frames = []
        while not any(f.get("author") == "bot" for f in frames):
            frames.append(await ws.receive_json(timeout=60))
        assert any(text in texts(frames) for text in AGENT_ANSWERS), frames
    finally:
        await ws.close()

    # A cross-site request with the same cookie is nobody's: citizen, and refused here.
    cross = await client.post(
        WEBHOOK,
        json={"sender": conversation.sender, "message": "mes réservations"},
        headers={**conversation.headers, "Origin": "https://evil.example"},
    )
    assert_refused(cross.status, await cross.json(), 403, "not_your_conversation")


async def test_the_agent_page_and_conversation_need_a_signed_in_account(
    gateway_client: GatewayClient, base_settings: Settings
):
    staff_user(base_settings, "a.martin", "mot-de-passe-anne", name="Anne")
    staff_user(base_settings, "annick", "mot-de-passe-annick")
    client = await gateway_client(base_settings)
    page = await client.get("/console/agent/", allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"] == "/console/login?next=/console/agent/"
    anonymous = await client.post(CONVERSATIONS, json={"agent": True})
    assert_refused(anonymous.status, await anonymous.json(), 401, "login_required")

    await console_login(client, "a.martin", "mot-de-passe-anne")
    mine = await new_conversation(client, agent=True)
    await say(client, mine, "bonjour")  # Rasa is down: the polite answer, stored

    # Another account, or nobody, with the key of a.martin's conversation: refused.
    other = await gateway_client(base_settings)
    for signed_in in (False, True):
        if signed_in:
            await console_login(other, "annick", "mot-de-passe-annick")
        for request in (
            other.get(HISTORY, params={"sender": mine.sender}, headers=mine.headers),
            other.post(
                WEBHOOK, json={"sender": mine.sender, "message": "salut"}, headers=mine.headers
            ),
            other.delete(CONVERSATION, params={"sender": mine.sender}, headers=mine.headers),
        ):
            response = await request
            assert_refused(response.status, await response.json(), 403, "not_your_conversation")
    # Nor can a legacy client write into it by its sender alone.
    legacy = await other.post(WEBHOOK, json={"sender": mine.sender, "message": "salut"})
    assert_refused(legacy.status, await legacy.json(), 401, "conversation_key_required")
    store = client.app[keys.STORE]
    assert [m.text for m in store.messages(mine.rasa_key) if m.author is Author.USER] == ["bonjour"]


# --- conversation keys ----------------------------------------------------------------


async def _bot_answer(client, conversation: WebConversation) -> int:  # type: ignore[no-untyped-def]
    """Store a bot answer in the conversation (Rasa is down in these tests); its id."""
    store = client.app[keys.STORE]
    ref = store.conversation(conversation.rasa_key)
    [stored] = store.record_replies(ref.id, [Reply(text="Voici la réponse.", author=Author.BOT)])
    return stored.id


async def test_history_websocket_erase_and_feedback_need_the_key(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    mine = await new_conversation(client)
    theirs = await new_conversation(client)
    await say(client, mine, "mon numéro est le 06 12 34 56 78")
    answer_id = await _bot_answer(client, mine)
    params = {"sender": mine.sender, "after": "0"}

    # History: no key, a wrong key, another conversation's key.
    for headers, status, code in (
        ({}, 401, "conversation_key_required"),
        (WRONG_KEY, 403, "invalid_conversation_key"),
        (theirs.headers, 403, "invalid_conversation_key"),
    ):
        response = await client.get(HISTORY, params=params, headers=headers)
        assert_refused(response.status, await response.json(), status, code)
    ok = await client.get(HISTORY, params=params, headers=mine.headers)
    assert ok.status == 200
    assert (await ok.json())["messages"][0]["text"].startswith("mon numéro")
    # The key alone names the conversation.
    by_key = await client.get(HISTORY, headers=mine.headers)
    assert len((await by_key.json())["messages"]) == 3

    # Writing to an issued conversation needs its key too.
    spoofed = await client.post(WEBHOOK, json={"sender": mine.sender, "message": "coucou"})
    assert_refused(spoofed.status, await spoofed.json(), 401, "conversation_key_required")

    # WebSocket: without the auth frame, with a wrong key, then with the key.
    hub = client.app[keys.HUB]
    for first_frame, close_code in (
        ({"message": "bonjour"}, 4401),
        ({"type": "auth", "key": WRONG_KEY["X-Conversation-Key"]}, 4403),
        ({"type": "auth", "key": theirs.key}, 4403),
    ):
        async with client.ws_connect(f"{WEBSOCKET}?sender={mine.sender}&after=0") as ws:
            await ws.send_json(first_frame)
            error = await ws.receive_json(timeout=10)
            assert error["type"] == "error" and error["code"] in (
                "conversation_key_required",
                "invalid_conversation_key",
            )
            closing = await ws.receive(timeout=10)
            assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
            assert ws.close_code == close_code
        assert hub.connected(mine.rasa_key) == 0
    ws = await open_socket(client, mine, after=0)
    state = await ws.receive_json(timeout=10)
    assert state["type"] == "state" and state["owner"] == "bot"
    assert (await ws.receive_json(timeout=10))["text"].startswith("mon numéro")
    await ws.close()

    # Feedback: no key, a wrong key, then the key.
    body = {"sender": mine.sender, "message_id": answer_id, "rating": "down"}
    for headers, status, code in (
        ({}, 401, "conversation_key_required"),
        (theirs.headers, 403, "invalid_conversation_key"),
    ):
        response = await client.post(FEEDBACK, json=body, headers=headers)
        assert_refused(response.status, await response.json(), status, code)
    rated = await client.post(FEEDBACK, json=body, headers=mine.headers)
    assert rated.status == 204
    # The thumbs-down reached the NLU inbox, on the message it answered, redacted.
    [item] = await asyncio.to_thread(client.app[ADMIN].inbox.items)
    assert (item.text, item.user_down_count) == ("mon numéro est le <téléphone>", 1)

    # Erase: no key, a wrong key, then the key; the key is gone with the conversation.
    for headers, status, code in (
        ({}, 401, "conversation_key_required"),
        (theirs.headers, 403, "invalid_conversation_key"),
    ):
        response = await client.delete(CONVERSATION, params=params, headers=headers)
        assert_refused(response.status, await response.json(), status, code)
    assert client.app[keys.STORE].conversation(mine.rasa_key) is not None
    erased = await client.delete(CONVERSATION, params=params, headers=mine.headers)
    assert erased.status == 204
    assert client.app[keys.STORE].conversation(mine.rasa_key) is None
    after = await client.get(HISTORY, params=params, headers=mine.headers)
    assert_refused(after.status, await after.json(), 403, "invalid_conversation_key")


async def test_a_client_chosen_sender_works_but_nobody_reads_it_back(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    response = await client.post(WEBHOOK, json={"sender": "ancien-widget", "message": "bonjour"})
    assert response.status == 200
    assert client.app[keys.STORE].messages("web:ancien-widget")
    someone = await new_conversation(client)
    params = {"sender": "ancien-widget"}
    for headers, status, code in (
        ({}, 401, "conversation_key_required"),
        (someone.headers, 403, "invalid_conversation_key"),
    ):
        for request in (
            client.get(HISTORY, params=params, headers=headers),
            client.delete(CONVERSATION, params=params, headers=headers),
        ):
            refused = await request
            assert_refused(refused.status, await refused.json(), status, code)
    async with client.ws_connect(f"{WEBSOCKET}?sender=ancien-widget") as ws:
        await ws.send_json({"type": "auth", "key": someone.key})
        assert (await ws.receive_json(timeout=10))["code"] == "invalid_conversation_key"
    assert client.app[keys.STORE].messages("web:ancien-widget")


async def test_keys_are_random_and_stored_hashed(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    issued = [await new_conversation(client) for _ in range(5)]
    assert len({c.sender for c in issued}) == len({c.key for c in issued}) == 5
    assert all(len(c.key) >= 43 for c in issued)  # 256 bits
    store = client.app[keys.STORE]
    with store.engine.connect() as connection:
        from sqlalchemy import text

        rows = connection.execute(text("select key_hash, sender from web_conversation_keys"))
        stored = {tuple(row) for row in rows}
    assert {sender for _, sender in stored} == {c.sender for c in issued}
    assert not any(c.key in h for c in issued for h, _ in stored)


# --- limits ---------------------------------------------------------------------------


async def test_messages_are_rate_limited_per_conversation(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(dataclasses.replace(base_settings, rate_per_conversation=3))
    mine = await new_conversation(client)
    for i in range(3):
        await say(client, mine, f"message {i}")
    limited = await client.post(
        WEBHOOK, json={"sender": mine.sender, "message": "encore"}, headers=mine.headers
    )
    body = await limited.json()
    assert_refused(limited.status, body, 429, "rate_limited")
    assert "Trop de requêtes" in body["error"] and int(limited.headers["Retry-After"]) >= 1
    # Another conversation is not slowed down by this one.
    await say(client, await new_conversation(client), "bonjour")
    # Over the WebSocket: an error frame, and the socket stays usable.
    ws = await open_socket(client, mine)
    try:
        await ws.send_json({"message": "encore"})
        error = await ws.receive_json(timeout=10)
        assert error["type"] == "error" and error["code"] == "rate_limited"
        assert error["retry_after"] >= 1
    finally:
        await ws.close()
    assert [
        m.text for m in client.app[keys.STORE].messages(mine.rasa_key) if m.author is Author.USER
    ] == [
        "message 0",
        "message 1",
        "message 2",
    ]


async def test_requests_are_rate_limited_per_address(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(dataclasses.replace(base_settings, rate_per_address=4))
    mine = await new_conversation(client)  # 1
    for _ in range(3):  # 2, 3, 4
        assert (await client.get(HISTORY, headers=mine.headers)).status == 200
    for request in (
        client.get(HISTORY, headers=mine.headers),
        client.post(CONVERSATIONS, json={}),
        client.post(WEBHOOK, json={"sender": "x", "message": "bonjour"}),
    ):
        response = await request
        assert_refused(response.status, await response.json(), 429, "rate_limited")
        assert "adresse" in (await response.json())["error"]
    # The rest of the gateway is not limited.
    assert (await client.get("/health")).status == 503  # Rasa is down in these tests


async def test_websockets_per_conversation_are_capped(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(
        dataclasses.replace(base_settings, max_sockets_per_conversation=2)
    )
    mine = await new_conversation(client)
    hub = client.app[keys.HUB]
    first = await open_socket(client, mine, after=0)
    second = await open_socket(client, mine, after=0)
    for ws in (first, second):
        assert (await ws.receive_json(timeout=10))["type"] == "state"
    third = await open_socket(client, mine, after=0)
    error = await third.receive_json(timeout=10)
    assert error["code"] == "too_many_connections" and "au plus 2" in error["error"]
    await third.receive(timeout=10)
    assert third.close_code == 4429
    assert hub.connected(mine.rasa_key) == 2
    # A tab closes: another one may open.
    await first.close()
    await wait_until(lambda: hub.connected(mine.rasa_key) == 1, within=10, what="one closed")
    fourth = await open_socket(client, mine, after=0)
    assert (await fourth.receive_json(timeout=10))["type"] == "state"
    for ws in (second, fourth):
        await ws.close()
    await wait_until(lambda: hub.connected(mine.rasa_key) == 0, within=10, what="all closed")


# --- origins --------------------------------------------------------------------------


async def test_websocket_origin_is_compared_with_the_configured_origins(
    gateway_client: GatewayClient, base_settings: Settings
):
    settings = dataclasses.replace(
        base_settings,
        public_origins=("https://assistant.departement.example",),
        cors_origins=("https://www.departement.example",),
    )
    client = await gateway_client(settings)
    mine = await new_conversation(client)
    # The attacker's page sets Host to match its Origin: the Host header is not the test.
    spoofed = await client.get(
        f"{WEBSOCKET}?sender={mine.sender}",
        headers={"Origin": "http://evil.example", "Host": "evil.example"},
    )
    assert_refused(spoofed.status, await spoofed.json(), 403, "origin_not_allowed")
    for origin in (
        "https://assistant.departement.example",
        "https://assistant.departement.example:443",
        "https://www.departement.example",
    ):
        ws = await open_socket(client, mine, after=0, origin=origin)
        assert (await ws.receive_json(timeout=10))["type"] == "state", origin
        await ws.close()
    for origin in (
        "http://assistant.departement.example",  # another scheme
        "https://assistant.departement.example:8443",  # another port
        "https://assistant.departement.example.evil.example",
        "null",
    ):
        refused = await client.get(f"{WEBSOCKET}?sender={mine.sender}", headers={"Origin": origin})
        assert refused.status == 403, origin


async def test_console_forms_check_the_configured_origin_not_the_host(
    gateway_client: GatewayClient, base_settings: Settings
):
    staff_user(base_settings, "annick", "mot-de-passe-annick")
    client = await gateway_client(base_settings)
    from tests.gateway.conftest import login_form_token

    token = await login_form_token(client)
    form = {"username": "annick", "password": "mot-de-passe-annick", "csrf": token}
    spoofed = await client.post(
        "/console/login",
        data=form,
        headers={"Origin": "http://evil.example", "Host": "evil.example"},
        allow_redirects=False,
    )
    assert spoofed.status == 403
    own = str(client.make_url("")).rstrip("/")
    form["csrf"] = await login_form_token(client)  # the refusal gave a new form
    ok = await client.post(
        "/console/login", data=form, headers={"Origin": own}, allow_redirects=False
    )
    assert ok.status == 302


def test_public_origins_default_and_configuration(monkeypatch: pytest.MonkeyPatch):
    from common.config import ConfigError
    from integrations.origin import origin_in

    local = Settings(host="0.0.0.0", port=8080, public_url="https://assistant.example")
    assert origin_in("http://localhost:8080", local.web_origins)
    assert origin_in("http://127.0.0.1:8080", local.web_origins)
    assert origin_in("https://assistant.example", local.web_origins)
    assert not origin_in("http://127.0.0.1:8081", local.web_origins)
    configured = dataclasses.replace(local, public_origins=("https://a.example:8443",))
    assert configured.web_origins == ("https://a.example:8443",)
    monkeypatch.setenv("GATEWAY_PUBLIC_ORIGINS", "https://a.example/chemin")
    with pytest.raises(ConfigError, match="GATEWAY_PUBLIC_ORIGINS"):
        Settings.from_env()
    monkeypatch.setenv("GATEWAY_PUBLIC_ORIGINS", "https://a.example, https://b.example:444")
    monkeypatch.setenv("GATEWAY_RATE_PER_ADDRESS", "7")
    from_env = Settings.from_env()
    assert from_env.web_origins == ("https://a.example", "https://b.example:444")
    assert from_env.rate_per_address == 7


async def test_token_buckets_refill_with_time():
    from integrations.errors import ApiError
    from integrations.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(per_minute=6, clock=lambda: now[0])  # one every 10 s, burst 6
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
    assert limiter.take("a") == pytest.approx(10.0)
    assert limiter.take("b") == 0.0  # another key has its own bucket
    now[0] += 10.0
    assert limiter.take("a") == 0.0
    with pytest.raises(ApiError) as refused:
        await limiter.check("a", "depuis votre adresse")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "10"}
    assert refused.value.error == (
        "Trop de requêtes depuis votre adresse. Réessayez dans 10 secondes."
    )


def test_unused_keys_expire_with_the_retention(base_settings: Settings):
    from datetime import timedelta

    from common.db import make_engine
    from integrations.messages import Incoming, Role, utcnow
    from integrations.store import Store

    engine = make_engine(base_settings.database_url)
    try:
        store = Store(engine)  # base_settings: migrated
        store.add_key("jamais-servi", "cle-jamais-servie-" + "x" * 30)
        store.add_key("en-cours", "cle-en-cours-" + "x" * 30)
        store.record_incoming(Incoming("web", "en-cours", None, "bonjour", Role.CITIZEN))
        store.purge_before(utcnow() - timedelta(days=1))  # both are younger: kept
        assert store.has_keys("jamais-servi") and store.has_keys("en-cours")
        store.purge_before(utcnow() + timedelta(seconds=1))
        assert not store.has_keys("jamais-servi")
        # The conversation expired too (its messages are older than the cutoff).
        assert store.conversation("web:en-cours") is None and not store.has_keys("en-cours")
    finally:
        engine.dispose()
