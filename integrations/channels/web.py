"""Web channel: Rasa-REST-compatible webhook and a WebSocket for live push.

``POST /webhooks/rest/webhook`` takes ``{"sender", "message", "metadata"?}`` and
answers the list Rasa's REST channel answers (``recipient_id``, ``text``,
``buttons``, ``image``, ``custom``), so existing Rasa web widgets work unchanged.

``GET /webhooks/websocket?sender=<id>&after=<last id seen>`` upgrades to a WebSocket.
With ``after`` (0 for everything) the server first sends a ``state`` frame
(``{"type": "state", "owner", "queue_position", "mediator"}``, sent again on every
change), then every stored message of the conversation with a greater id, in order, then
live frames; without it, only live frames (older clients). The client sends
``{"message": "...", "client_id"?: "<uuid>", "metadata"?: {...}}``; the server stores it
and, when it has a ``client_id``, pushes it back to every socket of the sender
(``author: "user"``, same ``client_id``) before the answers. Every message frame is
``{"type": "message", "id", "author": "user" | "bot" | "mediator" | "system",
"recipient_id", "text", "buttons"?, "image"?, "custom"?, "client_id"?, "mediator"?}``
(``mediator``: the first name of the mediator who wrote it), ``id`` increasing within
the conversation: clients de-duplicate by it. Errors come as
``{"type": "error", "error", "code"}``.

``GET /webhooks/rest/history?sender=<id>&after=<n>`` gives ``{"messages": [frames],
"state": {...}}`` (reload, or polling when WebSockets are unavailable);
``DELETE /webhooks/rest/conversation?sender=<id>`` deletes the conversation (204).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from integrations.errors import ApiError, bad_request, too_large
from integrations.gateway import Gateway
from integrations.messages import Author, Incoming, Reply, Role
from integrations.origin import same_origin
from integrations.settings import Settings

log = logging.getLogger(__name__)

NAME = "web"
MAX_SENDER_CHARS = 128
MAX_METADATA_BYTES = 4096
MAX_CLIENT_ID_CHARS = 64


def parse_sender(value: Any) -> str:
    if not isinstance(value, str):
        raise bad_request("invalid_sender", "« sender » doit être une chaîne de caractères.")
    sender = value.strip()
    if not sender:
        raise bad_request("missing_sender", "Le champ « sender » est obligatoire.")
    if len(sender) > MAX_SENDER_CHARS or not sender.isprintable():
        raise bad_request(
            "invalid_sender",
            f"« sender » doit faire au plus {MAX_SENDER_CHARS} caractères imprimables.",
        )
    return sender


def parse_message(body: Any, max_chars: int, sender_required: bool = True) -> dict[str, Any]:
    """Validate a REST body or a WebSocket frame; the fields, cleaned."""
    if not isinstance(body, dict):
        raise bad_request("invalid_body", "Le corps doit être un objet JSON.")
    fields: dict[str, Any] = {}
    if sender_required:
        if "sender" not in body:
            raise bad_request("missing_sender", "Le champ « sender » est obligatoire.")
        fields["sender"] = parse_sender(body["sender"])
    if "message" not in body:
        raise bad_request("missing_message", "Le champ « message » est obligatoire.")
    message = body["message"]
    if not isinstance(message, str):
        raise bad_request("invalid_message", "« message » doit être une chaîne de caractères.")
    if not message.strip():
        raise bad_request("empty_message", "Le message est vide.")
    if len(message) > max_chars:
        raise too_large(
            f"Message trop long : {len(message)} caractères, au plus {max_chars} acceptés."
        )
    fields["message"] = message
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_request("invalid_metadata", "« metadata » doit être un objet JSON.")
    if metadata and len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise too_large(f"« metadata » dépasse {MAX_METADATA_BYTES} octets.")
    fields["metadata"] = metadata or None
    client_id = body.get("client_id")
    if client_id is not None and (
        not isinstance(client_id, str)
        or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS
        or not client_id.isprintable()
    ):
        raise bad_request(
            "invalid_client_id",
            f"« client_id » doit être une chaîne d'au plus {MAX_CLIENT_ID_CHARS} caractères.",
        )
    fields["client_id"] = client_id
    return fields


def parse_after(value: str | None) -> int | None:
    """The ``after`` query parameter: None when absent, else a message id >= 0."""
    if value is None:
        return None
    try:
        after = int(value)
    except ValueError as err:
        raise bad_request("invalid_after", "« after » doit être un entier positif ou nul.") from err
    if after < 0:
        raise bad_request("invalid_after", "« after » doit être un entier positif ou nul.")
    return after


def _locale(metadata: dict[str, Any] | None) -> str:
    value = (metadata or {}).get("locale") or (metadata or {}).get("language")
    if isinstance(value, str) and 2 <= len(value) <= 16 and value.replace("-", "").isalpha():
        return value
    return "fr"


class Hub:
    """Open WebSockets by conversation key, to push answers as they come."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, key: str, ws: web.WebSocketResponse) -> None:
        self._sockets[key].add(ws)

    def remove(self, key: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(key)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[key]

    def connected(self, key: str) -> int:
        return len(self._sockets.get(key, ()))

    async def publish(self, key: str, frames: Sequence[dict[str, Any]]) -> int:
        """Send ``frames`` to every socket of ``key``; how many sockets got them."""
        delivered = 0
        for ws in list(self._sockets.get(key, ())):
            try:
                for frame in frames:
                    await ws.send_json(frame)
                delivered += 1
            except (ConnectionError, RuntimeError) as err:
                log.info("dropping a closed WebSocket of %s: %r", key, err)
                self.remove(key, ws)
        return delivered

    async def close_all(self) -> None:
        sockets = [ws for group in self._sockets.values() for ws in group]
        self._sockets.clear()
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )


def frame(reply: Reply, recipient_id: str) -> dict[str, Any]:
    """A message frame; a mediator's names its author, even once another one answers."""
    out = reply.as_frame(recipient_id)
    name = (reply.custom or {}).get("mediator")
    if reply.author is Author.MEDIATOR and isinstance(name, str) and name:
        out["mediator"] = name
    return out


def key_of(sender: str) -> str:
    return f"{NAME}:{sender}"


class WebChannel:
    name = NAME

    def __init__(
        self,
        gateway: Gateway,
        hub: Hub,
        max_message_chars: int,
        max_frame_bytes: int,
        allowed_origins: tuple[str, ...],
    ) -> None:
        self.gateway = gateway
        self.hub = hub
        self.max_message_chars = max_message_chars
        self.max_frame_bytes = max_frame_bytes
        self.allowed_origins = allowed_origins

    @classmethod
    def from_settings(cls, settings: Settings, gateway: Gateway, hub: Hub) -> WebChannel:
        return cls(
            gateway,
            hub,
            max_message_chars=settings.max_message_chars,
            max_frame_bytes=settings.max_body_bytes,
            allowed_origins=settings.cors_origins,
        )

    def _incoming(self, sender: str, fields: dict[str, Any]) -> Incoming:
        metadata = fields["metadata"]
        return Incoming(
            channel=NAME,
            chat_id=sender,
            user_id=sender,
            text=fields["message"],
            role=Role.CITIZEN,
            locale=_locale(metadata),
            client_metadata=metadata,
            client_id=fields["client_id"],
        )

    async def _echo(self, sender: str, stored: Reply) -> None:
        """The user's stored message to every screen of the sender (with its client_id)."""
        if stored.client_id:
            await self.hub.publish(key_of(sender), [frame(stored, sender)])

    async def rest(self, request: web.Request) -> web.Response:
        """``POST /webhooks/rest/webhook``."""
        try:
            body = await request.json()
        except json.JSONDecodeError as err:
            raise bad_request("invalid_json", f"JSON invalide : {err.msg}.") from err
        except UnicodeDecodeError as err:
            raise bad_request("invalid_json", "Le corps doit être encodé en UTF-8.") from err
        fields = parse_message(body, self.max_message_chars)
        sender = fields["sender"]
        replies = await self.gateway.handle(
            self._incoming(sender, fields),
            echo=lambda stored: self._echo(sender, stored),
            answered=lambda answers: self.send(sender, answers),
        )
        return web.json_response([r.as_rest(sender) for r in replies])

    async def history(self, request: web.Request) -> web.Response:
        """``GET /webhooks/rest/history?sender=<id>&after=<n>``."""
        sender = parse_sender(request.query.get("sender", ""))
        after = parse_after(request.query.get("after")) or 0
        key = key_of(sender)
        stored = await asyncio.to_thread(self.gateway.store.messages, key, after)
        return web.json_response(
            {
                "messages": [frame(m.reply(), sender) for m in stored],
                "state": await self.gateway.state(key),
            }
        )

    async def forget(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/rest/conversation?sender=<id>``: "Effacer la conversation"."""
        sender = parse_sender(request.query.get("sender", ""))
        await self.gateway.forget(key_of(sender))
        await self.send_state(sender, await self.gateway.state(key_of(sender)))
        return web.Response(status=204)

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is not None and ("*" in self.allowed_origins or origin in self.allowed_origins):
            return True
        return same_origin(request)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /webhooks/websocket?sender=<id>``."""
        if not self._origin_allowed(request):
            raise ApiError(403, "origin_not_allowed", "Origine non autorisée.")
        sender = parse_sender(request.query.get("sender", ""))
        after = parse_after(request.query.get("after"))
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=self.max_frame_bytes)
        await ws.prepare(request)
        key = key_of(sender)
        # Under the conversation's lock nothing new is stored meanwhile: the replay and
        # the live frames that follow are in id order, with no gap.
        async with self.gateway.lock(key):
            self.hub.add(key, ws)
            if after is not None:
                await ws.send_json({"type": "state", **await self.gateway.state(key)})
                stored = await asyncio.to_thread(self.gateway.store.messages, key, after)
                for message in stored:
                    await ws.send_json(frame(message.reply(), sender))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await _send_error(
                            ws, bad_request("invalid_frame", "Trames texte uniquement.")
                        )
                    continue
                await self._on_frame(ws, key, sender, msg.data)
        finally:
            self.hub.remove(key, ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, key: str, sender: str, data: str) -> None:
        try:
            try:
                body = json.loads(data)
            except json.JSONDecodeError as err:
                raise bad_request("invalid_json", f"JSON invalide : {err.msg}.") from err
            fields = parse_message(body, self.max_message_chars, sender_required=False)
        except ApiError as err:
            await _send_error(ws, err)
            return
        try:
            await self.gateway.handle(
                self._incoming(sender, fields),
                echo=lambda stored: self._echo(sender, stored),
                answered=lambda answers: self.send(sender, answers),
            )
        except Exception:  # keep the socket open: the next message may work
            log.exception("error while handling a WebSocket message of %s", key)
            await _send_error(
                ws, ApiError(500, "internal_error", "Erreur interne, veuillez réessayer.")
            )
            return

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Push answers written outside a request (e.g. by a mediator)."""
        await self.hub.publish(key_of(chat_id), [frame(r, chat_id) for r in replies])

    async def send_state(self, chat_id: str, state: dict[str, Any]) -> None:
        """Push a change of owner or queue position."""
        await self.hub.publish(key_of(chat_id), [{"type": "state", **state}])


async def _send_error(ws: web.WebSocketResponse, err: ApiError) -> None:
    await ws.send_json({"type": "error", "error": err.error, "code": err.code})
