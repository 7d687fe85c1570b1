"""The web channel's protocol as a test client speaks it: issue a conversation, send its
key in the header, authenticate the WebSocket in its first frame."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from integrations.channels.web import KEY_HEADER

CONVERSATIONS = "/webhooks/web/conversations"
WEBHOOK = "/webhooks/rest/webhook"
HISTORY = "/webhooks/rest/history"
CONVERSATION = "/webhooks/rest/conversation"
FEEDBACK = "/webhooks/rest/feedback"
WEBSOCKET = "/webhooks/websocket"


@dataclass(frozen=True)
class WebConversation:
    sender: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {KEY_HEADER: self.key}

    @property
    def rasa_key(self) -> str:
        """The conversation's key in the gateway's store and Rasa's sender id."""
        return f"web:{self.sender}"


async def new_conversation(client: TestClient, agent: bool = False) -> WebConversation:
    response = await client.post(CONVERSATIONS, json={"agent": True} if agent else {})
    assert response.status == 201, await response.text()
    body = await response.json()
    return WebConversation(body["sender"], body["key"])


async def say(
    client: TestClient, conversation: WebConversation, text: str, **extra: Any
) -> list[dict[str, Any]]:
    response = await client.post(
        WEBHOOK,
        json={"sender": conversation.sender, "message": text, **extra},
        headers=conversation.headers,
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def history(
    client: TestClient, conversation: WebConversation, after: int = 0
) -> dict[str, Any]:
    response = await client.get(
        HISTORY,
        params={"sender": conversation.sender, "after": str(after)},
        headers=conversation.headers,
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def erase(client: TestClient, conversation: WebConversation) -> None:
    response = await client.delete(
        CONVERSATION, params={"sender": conversation.sender}, headers=conversation.headers
    )
    assert response.status == 204, await response.text()


async def open_socket(
    client: TestClient, conversation: WebConversation, after: int | None = None, **kwargs: Any
) -> ClientWebSocketResponse:
    """A WebSocket of the conversation, authenticated (the caller closes it)."""
    query = f"?sender={conversation.sender}" + (f"&after={after}" if after is not None else "")
    ws = await client.ws_connect(WEBSOCKET + query, **kwargs)
    await ws.send_json({"type": "auth", "key": conversation.key})
    return ws


@asynccontextmanager
async def socket(
    client: TestClient, conversation: WebConversation, after: int | None = None, **kwargs: Any
) -> AsyncIterator[ClientWebSocketResponse]:
    """``async with socket(...) as ws``: :func:`open_socket`, closed at the end."""
    ws = await open_socket(client, conversation, after, **kwargs)
    try:
        yield ws
    finally:
        await ws.close()


_CITIZENS: weakref.WeakKeyDictionary[TestClient, dict[str, WebConversation]] = (
    weakref.WeakKeyDictionary()
)


async def citizen(client: TestClient, name: str) -> WebConversation:
    """The conversation of a fictional person of the test, issued on first use."""
    known = _CITIZENS.setdefault(client, {})
    if name not in known:
        known[name] = await new_conversation(client)
    return known[name]
