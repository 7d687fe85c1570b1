"""Web channel: Rasa-REST-compatible webhook, conversation keys and a WebSocket for live push.

Who is who (see README, "Trust model"): the sender id names a conversation, it is no
identity. A request is an agent's only when it is same-origin and carries a console
session (``integrations/console/auth.py``): then Rasa gets ``role: "agent"`` and
``user_id`` = the account's login. Everybody else is a citizen without ``user_id``.
Client metadata goes to Rasa under ``client`` and never sets either.

``POST /webhooks/web/conversations`` (body ``{}`` or ``{"agent": true}``) issues a new
conversation: ``{"sender": <random id>, "key": <secret>}`` (201). With ``agent`` the
caller must be signed in and gets the conversation tied to its account. Only the key's
SHA-256 is stored (``integrations/store.py`` ``WebConversationKey``). Reading back,
following live, rating and erasing need the key, in the ``X-Conversation-Key`` header
(the WebSocket: in its first frame); never in a URL, which access logs keep.

``POST /webhooks/rest/webhook`` takes ``{"sender", "message", "metadata"?}`` and
answers the list Rasa's REST channel answers (``recipient_id``, ``text``,
``buttons``, ``image``, ``custom``), so existing Rasa web widgets work unchanged: a
client-chosen sender that was never issued still works, as a citizen, but it has no key,
so nobody reads it back. An issued sender needs its key here too.

``GET /webhooks/websocket?sender=<id>&after=<last id seen>`` upgrades to a WebSocket
whose first client frame must be ``{"type": "auth", "key": "<key>"}`` (else an error
frame, then close code 4401 / 4403). Then, with ``after`` (0 for everything), the server
sends a ``state`` frame (``{"type": "state", "owner", "queue_position", "mediator"}``,
sent again on every change), every stored message of the conversation with a greater
id, in order, then live frames; without it, only live frames. The client sends
``{"message": "...", "client_id"?: "<uuid>", "metadata"?: {...}}`` (or ``{"type": "typing"}``
while a mediator answers: the mediator sees the person typing); the server stores it
and, when it has a ``client_id``, pushes it back to every socket of the sender
(``author: "user"``, same ``client_id``) before the answers. Every message frame is
``{"type": "message", "id", "author": "user" | "bot" | "mediator" | "system",
"recipient_id", "text", "buttons"?, "image"?, "custom"?, "client_id"?, "mediator"?}``
(``mediator``: the first name of the mediator who wrote it), ``id`` increasing within
the conversation: clients de-duplicate by it. Errors come as
``{"type": "error", "error", "code"}`` (``"client_id"`` and ``"retry_after"`` when a
message was refused for a moment: code ``service_unavailable``, nothing stored, to send
again; REST answers 503 with ``Retry-After``; a socket that cannot follow for a moment is
closed with code 1013); ``{"type": "typing", "mediator"}`` says the
mediator is writing; message frames carry ``at`` (ISO 8601, when stored). At most
``max_sockets_per_conversation`` sockets per conversation; the Origin must be one of the
gateway's public origins or of ``GATEWAY_CORS_ORIGINS``. With several gateway replicas
(``REDIS_URL``) the frames reach the person's sockets on every replica (``Hub``).

``GET /webhooks/rest/history?sender=<id>&after=<n>`` gives ``{"messages": [frames],
"state": {...}}`` (reload, or polling when WebSockets are unavailable);
``DELETE /webhooks/rest/conversation?sender=<id>`` deletes the conversation and its keys
(204). Every endpoint is rate-limited per client address and, for messages, per
conversation (429 with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from integrations import keys
from integrations.bus import Bus, BusUnavailable
from integrations.console.auth import current_session
from integrations.errors import (
    ApiError,
    bad_request,
    bounded_int,
    parse_json_object,
    read_json_object,
    too_large,
)
from integrations.gateway import Gateway
from integrations.messages import Author, Incoming, Reply, Role
from integrations.origin import origin_in, same_origin
from integrations.settings import Settings
from integrations.store import Store

log = logging.getLogger(__name__)

NAME = "web"
MAX_SENDER_CHARS = 128
MAX_METADATA_BYTES = 4096
MAX_CLIENT_ID_CHARS = 64
KEY_HEADER = "X-Conversation-Key"
MAX_KEY_CHARS = 128
# Seconds a new WebSocket has to send its auth frame.
AUTH_TIMEOUT_S = 10.0
# Close codes of the WebSocket (4000-4999: the application's own).
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429
CLOSE_TRY_AGAIN = 1013  # "Try Again Later": Redis unreachable for a moment
# Console roles that are council agents on the web (by value: the console may add more).
AGENT_ROLES = frozenset({"agent", "mediator", "admin"})
BY_ADDRESS = "depuis votre adresse"
BY_CONVERSATION = "dans cette conversation"


@dataclass(frozen=True)
class WebIdentity:
    """Who writes on the web: a citizen (no user id) or a signed-in agent (its login)."""

    role: Role = Role.CITIZEN
    login: str | None = None


CITIZEN = WebIdentity()


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


def optional_sender(value: Any) -> str | None:
    """The ``sender`` of a request that has a key: optional (the key names it)."""
    return None if value is None else parse_sender(value)


def parse_message(
    body: dict[str, Any], max_chars: int, sender_required: bool = True
) -> dict[str, Any]:
    """Validate a REST body or a WebSocket frame (a JSON object); the fields, cleaned."""
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
    return None if value is None else bounded_int(value, "after")


def _locale(metadata: dict[str, Any] | None) -> str:
    value = (metadata or {}).get("locale") or (metadata or {}).get("language")
    if isinstance(value, str) and 2 <= len(value) <= 16 and value.replace("-", "").isalpha():
        return value
    return "fr"


# Frames to the person's screens go on this bus topic: every replica delivers them to the
# sockets it holds (integrations/bus.py).
TOPIC = "web"
Replay = Callable[[str, int], Awaitable[list[dict[str, Any]]]]


class Hub:
    """This replica's open WebSockets by conversation key, to push answers as they come.

    ``publish`` goes through the bus, so a frame reaches the person's sockets on every
    replica. Each socket remembers the last message id it was sent: a message frame
    whose id is not greater (already replayed, or sent twice) is dropped, so that each
    message reaches each socket once, in order.
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._sockets: dict[str, dict[web.WebSocketResponse, int]] = defaultdict(dict)
        bus.subscribe(TOPIC, self._on_bus)

    def add(self, key: str, ws: web.WebSocketResponse, last_id: int = 0) -> None:
        """Follow ``key`` on ``ws``, which was sent every message up to ``last_id``."""
        self._sockets[key][ws] = last_id

    def remove(self, key: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(key)
        if sockets is not None:
            sockets.pop(ws, None)
            if not sockets:
                del self._sockets[key]

    def connected(self, key: str) -> int:
        """How many sockets of ``key`` this replica holds."""
        return len(self._sockets.get(key, ()))

    def sockets(self) -> int:
        """How many sockets this replica holds."""
        return sum(len(group) for group in self._sockets.values())

    async def publish(self, key: str, frames: Sequence[dict[str, Any]]) -> None:
        """Send ``frames`` to every socket of ``key``, on every replica. The bus down:
        logged only, the messages are stored and ``resync`` sends them once it is back."""
        try:
            await self.bus.publish(TOPIC, {"key": key, "frames": list(frames)})
        except BusUnavailable:
            log.warning("frames of %s not pushed: the bus is unavailable", key)

    async def _on_bus(self, message: dict[str, Any]) -> None:
        await self._deliver(message["key"], message["frames"])

    async def _deliver(self, key: str, frames: Sequence[dict[str, Any]]) -> None:
        sockets = self._sockets.get(key)
        if not sockets:
            return
        for ws in list(sockets):
            try:
                for out in frames:
                    message_id = out.get("id") if out.get("type") == "message" else None
                    if isinstance(message_id, int):
                        if ws not in sockets or message_id <= sockets[ws]:
                            continue
                        sockets[ws] = message_id
                    await ws.send_json(out)
            except (ConnectionError, RuntimeError) as err:
                log.info("dropping a closed WebSocket of %s: %r", key, err)
                self.remove(key, ws)

    async def resync(self, replay: Replay) -> None:
        """After a bus outage: each socket gets the messages stored after its last one."""
        for key, sockets in list(self._sockets.items()):
            if sockets:
                await self._deliver(key, await replay(key, min(sockets.values())))

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
        rate_per_address: int = 120,
        rate_per_conversation: int = 20,
        max_sockets: int = 5,
    ) -> None:
        self.gateway = gateway
        self.hub = hub
        self.max_message_chars = max_message_chars
        self.max_frame_bytes = max_frame_bytes
        # Sites embedding the widget (GATEWAY_CORS_ORIGINS); the gateway's own origins
        # are read from the settings by ``same_origin``.
        self.allowed_origins = allowed_origins
        self.per_address = hub.bus.rate_limiter("address", rate_per_address)
        self.per_conversation = hub.bus.rate_limiter("conversation", rate_per_conversation)
        self.max_sockets = max_sockets
        self._leaving: set[asyncio.Task[None]] = set()  # "the person left" being told

    @classmethod
    def from_settings(cls, settings: Settings, gateway: Gateway, hub: Hub) -> WebChannel:
        return cls(
            gateway,
            hub,
            max_message_chars=settings.max_message_chars,
            max_frame_bytes=settings.max_body_bytes,
            allowed_origins=settings.cors_origins,
            rate_per_address=settings.rate_per_address,
            rate_per_conversation=settings.rate_per_conversation,
            max_sockets=settings.max_sockets_per_conversation,
        )

    @property
    def store(self) -> Store:
        return self.gateway.store

    # --- who is who -------------------------------------------------------------------

    @staticmethod
    async def identity(request: web.Request) -> WebIdentity:
        """An agent when a same-origin request carries a console session, else a citizen."""
        if not same_origin(request):
            return CITIZEN
        session = await current_session(request)
        if session is None or str(session.user.role) not in AGENT_ROLES:
            return CITIZEN
        return WebIdentity(Role.AGENT, session.user.username)

    async def authorize(self, key: str | None, sender: str | None, identity: WebIdentity) -> str:
        """The sender ``key`` opens; ``sender``, when given, must be that one, and a
        conversation tied to an account needs that account's session too."""
        if not key:
            raise ApiError(
                401,
                "conversation_key_required",
                f"Clé de conversation requise (en-tête {KEY_HEADER}).",
            )
        issued = None
        if len(key) <= MAX_KEY_CHARS and key.isascii() and key.isprintable():
            issued = await asyncio.to_thread(self.store.issued_key, key)
        if issued is None or (sender is not None and issued.sender != sender):
            raise ApiError(
                403,
                "invalid_conversation_key",
                "Clé de conversation invalide pour cette conversation.",
            )
        if issued.owner_login is not None and identity.login != issued.owner_login:
            raise ApiError(
                403,
                "not_your_conversation",
                "Cette conversation est celle d'un autre compte : connectez-vous avec le vôtre.",
            )
        return issued.sender

    async def conversation_of(self, request: web.Request, sender: Any = None) -> str:
        """The sender of a request that must hold its conversation's key (history, erase,
        feedback): 401 / 403 otherwise."""
        await self.limit_address(request)
        identity = await self.identity(request)
        return await self.authorize(
            request.headers.get(KEY_HEADER), optional_sender(sender), identity
        )

    async def limit_address(self, request: web.Request) -> None:
        await self.per_address.check(request.remote or "?", BY_ADDRESS)

    def _incoming(self, sender: str, fields: dict[str, Any], identity: WebIdentity) -> Incoming:
        metadata = fields["metadata"]
        return Incoming(
            channel=NAME,
            chat_id=sender,
            user_id=identity.login,
            text=fields["message"],
            role=identity.role,
            locale=_locale(metadata),
            client_metadata=metadata,
            client_id=fields["client_id"],
        )

    async def _echo(self, sender: str, stored: Reply) -> None:
        """The user's stored message to every screen of the sender (with its client_id)."""
        if stored.client_id:
            await self.hub.publish(key_of(sender), [frame(stored, sender)])

    # --- endpoints --------------------------------------------------------------------

    async def issue(self, request: web.Request) -> web.Response:
        """``POST /webhooks/web/conversations``: a new conversation and its key."""
        await self.limit_address(request)
        body = await read_json_object(request, empty={})
        agent = body.get("agent", False)
        if not isinstance(agent, bool):
            raise bad_request("invalid_agent", "« agent » doit valoir true ou false.")
        owner = None
        if agent:
            identity = await self.identity(request)
            if identity.login is None:
                raise ApiError(401, "login_required", "Connectez-vous avec votre compte d'agent.")
            owner = identity.login
            sender = await asyncio.to_thread(self.store.sender_of_account, owner)
            sender = sender or f"agent-{secrets.token_urlsafe(16)}"
        else:
            sender = secrets.token_urlsafe(16)
        key = secrets.token_urlsafe(32)
        await asyncio.to_thread(self.store.add_key, sender, key, owner)
        return web.json_response(
            {"sender": sender, "key": key},
            status=201,
            headers={"Cache-Control": "no-store"},
        )

    async def rest(self, request: web.Request) -> web.Response:
        """``POST /webhooks/rest/webhook``."""
        await self.limit_address(request)
        fields = parse_message(await read_json_object(request), self.max_message_chars)
        sender = fields["sender"]
        identity = await self.identity(request)
        key = request.headers.get(KEY_HEADER)
        if key is not None:
            await self.authorize(key, sender, identity)
        elif await asyncio.to_thread(self.store.has_keys, sender):
            await self.authorize(None, sender, identity)  # 401: this one has a key
        await self.per_conversation.check(sender, BY_CONVERSATION)
        replies = await self.gateway.handle(
            self._incoming(sender, fields, identity),
            echo=lambda stored: self._echo(sender, stored),
            answered=lambda answers: self.send(sender, answers),
        )
        return web.json_response([r.as_rest(sender) for r in replies])

    async def history(self, request: web.Request) -> web.Response:
        """``GET /webhooks/rest/history?sender=<id>&after=<n>`` (key in the header)."""
        after = parse_after(request.query.get("after")) or 0
        sender = await self.conversation_of(request, request.query.get("sender"))
        key = key_of(sender)
        stored = await asyncio.to_thread(self.gateway.store.messages, key, after)
        return web.json_response(
            {
                "messages": [frame(m.reply(), sender) for m in stored],
                "state": await self.gateway.state(key),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def forget(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/rest/conversation?sender=<id>``: "Effacer la conversation"."""
        sender = await self.conversation_of(request, request.query.get("sender"))
        await self.gateway.forget(key_of(sender))
        await self.send_state(sender, await self.gateway.state(key_of(sender)))
        await asyncio.to_thread(self.store.delete_keys, sender)
        return web.Response(status=204)

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is not None and origin_in(origin, self.allowed_origins):
            return True
        return same_origin(request)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /webhooks/websocket?sender=<id>&after=<n>``, then ``{"type": "auth"}``."""
        if not self._origin_allowed(request):
            raise ApiError(403, "origin_not_allowed", "Origine non autorisée.")
        await self.limit_address(request)
        sender = optional_sender(request.query.get("sender"))
        after = parse_after(request.query.get("after"))
        identity = await self.identity(request)
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=self.max_frame_bytes)
        await ws.prepare(request)
        key: str | None = None
        try:
            sender = await self._authenticate(ws, sender, identity)
            if sender is None:
                return ws
            key = key_of(sender)
            # Under the conversation's lock nothing new is stored meanwhile: the replay and
            # the live frames that follow are in id order, with no gap.
            if not await self._follow(ws, key, sender, after):
                key = None
                return ws
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await _send_error(
                            ws, bad_request("invalid_frame", "Trames texte uniquement.")
                        )
                    continue
                await self._on_frame(ws, request, sender, identity, msg.data)
        except (TimeoutError, ConnectionError, RuntimeError) as err:
            log.info("WebSocket of %s ended: %r", key or sender, err)
        finally:
            if key is not None:
                self.hub.remove(key, ws)
                if not self.hub.connected(key):
                    # A task: the handler of a closed connection may be cancelled here.
                    task = asyncio.create_task(self.gateway.person_left(key))
                    self._leaving.add(task)
                    task.add_done_callback(self._leaving.discard)
            if not ws.closed:
                await ws.close()
        return ws

    async def _follow(
        self, ws: web.WebSocketResponse, key: str, sender: str, after: int | None
    ) -> bool:
        """Replay what came after ``after``, then follow ``key`` live; False: refused.

        Under the conversation's lock (across replicas) nothing new is stored meanwhile:
        the socket is added with the last id replayed, so that the live frames that follow
        (the hub drops those it already replayed) come in id order, with no gap.
        """
        try:
            async with self.gateway.lock(key):
                if self.hub.connected(key) >= self.max_sockets:
                    await _refuse(
                        ws,
                        ApiError(
                            429,
                            "too_many_connections",
                            f"Trop de connexions ouvertes pour cette conversation "
                            f"(au plus {self.max_sockets}). Fermez un onglet.",
                        ),
                        CLOSE_TOO_MANY,
                    )
                    return False
                last = after or 0
                if after is not None:
                    await ws.send_json({"type": "state", **await self.gateway.state(key)})
                    stored = await asyncio.to_thread(self.gateway.store.messages, key, after)
                    for message in stored:
                        await ws.send_json(frame(message.reply(), sender))
                        last = max(last, message.id)
                self.hub.add(key, ws, last)
                return True
        except BusUnavailable as err:  # the widget reconnects with a backoff
            await _refuse(ws, err, CLOSE_TRY_AGAIN)
            return False

    async def replay(self, key: str, after: int) -> list[dict[str, Any]]:
        """The frames of the messages of ``key`` stored after ``after`` (``Hub.resync``)."""
        sender = key.removeprefix(f"{NAME}:")
        stored = await asyncio.to_thread(self.gateway.store.messages, key, after)
        return [frame(m.reply(), sender) for m in stored]

    async def _authenticate(
        self, ws: web.WebSocketResponse, sender: str | None, identity: WebIdentity
    ) -> str | None:
        """Wait for ``{"type": "auth", "key"}``; the sender it opens, or None (closed)."""
        try:
            msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
        except TimeoutError:
            msg = None
        try:
            if msg is None or msg.type != WSMsgType.TEXT:
                raise ApiError(
                    401,
                    "conversation_key_required",
                    'Première trame attendue : {"type": "auth", "key": "<clé>"}.',
                )
            body = parse_json_object(msg.data)
            if body.get("type") != "auth":
                raise ApiError(
                    401,
                    "conversation_key_required",
                    'Première trame attendue : {"type": "auth", "key": "<clé>"}.',
                )
            given = body.get("key")
            return await self.authorize(given if isinstance(given, str) else None, sender, identity)
        except ApiError as err:
            code = CLOSE_UNAUTHORIZED if err.status in (400, 401) else CLOSE_FORBIDDEN
            await _refuse(ws, err, code)
            return None

    async def _on_frame(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        sender: str,
        identity: WebIdentity,
        data: str,
    ) -> None:
        try:
            body = parse_json_object(data)
            if body.get("type") == "typing":
                await self.gateway.typing(key_of(sender))  # throttled by the handoff
                return
            await self.limit_address(request)
            fields = parse_message(body, self.max_message_chars, sender_required=False)
            await self.per_conversation.check(sender, BY_CONVERSATION)
        except ApiError as err:
            await _send_error(ws, err)
            return
        try:
            await self.gateway.handle(
                self._incoming(sender, fields, identity),
                echo=lambda stored: self._echo(sender, stored),
                answered=lambda answers: self.send(sender, answers),
            )
        except BusUnavailable as err:  # not stored: the widget sends it again (client_id)
            await _send_error(ws, err, fields["client_id"])
        except Exception:  # keep the socket open: the next message may work
            log.exception("error while handling a WebSocket message of %s", key_of(sender))
            await _send_error(
                ws, ApiError(500, "internal_error", "Erreur interne, veuillez réessayer.")
            )

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Push answers written outside a request (e.g. by a mediator)."""
        await self.hub.publish(key_of(chat_id), [frame(r, chat_id) for r in replies])

    async def send_state(self, chat_id: str, state: dict[str, Any]) -> None:
        """Push a change of owner or queue position."""
        await self.hub.publish(key_of(chat_id), [{"type": "state", **state}])

    async def send_typing(self, chat_id: str, mediator: str) -> None:
        """Push that the mediator is writing (``{"type": "typing", "mediator"}``)."""
        await self.hub.publish(key_of(chat_id), [{"type": "typing", "mediator": mediator}])


async def _refuse(ws: web.WebSocketResponse, err: ApiError, code: int) -> None:
    """An error frame, then close the socket with an application close code."""
    try:
        await _send_error(ws, err)
        await ws.close(code=code, message=err.code.encode())
    except (ConnectionError, RuntimeError):
        pass


async def _send_error(
    ws: web.WebSocketResponse, err: ApiError, client_id: str | None = None
) -> None:
    """An error frame; with the ``client_id`` of the message it refuses, if any."""
    body: dict[str, Any] = {"type": "error", "error": err.error, "code": err.code}
    if "Retry-After" in err.headers:
        body["retry_after"] = int(err.headers["Retry-After"])
    if client_id is not None:
        body["client_id"] = client_id
    await ws.send_json(body)


# -- wiring (integrations/app.py calls setup) -----------------------------------------


async def web_ctx(app: web.Application) -> AsyncIterator[None]:
    """The channel, once the gateway exists (after ``http_ctx``)."""
    channel = WebChannel.from_settings(app[keys.SETTINGS], app[keys.GATEWAY], app[keys.HUB])
    app[keys.GATEWAY].register(channel)
    app[keys.WEB] = channel
    app[keys.BUS].on_reconnect.append(lambda: channel.hub.resync(channel.replay))
    app[keys.CHANNELS][NAME] = channel
    yield


async def _close_websockets(app: web.Application) -> None:
    await app[keys.HUB].close_all()


async def _issue(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].issue(request)


async def _rest(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].rest(request)


async def _socket(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].websocket(request)


async def _history(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].history(request)


async def _forget(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].forget(request)


def setup(app: web.Application) -> None:
    """The web channel's routes, WebSocket hub and context."""
    app[keys.CHANNELS][NAME] = None
    app[keys.HUB] = Hub(app[keys.BUS])
    app.cleanup_ctx.append(web_ctx)
    app.on_shutdown.append(_close_websockets)
    app.router.add_post("/webhooks/web/conversations", _issue)
    app.router.add_post("/webhooks/rest/webhook", _rest)
    app.router.add_get("/webhooks/websocket", _socket)
    app.router.add_get("/webhooks/rest/history", _history)
    app.router.add_delete("/webhooks/rest/conversation", _forget)
