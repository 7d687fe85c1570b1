"""Web channel: Rasa-REST-compatible webhook and a WebSocket for live push.

``POST /webhooks/rest/webhook`` takes ``{"sender", "message", "metadata"?}`` and
answers the list Rasa's REST channel answers (``recipient_id``, ``text``,
``buttons``, ``image``, ``custom``), so existing Rasa web widgets work unchanged.

``GET /webhooks/websocket?sender=<id>`` upgrades to a WebSocket. The client sends
``{"message": "...", "metadata"?: {...}}`` frames; the server pushes
``{"type": "message", "author": "bot" | "mediator" | "system", "recipient_id", "text", ...}``
for every answer (also those a mediator writes later, through :meth:`WebChannel.send`)
and ``{"type": "error", "error", "code"}`` for a frame it cannot take.
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
from integrations.messages import Incoming, Reply, Role
from integrations.settings import Settings

log = logging.getLogger(__name__)

NAME = "web"
MAX_SENDER_CHARS = 128
MAX_METADATA_BYTES = 4096


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
    return fields


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
    return {"type": "message", "author": str(reply.author), **reply.as_rest(recipient_id)}


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

    def _incoming(self, sender: str, text: str, metadata: dict[str, Any] | None) -> Incoming:
        return Incoming(
            channel=NAME,
            chat_id=sender,
            user_id=sender,
            text=text,
            role=Role.CITIZEN,
            locale=_locale(metadata),
            client_metadata=metadata,
        )

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
            self._incoming(sender, fields["message"], fields["metadata"])
        )
        return web.json_response([r.as_rest(sender) for r in replies])

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser
        if "*" in self.allowed_origins or origin in self.allowed_origins:
            return True
        return origin.split("://", 1)[-1] == request.host  # same origin

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /webhooks/websocket?sender=<id>``."""
        if not self._origin_allowed(request):
            raise ApiError(403, "origin_not_allowed", "Origine non autorisée.")
        sender = parse_sender(request.query.get("sender", ""))
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=self.max_frame_bytes)
        await ws.prepare(request)
        key = self._incoming(sender, "-", None).conversation_key
        self.hub.add(key, ws)
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
            replies = await self.gateway.handle(
                self._incoming(sender, fields["message"], fields["metadata"])
            )
        except Exception:  # keep the socket open: the next message may work
            log.exception("error while handling a WebSocket message of %s", key)
            await _send_error(
                ws, ApiError(500, "internal_error", "Erreur interne, veuillez réessayer.")
            )
            return
        await self.hub.publish(key, [frame(r, sender) for r in replies])

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Push answers written outside a request (e.g. by a mediator)."""
        key = f"{NAME}:{chat_id}"
        await self.hub.publish(key, [frame(r, chat_id) for r in replies])


async def _send_error(ws: web.WebSocketResponse, err: ApiError) -> None:
    await ws.send_json({"type": "error", "error": err.error, "code": err.code})
