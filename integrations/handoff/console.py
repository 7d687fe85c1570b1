"""The mediator console: queue, conversation pages, actions, and its live WebSocket.

Pages are server-rendered (``integrations.console.render``); ``mediator.js`` adds the
live part: new waiting conversations signalled (title, sound, notification), messages
as they come, and sending without reloading. Every action also works as a plain form.

State-changing requests carry the session's CSRF token: the form field ``csrf``, or the
``X-CSRF-Token`` header for JSON, or the ``csrf`` query parameter of the WebSocket.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web

from common.db import as_utc
from integrations import keys
from integrations.console.auth import StaffRole, StaffUser, check_csrf, require_api, require_page
from integrations.console.pages import render
from integrations.errors import ApiError, bad_request, parse_json_object, read_json_object
from integrations.handoff import texts
from integrations.handoff.relay import ConsoleSocket, message_frame
from integrations.handoff.service import queue_frame
from integrations.handoff.store import Mediator
from integrations.keys import CANNED, CONSOLES, HANDOFF
from integrations.messages import utcnow

log = logging.getLogger(__name__)

TRANSCRIPT_PREVIEW = 8
# Conversations with the bot shown for a proactive take: those active this recently.
_RECENT = timedelta(minutes=30)


def mediator_of(user: StaffUser) -> Mediator:
    return Mediator(id=user.id, name=user.display_name, admin=user.role is StaffRole.ADMIN)


def since(moment: datetime | None) -> str:
    """``il y a 4 min`` — how long ago, in French."""
    if moment is None:
        return ""
    seconds = max(0, int((utcnow() - as_utc(moment)).total_seconds()))
    if seconds < 60:
        return "il y a moins d'une minute"
    if seconds < 3600:
        return f"il y a {seconds // 60} min"
    hours, minutes = divmod(seconds // 60, 60)
    if hours < 24:
        return f"il y a {hours} h {minutes:02d}"
    return f"il y a {hours // 24} j"


def _helpers() -> dict[str, Any]:
    return {
        "since": since,
        "reasons": texts.REASONS,
        "channels": texts.CHANNELS,
        "owners": texts.OWNERS,
    }


def _conversation_id(request: web.Request) -> int:
    try:
        return int(request.match_info["conversation_id"])
    except ValueError as err:
        raise ApiError(404, "not_found", "Conversation introuvable.") from err


async def _fields(request: web.Request) -> dict[str, Any]:
    """The posted fields, after the CSRF check (form field or X-CSRF-Token header)."""
    if request.content_type == "application/json":
        body = await read_json_object(request)
        await check_csrf(request, request.headers.get("X-CSRF-Token"))
        return body
    form = await request.post()
    await check_csrf(request, str(form.get("csrf") or ""))
    return {k: str(v) for k, v in form.items()}


async def _acting(request: web.Request) -> tuple[Mediator, dict[str, Any]]:
    """Who acts (logged in: 401 / 403 JSON otherwise) and the posted fields."""
    user = await require_api(request)
    return mediator_of(user), await _fields(request)


def _text(fields: dict[str, Any]) -> str:
    text = fields.get("text")
    if not isinstance(text, str):
        raise bad_request("missing_text", "Le champ « text » est obligatoire.")
    return text


def _done(request: web.Request, location: str) -> web.Response:
    """JSON callers get ``{"ok": true}``; forms go back to the page."""
    if request.content_type == "application/json":
        return web.json_response({"ok": True})
    raise web.HTTPSeeOther(location)


# -- pages ------------------------------------------------------------------------------


async def _lists(request: web.Request) -> dict[str, Any]:
    store = request.app[HANDOFF].store
    messages_of = request.app[keys.STORE].messages_of
    waiting, leaving, active, with_bot, tickets = await asyncio.gather(
        asyncio.to_thread(store.queue),
        asyncio.to_thread(store.leaving_message),
        asyncio.to_thread(store.with_mediators),
        asyncio.to_thread(store.with_bot, _RECENT),
        asyncio.to_thread(store.tickets),
    )
    transcripts = {}
    for info in waiting:
        transcripts[info.id] = (await asyncio.to_thread(messages_of, info.id))[-TRANSCRIPT_PREVIEW:]
    return {
        "waiting": waiting,
        "leaving": leaving,
        "active": active,
        "with_bot": with_bot,
        "tickets": tickets,
        "transcripts": transcripts,
        "online": request.app[CONSOLES].online(),
        "availability": request.app[HANDOFF].availability(),
        **_helpers(),
    }


async def queue_page(request: web.Request) -> web.Response:
    """``GET /console/``: waiting conversations first, then live ones and tickets."""
    await require_page(request)
    return render(request, "mediator_queue.html", **await _lists(request))


async def queue_fragment(request: web.Request) -> web.Response:
    """``GET /console/queue``: the lists alone, for the page's live refresh."""
    await require_page(request)
    return render(request, "mediator_queue_lists.html", **await _lists(request))


async def closed_page(request: web.Request) -> web.Response:
    """``GET /console/closed?q=``: conversations whose handoff is over, searchable."""
    await require_page(request)
    search = request.query.get("q", "")[:200]
    found = await asyncio.to_thread(request.app[HANDOFF].store.ended, search)
    return render(request, "mediator_closed.html", found=found, search=search, **_helpers())


async def conversation_page(request: web.Request, error: str | None = None) -> web.Response:
    """``GET /console/conversations/{id}``: transcript, live chat, notes, actions."""
    user = await require_page(request)
    service = request.app[HANDOFF]
    try:
        info = await service.conversation(_conversation_id(request))
    except ApiError as err:
        if err.status != 404:
            raise
        # Deleted by the person, purged by retention, or a wrong address.
        return render(request, "mediator_missing.html", status=404)
    messages = await asyncio.to_thread(request.app[keys.STORE].messages_of, info.id)
    notes = await asyncio.to_thread(service.store.notes, info.id)
    handoff = info.handoff
    mine = (
        info.owner.value == "mediator"
        and handoff is not None
        and (handoff.mediator_id == user.id or user.role is StaffRole.ADMIN)
    )
    return render(
        request,
        "mediator_conversation.html",
        status=409 if error else 200,
        info=info,
        handoff=handoff,
        messages=messages,
        notes=notes,
        mine=mine,
        canned=request.app[CANNED].all(),
        last_id=messages[-1].id if messages else 0,
        error=error,
        **_helpers(),
    )


# -- actions ----------------------------------------------------------------------------


async def take(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    conversation_id = _conversation_id(request)
    try:
        await request.app[HANDOFF].take(conversation_id, mediator)
    except ApiError as err:
        if err.status == 409 and request.content_type != "application/json":
            return await conversation_page(request, error=err.error)
        raise
    return _done(request, f"/console/conversations/{conversation_id}")


async def hand_back(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    conversation_id = _conversation_id(request)
    await request.app[HANDOFF].hand_back(conversation_id, mediator)
    return _done(request, f"/console/conversations/{conversation_id}")


async def close(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    conversation_id = _conversation_id(request)
    await request.app[HANDOFF].close(conversation_id, mediator)
    return _done(request, f"/console/conversations/{conversation_id}")


async def post_message(request: web.Request) -> web.Response:
    """A mediator's message without JavaScript (the page normally sends it over the socket)."""
    mediator, fields = await _acting(request)
    conversation_id = _conversation_id(request)
    await request.app[HANDOFF].send(conversation_id, mediator, _text(fields))
    return _done(request, f"/console/conversations/{conversation_id}")


async def add_note(request: web.Request) -> web.Response:
    mediator, fields = await _acting(request)
    conversation_id = _conversation_id(request)
    await request.app[HANDOFF].add_note(conversation_id, mediator, _text(fields))
    return _done(request, f"/console/conversations/{conversation_id}#notes")


async def ticket_done(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    try:
        ticket_id = int(request.match_info["ticket_id"])
    except ValueError as err:
        raise ApiError(404, "not_found", "Demande de rappel introuvable.") from err
    await request.app[HANDOFF].close_ticket(ticket_id, mediator)
    return _done(request, "/console/#tickets")


# -- live socket ------------------------------------------------------------------------


async def console_socket(request: web.Request) -> web.WebSocketResponse:
    """``GET /console/ws?csrf=<token>``: same origin, logged in, with the session's token.

    Client frames: ``{"action": "watch", "conversation_id", "after"}`` (replays the
    messages after ``after``, then live ones) and ``{"action": "send", "conversation_id",
    "text", "client_id"?}``. Server frames: ``queue``, ``tickets``, ``message``,
    ``conversation`` (owner changed) and ``error``.
    """
    user = await require_api(request)
    await check_csrf(request, request.query.get("csrf"))
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    service = request.app[HANDOFF]
    hub = request.app[CONSOLES]
    socket = ConsoleSocket(ws, user.id)
    hub.add(socket)
    try:
        waiting = await asyncio.to_thread(service.store.queue)
        active = await asyncio.to_thread(service.store.with_mediators)
        await ws.send_json(queue_frame(waiting, active))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                await _on_console_frame(request, socket, user, msg.data)
            except ApiError as err:
                await ws.send_json({"type": "error", "error": err.error, "code": err.code})
    finally:
        hub.remove(socket)
    return ws


async def _on_console_frame(
    request: web.Request, socket: ConsoleSocket, user: StaffUser, data: str
) -> None:
    body = parse_json_object(data)
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, int):
        raise bad_request("invalid_conversation", "« conversation_id » doit être un entier.")
    service = request.app[HANDOFF]
    action = body.get("action")
    if action == "watch":
        after = body.get("after", 0)
        if not isinstance(after, int) or after < 0:
            raise bad_request("invalid_after", "« after » doit être un entier positif ou nul.")
        info = await service.conversation(conversation_id)
        # Under the conversation's lock nothing is stored meanwhile: no gap, no disorder.
        async with service.gateway.lock(info.key):
            socket.watching.add(conversation_id)
            stored = await asyncio.to_thread(
                request.app[keys.STORE].messages_of, conversation_id, after
            )
            for message in stored:
                await socket.ws.send_json(
                    message_frame(conversation_id, info.chat_id, message.reply())
                )
    elif action == "send":
        text = _text(body)
        client_id = body.get("client_id")
        if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 64):
            raise bad_request("invalid_client_id", "« client_id » invalide.")
        await service.send(conversation_id, mediator_of(user), text, client_id)
    else:
        raise bad_request("unknown_action", "Action inconnue (watch ou send).")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/console/", queue_page)
    app.router.add_get("/console/queue", queue_fragment)
    app.router.add_get("/console/closed", closed_page)
    app.router.add_get("/console/ws", console_socket)
    app.router.add_get("/console/conversations/{conversation_id}", conversation_page)
    app.router.add_post("/console/conversations/{conversation_id}/take", take)
    app.router.add_post("/console/conversations/{conversation_id}/handback", hand_back)
    app.router.add_post("/console/conversations/{conversation_id}/close", close)
    app.router.add_post("/console/conversations/{conversation_id}/messages", post_message)
    app.router.add_post("/console/conversations/{conversation_id}/notes", add_note)
    app.router.add_post("/console/tickets/{ticket_id}/done", ticket_done)
