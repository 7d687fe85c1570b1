"""A local stand-in for Telegram's Bot API that records every call (like aiohttp's
``examples/fake_server.py``). python-telegram-bot reaches it through ``base_url``.

``api.fail("sendMessage", flood(2), SERVER_ERROR)`` makes the next two sendMessage
calls fail as Telegram does (answers and bodies as documented in the Bot API's
"Making requests"); later calls succeed again. ``slow(s)`` succeeds but answers ``s``
seconds late. Every call is recorded with its status.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 777, "is_bot": True, "first_name": "Assistant", "username": "assistant_cd_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass(frozen=True)
class Fault:
    """One failed answer: an HTTP status with Telegram's error body, or a dropped connection."""

    status: int
    description: str = ""
    parameters: dict[str, Any] | None = None
    delay_s: float = 0.0  # the answer comes this late (with status 200: a slow success)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def flood(retry_after: int) -> Fault:
    return Fault(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


BLOCKED = Fault(403, "Forbidden: bot was blocked by the user")
SERVER_ERROR = Fault(500, "Internal Server Error")
BAD_GATEWAY = Fault(502, "Bad Gateway")
DROPPED = Fault(0, "connection closed without an answer")


def slow(seconds: float) -> Fault:
    """The call succeeds (the message is sent), but the answer comes ``seconds`` late."""
    return Fault(200, "slow answer", delay_s=seconds)


@dataclass
class FakeBotApi:
    token: str
    calls: list[Call] = field(default_factory=list)
    updates: asyncio.Queue = field(default_factory=asyncio.Queue)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _faults: dict[str, list[Fault]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        return app

    def fail(self, method: str, *faults: Fault) -> None:
        """The next calls of ``method`` get ``faults``, one each, in order."""
        self._faults.setdefault(method, []).extend(faults)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """The parameters of the successful calls of ``method``."""
        return [c.params for c in self.calls if c.method == method and c.status == 200]

    def attempts(self, method: str = "sendMessage") -> list[Call]:
        """Every call of ``method``, failed ones included."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int, within: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while len(self.sent(method)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} called {len(self.sent(method))} times, not {count}")
            await asyncio.sleep(0.05)
        return self.sent(method)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        for key in ("reply_markup", "allowed_updates"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        pending = self._faults.get(method)
        fault = pending.pop(0) if pending else None
        if method != "getUpdates":
            status = fault.status if fault else 200
            self.calls.append(Call(method, params, status, time.monotonic()))
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.status == 0:
            assert request.transport is not None
            request.transport.close()  # the client sees the connection reset
            return web.Response()
        if fault is not None and fault.status != 200:
            return web.json_response(fault.body(), status=fault.status)
        return web.json_response({"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "sendPhoto"):
            message = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
            }
            if method == "sendMessage":
                message["text"] = params["text"]
            else:
                message["photo"] = [
                    {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}
                ]
            return message
        if method == "getUpdates":
            try:
                update = await asyncio.wait_for(self.updates.get(), timeout=0.5)
            except TimeoutError:
                return []
            return [update]
        return True  # setWebhook, deleteWebhook, answerCallbackQuery…


def text_update(update_id: int, chat_id: int, text: str, language: str = "fr") -> dict[str, Any]:
    """A real update as Telegram posts it for a private text message."""
    user = {
        "id": chat_id,
        "is_bot": False,
        "first_name": "Annick",
        "last_name": "Le Gall",
        "language_code": language,
    }
    message: dict[str, Any] = {
        "message_id": update_id + 10,
        "from": user,
        "chat": {"id": chat_id, "first_name": "Annick", "last_name": "Le Gall", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    """A real update for a press on an inline keyboard button."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Annick", "language_code": "fr"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user,
            "chat_instance": "-12345",
            "data": data,
            "message": {
                "message_id": 1001,
                "from": BOT_USER,
                "chat": {"id": chat_id, "first_name": "Annick", "type": "private"},
                "date": int(time.time()),
                "text": "Je peux vous aider à :",
            },
        },
    }
