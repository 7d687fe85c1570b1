"""No 5xx from any input: property-based fuzzing of every public endpoint (Hypothesis).

Bodies and queries with deep nesting, lone surrogates, NUL, huge numbers, wrong types and
raw bytes, against a running gateway (Rasa down: what matters is the gateway's edge).
Every answer is below 500 and every refusal is ``{"error": <French>, "code"}``; after
each run the gateway is still healthy and a normal conversation still works.

Hypothesis drives synchronous test functions, so the gateway runs on an event loop of
its own thread (:class:`LiveGateway`); each request is a coroutine submitted to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
from collections.abc import Coroutine, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import WSCloseCode, WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from yarl import URL

from common.migrate import upgrade
from integrations import keys
from integrations.app import create_app
from integrations.settings import Settings
from tests.gateway.conftest import TELEGRAM_SECRET, TELEGRAM_TOKEN, with_telegram
from tests.gateway.fake_telegram import FakeBotApi
from tests.gateway.web_client import (
    CONVERSATION,
    CONVERSATIONS,
    FEEDBACK,
    HISTORY,
    WEBHOOK,
    WebConversation,
)
from tools.stack import free_port

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Words our French reasons use; aiohttp's own English texts have none of them.
FRENCH = re.compile(
    r"\b(doit|invalide|requise?|trop|requête|introuvable|refusée?|clé|champ|corps|"
    r"autorisée?|jeton|interdits|vide|obligatoire|entier|caractères|mise à jour|"
    r"méthode|ressource|connectez|accès|valoir|uniquement|attendue|appartient)\b",
    re.IGNORECASE,
)


class LiveGateway:
    """The gateway app on a real port, served by an event loop in a thread of its own."""

    def __init__(self, settings_: Settings, telegram: bool = False) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.telegram_server: TestServer | None = None
        self.client: TestClient = self.run(self._start(settings_, telegram))

    async def _start(self, settings_: Settings, telegram: bool) -> TestClient:
        if telegram:
            api = FakeBotApi(token=TELEGRAM_TOKEN)
            self.telegram_server = TestServer(api.app())
            await self.telegram_server.start_server()
            settings_ = with_telegram(settings_, str(self.telegram_server.make_url("/bot")))
        port = free_port()
        settings_ = dataclasses.replace(settings_, host="127.0.0.1", port=port)
        upgrade(settings_.database_url)
        client = TestClient(TestServer(create_app(settings_), port=port))
        await client.start_server()
        if telegram:  # the channel gets ready in the background (getMe on the fake API)
            for _ in range(400):
                if client.app[keys.TELEGRAM].state == "ok":
                    break
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError("the Telegram channel never got ready")
        return client

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def request(self, method: str, path: str | URL, **kwargs: Any) -> tuple[int, Any, Any]:
        """``(status, JSON body or raw bytes, headers)``."""

        async def call() -> tuple[int, Any, Any]:
            async with self.client.request(method, path, **kwargs) as response:
                raw = await response.read()
                body: Any = raw
                if response.content_type == "application/json" and raw:
                    body = json.loads(raw)
                return response.status, body, response.headers

        return self.run(call())

    def conversation(self) -> WebConversation:
        status, body, _ = self.request("POST", CONVERSATIONS, json={})
        assert status == 201, body
        return WebConversation(body["sender"], body["key"])

    def close(self) -> None:
        self.run(self.client.close())
        if self.telegram_server is not None:
            self.run(self.telegram_server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def assert_clean(status: int, body: Any, what: object = "") -> None:
    """Below 500; a refusal is the gateway's JSON error with a French reason."""
    assert status < 500, (status, body, what)
    if status >= 400:
        assert isinstance(body, dict), (status, body, what)
        assert set(body) == {"error", "code"}, body
        assert re.fullmatch(r"[a-z_]+", body["code"]), body
        assert FRENCH.search(body["error"]), body


def assert_healthy(gateway: LiveGateway) -> None:
    """The gateway answers, its database too, and a conversation still works."""
    _, health, _ = gateway.request("GET", "/health")
    assert health["gateway"] == "ok" and health["database"] == "ok", health
    conversation = gateway.conversation()
    status, replies, _ = gateway.request(
        "POST",
        WEBHOOK,
        json={"sender": conversation.sender, "message": "bonjour"},
        headers=conversation.headers,
    )
    assert status == 200 and replies, replies
    status, history, _ = gateway.request("GET", HISTORY, headers=conversation.headers)
    assert status == 200 and history["messages"][0]["text"] == "bonjour"


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Rasa down, small limits on sizes, and rate limits out of the way (tested apart)."""
    path = tmp_path_factory.mktemp("fuzz") / "gateway.db"
    return Settings(
        database_url=f"sqlite:///{path}",
        rasa_url="http://127.0.0.1:9",
        action_server_url="http://127.0.0.1:9/webhook",
        rasa_timeout_s=5,
        health_timeout_s=1,
        max_message_chars=500,
        max_body_bytes=8 * 1024,
        rate_per_address=1_000_000,
        rate_per_conversation=1_000_000,
    )


@pytest.fixture(scope="module")
def gateway(fuzz_settings: Settings) -> Iterator[LiveGateway]:
    live = LiveGateway(fuzz_settings)
    yield live
    assert_healthy(live)
    live.close()


# --- strategies -----------------------------------------------------------------------

# Any code point, lone surrogates and NUL included (Hypothesis leaves surrogates out by
# default), plus the nasty ones on purpose.
ANY_CHAR = st.characters(blacklist_categories=())
NASTY = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "\udbff\udc00", "\u202e", ""])
TEXT = st.text(ANY_CHAR, max_size=40) | NASTY
HUGE = st.integers(min_value=-(10**400), max_value=10**400) | st.sampled_from(
    [2**63, 2**64, -(2**63) - 1, 10**30]
)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALAR,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    """JSON with ASCII escapes, so lone surrogates travel as ``\\udxxx``."""
    return json.dumps(value, ensure_ascii=True).encode()


def nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a": ' * depth + b"1" + b"}" * depth


RAW = st.one_of(
    st.binary(max_size=64),
    st.builds(nested, st.integers(20, 3000), st.sampled_from(["list", "dict"])),
    st.integers(4000, 6000).map(lambda n: b'{"sender": "a", "message": ' + b"9" * n + b"}"),
    st.sampled_from(
        [b"NaN", b'{"message": Infinity}', b'{"message": -Infinity}', b"\xff\xfe", b""]
    ),
)


def body_of(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[bytes]:
    """JSON objects with any subset of ``fields`` (each also of any JSON value), JSON of any
    other shape, nested JSON, and raw bytes."""
    mixed = {name: strategy | JSON for name, strategy in fields.items()}
    return st.one_of(
        st.fixed_dictionaries({}, optional=mixed).map(dumps),
        JSON.map(dumps),
        RAW,
    )


MESSAGE_BODY = body_of(
    {
        "sender": TEXT,
        "message": TEXT,
        "metadata": st.dictionaries(TEXT, JSON, max_size=3),
        "client_id": TEXT,
    }
)


def query_value() -> st.SearchStrategy[str]:
    """A query value, percent-encoded by hand (lone surrogates as their broken UTF-8)."""
    values = TEXT | HUGE.map(str) | st.sampled_from(["9" * 400, "²", "-1", "1_0", "0x1f", " 7"])
    return values.map(lambda v: quote(v, safe="", errors="surrogatepass"))


QUERY = st.fixed_dictionaries({}, optional={"sender": query_value(), "after": query_value()})


def with_query(path: str, query: dict[str, str]) -> URL:
    return URL(path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""))


HEADERS = st.sampled_from(["valid", "none", "wrong", "garbage"])


def key_headers(gateway: LiveGateway, conversation: WebConversation, choice: str) -> dict:
    return {
        "valid": conversation.headers,
        "none": {},
        "wrong": {"X-Conversation-Key": "x" * 43},
        "garbage": {"X-Conversation-Key": "é\t" * 80},
    }[choice]


# --- one test per public endpoint -----------------------------------------------------


@EXAMPLES
@given(body=MESSAGE_BODY)
def test_rest_webhook(gateway: LiveGateway, body: bytes) -> None:
    status, answer, _ = gateway.request(
        "POST", WEBHOOK, data=body, headers={"Content-Type": "application/json"}
    )
    assert_clean(status, answer, body[:200])


@EXAMPLES
@given(body=MESSAGE_BODY, choice=HEADERS)
def test_rest_webhook_with_a_key(gateway: LiveGateway, body: bytes, choice: str) -> None:
    conversation = gateway.conversation()
    headers = {"Content-Type": "application/json", **key_headers(gateway, conversation, choice)}
    status, answer, _ = gateway.request("POST", WEBHOOK, data=body, headers=headers)
    assert_clean(status, answer, body[:200])


@EXAMPLES
@given(body=body_of({"agent": st.booleans()}))
def test_conversation_issuing(gateway: LiveGateway, body: bytes) -> None:
    status, answer, _ = gateway.request(
        "POST", CONVERSATIONS, data=body, headers={"Content-Type": "application/json"}
    )
    assert_clean(status, answer, body[:200])
    if status == 201:
        assert set(answer) == {"sender", "key"}


@EXAMPLES
@given(query=QUERY, choice=HEADERS)
def test_history(gateway: LiveGateway, query: dict[str, str], choice: str) -> None:
    conversation = gateway.conversation()
    headers = key_headers(gateway, conversation, choice)
    status, answer, _ = gateway.request("GET", with_query(HISTORY, query), headers=headers)
    assert_clean(status, answer, query)


@EXAMPLES
@given(query=QUERY, choice=HEADERS)
def test_erase(gateway: LiveGateway, query: dict[str, str], choice: str) -> None:
    conversation = gateway.conversation()
    headers = key_headers(gateway, conversation, choice)
    status, answer, _ = gateway.request("DELETE", with_query(CONVERSATION, query), headers=headers)
    assert_clean(status, answer, query)


@EXAMPLES
@given(
    body=body_of(
        {
            "sender": TEXT,
            "message_id": HUGE | TEXT | st.sampled_from(["²", "٣", "1e3", "12"]),
            "rating": TEXT | st.just("down"),
        }
    ),
    choice=HEADERS,
)
def test_feedback(gateway: LiveGateway, body: bytes, choice: str) -> None:
    conversation = gateway.conversation()
    headers = {"Content-Type": "application/json", **key_headers(gateway, conversation, choice)}
    status, answer, _ = gateway.request("POST", FEEDBACK, data=body, headers=headers)
    assert_clean(status, answer, body[:200])


@EXAMPLES
@given(ref=TEXT | st.text("abcdefXYZ0123456789_-", min_size=1, max_size=60))
def test_booking_invitation(gateway: LiveGateway, ref: str) -> None:
    path = "/bookings/" + quote(ref, safe="", errors="surrogatepass") + ".ics"
    status, answer, _ = gateway.request("GET", URL(path, encoded=True))
    if status == 503:  # the action server, which keeps the bookings, is not running here
        assert answer["code"] == "bookings_unavailable", (answer, ref)
        return
    assert_clean(status, answer, ref)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(MESSAGE_BODY, min_size=1, max_size=4), auth=HEADERS)
def test_websocket_frames(gateway: LiveGateway, frames: list[bytes], auth: str) -> None:
    """A first frame of any kind, then any frames: error frames, never an internal error,
    and the socket is unregistered once it is gone."""
    conversation = gateway.conversation()
    key = key_headers(gateway, conversation, auth).get("X-Conversation-Key", "")
    hub = gateway.client.app[keys.HUB]

    # Beyond GATEWAY_MAX_BODY_BYTES aiohttp closes the socket (1009, message too big).
    too_big = any(len(f.decode("utf-8", "replace").encode()) > 8 * 1024 for f in frames)

    async def session() -> tuple[list[dict[str, Any]], int | None]:
        received: list[dict[str, Any]] = []
        path = f"/webhooks/websocket?sender={conversation.sender}"
        async with gateway.client.ws_connect(path) as ws:
            await ws.send_str(json.dumps({"type": "auth", "key": key}))
            if auth == "valid":
                for data in frames:
                    await ws.send_str(data.decode("utf-8", "replace"))
                await ws.send_str(json.dumps({"message": "fin", "client_id": "fin"}))
            while True:
                msg = await ws.receive(timeout=30)
                if msg.type != WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                received.append(frame)
                if frame.get("client_id") == "fin" or frame.get("code") in (
                    "conversation_key_required",
                    "invalid_conversation_key",
                ):
                    break
        return received, ws.close_code

    received, close_code = gateway.run(session())
    assert not [f for f in received if f.get("code") == "internal_error"], received
    for frame in received:
        if frame.get("type") == "error":
            assert FRENCH.search(frame["error"]), frame
    if auth == "valid" and too_big:
        assert close_code == WSCloseCode.MESSAGE_TOO_BIG, (close_code, received)
    elif auth == "valid":
        assert received[-1].get("client_id") == "fin", received  # still usable at the end
    else:
        assert received[-1]["type"] == "error", received

    async def unregistered() -> None:
        for _ in range(200):
            if hub.connected(conversation.rasa_key) == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("a closed WebSocket is still registered")

    gateway.run(unregistered())


@pytest.fixture(scope="module")
def telegram_gateway(fuzz_settings: Settings) -> Iterator[LiveGateway]:
    live = LiveGateway(dataclasses.replace(fuzz_settings), telegram=True)
    yield live
    live.close()


UPDATE = body_of(
    {
        "update_id": HUGE | st.integers(0, 10**6),
        "message": st.fixed_dictionaries(
            {},
            optional={
                "message_id": HUGE,
                "date": HUGE,
                "text": TEXT,
                "chat": st.fixed_dictionaries({"id": HUGE, "type": TEXT}),
                "from": st.fixed_dictionaries({"id": HUGE, "is_bot": JSON, "first_name": TEXT}),
            },
        ),
        "callback_query": JSON,
    }
)


@EXAMPLES
@given(body=UPDATE)
@example(body=b'{"update_id": 9223372036854775808}')  # one past SQLite's INTEGER
@example(body=b'{"update_id": -1}')
@example(body=b'{"update_id": true}')
@example(
    body=b'{"update_id": 7, "message": {"message_id": 18446744073709551616, "date": 1,'
    b' "text": "bonjour", "chat": {"id": -18446744073709551616, "type": "private"},'
    b' "from": {"id": 18446744073709551616, "is_bot": false, "first_name": "A"}}}'
)
def test_telegram_webhook_with_its_secret(telegram_gateway: LiveGateway, body: bytes) -> None:
    status, answer, _ = telegram_gateway.request(
        "POST",
        "/webhooks/telegram",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        },
    )
    assert_clean(status, answer, body[:200])


# --- PostgreSQL: NUL never reaches it -------------------------------------------------


@pytest.fixture(scope="module")
def postgres_gateway(fuzz_settings: Settings, postgres_url: str) -> Iterator[LiveGateway]:
    live = LiveGateway(dataclasses.replace(fuzz_settings, database_url=postgres_url))
    yield live
    assert_healthy(live)
    live.close()


NUL_TEXT = st.builds(lambda a, b: a + "\x00" + b, TEXT, TEXT)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    field=st.sampled_from(["sender", "message", "metadata", "client_id"]),
    value=NUL_TEXT,
)
def test_nul_is_refused_before_postgresql(
    postgres_gateway: LiveGateway, field: str, value: str
) -> None:
    conversation = postgres_gateway.conversation()
    body: dict[str, Any] = {"sender": conversation.sender, "message": "bonjour"}
    body[field] = {value: value} if field == "metadata" else value
    status, answer, _ = postgres_gateway.request(
        "POST",
        WEBHOOK,
        data=dumps(body),
        headers={"Content-Type": "application/json", **conversation.headers},
    )
    assert status == 400, answer
    assert answer["code"] == "invalid_characters" and FRENCH.search(answer["error"])
    # And in a query string, NUL is refused as well.
    status, answer, _ = postgres_gateway.request(
        "GET",
        URL(f"{HISTORY}?sender={quote(value, errors='surrogatepass')}", encoded=True),
        headers=conversation.headers,
    )
    assert status == 400 and answer["code"] == "invalid_sender", answer
