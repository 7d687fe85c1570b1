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
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

from common.db import as_utc
from integrations import keys
from integrations.console.auth import StaffRole, StaffUser, check_csrf, require_api, require_page
from integrations.console.pages import render
from integrations.errors import (
    ApiError,
    bad_request,
    bounded_int,
    parse_json_object,
    read_json_object,
)
from integrations.handoff import texts
from integrations.handoff.relay import ConsoleSocket, message_frame, presence_frame
from integrations.handoff.service import queue_frame
from integrations.handoff.store import ConversationInfo, Mediator
from integrations.handoff.transcript import Summary, labels, summary
from integrations.keys import CANNED, CONSOLES, HANDOFF
from integrations.messages import utcnow
from integrations.store import StoredMessage
from integrations.widget.config import load_council

log = logging.getLogger(__name__)

TRANSCRIPT_PREVIEW = 8
PARIS = ZoneInfo("Europe/Paris")
# Conversations with the bot shown for a proactive take: those active this recently.
_RECENT = timedelta(minutes=30)
# People offered to leave a message this recently count as "leaving a message".
_LEAVING = timedelta(minutes=30)
# What the page says after an action (``?done=``), and the control that gets the focus.
DONE = {
    "taken": ("Vous avez pris la conversation en charge : écrivez à la personne.", "chat-text"),
    "handed_back": ("La conversation est rendue à l'assistant.", "done"),
    "closed": ("La conversation est terminée.", "done"),
    "unanswered": (
        "La demande quitte la file : la personne peut laisser un message ou appeler.",
        "done",
    ),
    "transferred": ("La conversation est transmise.", "done"),
    "noted": ("Note enregistrée.", "note-text"),
    "sent": ("Message envoyé.", "chat-text"),
    "ticket_done": ("Demande de rappel marquée comme traitée.", "done"),
}
WHO = {"user": "Personne", "bot": "Assistant", "mediator": "Médiateur", "system": "Info"}


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


def clock(moment: datetime | None) -> str:
    """``14:05`` (Paris time), or ``24/11 14:05`` for another day."""
    if moment is None:
        return ""
    local = as_utc(moment).astimezone(PARIS)
    if local.date() == utcnow().astimezone(PARIS).date():
        return local.strftime("%H:%M")
    return local.strftime("%d/%m %H:%M")


def author_of(message: StoredMessage) -> str:
    """Who wrote it, as the console labels it: a mediator by their first name."""
    if message.author.value == "mediator":
        name = ((message.payload or {}).get("custom") or {}).get("mediator")
        if isinstance(name, str) and name:
            return name
    return WHO[message.author.value]


def _helpers() -> dict[str, Any]:
    return {
        "since": since,
        "clock": clock,
        "iso": lambda moment: as_utc(moment).isoformat() if moment else "",
        "author_of": author_of,
        "reasons": texts.REASONS,
        "channels": texts.CHANNELS,
        "owners": texts.OWNERS,
        "outcomes": texts.OUTCOMES,
    }


def _done_message(request: web.Request) -> tuple[str | None, str | None]:
    """The sentence and the control to focus after the action named by ``?done=``."""
    return DONE.get(request.query.get("done", ""), (None, None))


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


def _done(request: web.Request, location: str, done: str) -> web.Response:
    """JSON callers get ``{"ok": true}``; forms go back to the page, which says what was
    done and puts the focus where the mediator goes next (``DONE``)."""
    if request.content_type == "application/json":
        return web.json_response({"ok": True})
    path, _, fragment = location.partition("#")
    raise web.HTTPSeeOther(f"{path}?done={done}" + (f"#{fragment}" if fragment else ""))


# -- pages ------------------------------------------------------------------------------


async def _described(
    request: web.Request, infos: list[ConversationInfo]
) -> tuple[dict[int, Summary], dict[int, list[StoredMessage]], dict[int, dict[int, str]]]:
    """Each conversation's summary (topic, commune), last messages and button words."""
    messages_of = request.app[keys.STORE].messages_of
    summaries: dict[int, Summary] = {}
    previews: dict[int, list[StoredMessage]] = {}
    shown: dict[int, dict[int, str]] = {}
    for info in infos:
        if info.id in summaries:
            continue
        messages = await asyncio.to_thread(messages_of, info.id)
        summaries[info.id] = summary(messages)
        previews[info.id] = messages[-TRANSCRIPT_PREVIEW:]
        shown[info.id] = labels(messages)
    return summaries, previews, shown


async def _lists(request: web.Request) -> dict[str, Any]:
    store = request.app[HANDOFF].store
    hub = request.app[CONSOLES]
    waiting, leaving, active, with_bot, tickets, holders = await asyncio.gather(
        asyncio.to_thread(store.queue),
        asyncio.to_thread(store.leaving_message, _LEAVING),
        asyncio.to_thread(store.with_mediators),
        asyncio.to_thread(store.with_bot, _RECENT),
        asyncio.to_thread(store.tickets),
        asyncio.to_thread(store.holders),
    )
    summaries, transcripts, shown = await _described(request, waiting + active + with_bot)
    online = [
        {"id": user_id, "name": name, "holds": holders.get(user_id, 0)}
        for user_id, name in hub.online_users().items()
    ]
    return {
        "waiting": waiting,
        "leaving": leaving,
        "active": active,
        "with_bot": with_bot,
        "tickets": tickets,
        "transcripts": transcripts,
        "summaries": summaries,
        "shown": shown,
        "online": online,
        "availability": request.app[HANDOFF].availability(),
        **_helpers(),
    }


async def queue_page(request: web.Request) -> web.Response:
    """``GET /console/``: waiting conversations first, then live ones and tickets."""
    await require_page(request)
    done, focus = _done_message(request)
    return render(request, "mediator_queue.html", done=done, focus=focus, **await _lists(request))


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


async def tickets_page(request: web.Request) -> web.Response:
    """``GET /console/tickets``: messages left to call back, and who handled which, when."""
    await require_page(request)
    store = request.app[HANDOFF].store
    open_, handled = await asyncio.gather(
        asyncio.to_thread(store.tickets),
        asyncio.to_thread(store.tickets, "done"),
    )
    done, focus = _done_message(request)
    return render(
        request,
        "mediator_tickets.html",
        tickets=open_,
        handled=handled,
        done=done,
        focus=focus,
        **_helpers(),
    )


async def conversation_page(
    request: web.Request, error: str | None = None, confirm_close: bool = False
) -> web.Response:
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
    council = await asyncio.to_thread(load_council)
    handoff = info.handoff
    mine = (
        info.owner.value == "mediator"
        and handoff is not None
        and (handoff.mediator_id == user.id or user.role is StaffRole.ADMIN)
    )
    holder = handoff.mediator_id if handoff is not None and mine else None
    colleagues = [
        {"id": user_id, "name": name}
        for user_id, name in request.app[CONSOLES].online_users().items()
        if user_id not in (user.id, holder)
    ]
    done, focus = (None, None) if error or confirm_close else _done_message(request)
    return render(
        request,
        "mediator_conversation.html",
        status=409 if error else 200,
        info=info,
        handoff=handoff,
        messages=messages,
        shown=labels(messages),
        about=summary(messages),
        notes=notes,
        mine=mine,
        colleagues=colleagues,
        canned=[c.filled(user.display_name, council.phone) for c in request.app[CANNED].all()],
        last_id=messages[-1].id if messages else 0,
        error=error,
        confirm_close=confirm_close,
        done=done,
        focus=focus,
        who=WHO,
        **_helpers(),
    )


# -- actions ----------------------------------------------------------------------------


def _page(conversation_id: int) -> str:
    return f"/console/conversations/{conversation_id}"


async def _on_page_conflict(request: web.Request, err: ApiError) -> web.Response:
    """A form's 409: the conversation page again, saying why (JSON callers get the error)."""
    if err.status != 409 or request.content_type == "application/json":
        raise err
    if err.code == "confirmation_needed":
        return await conversation_page(request, confirm_close=True)
    return await conversation_page(request, error=err.error)


async def take(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    conversation_id = _conversation_id(request)
    try:
        await request.app[HANDOFF].take(conversation_id, mediator)
    except ApiError as err:
        return await _on_page_conflict(request, err)
    return _done(request, _page(conversation_id), "taken")


async def hand_back(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    conversation_id = _conversation_id(request)
    try:
        await request.app[HANDOFF].hand_back(conversation_id, mediator)
    except ApiError as err:
        return await _on_page_conflict(request, err)
    return _done(request, _page(conversation_id), "handed_back")


async def close(request: web.Request) -> web.Response:
    """Close; a conversation nobody joined needs ``confirm`` (else the page asks)."""
    mediator, fields = await _acting(request)
    conversation_id = _conversation_id(request)
    service = request.app[HANDOFF]
    waiting = (await service.conversation(conversation_id)).owner.value == "waiting"
    confirmed = fields.get("confirm") in (True, "1", "true", "oui")
    try:
        await service.close(conversation_id, mediator, confirmed=confirmed)
    except ApiError as err:
        return await _on_page_conflict(request, err)
    return _done(request, _page(conversation_id), "unanswered" if waiting else "closed")


async def transfer(request: web.Request) -> web.Response:
    """Give the conversation to another online mediator, with a note for them."""
    mediator, fields = await _acting(request)
    conversation_id = _conversation_id(request)
    try:
        to_id = int(fields.get("to") or "")
    except (TypeError, ValueError) as err:
        raise bad_request(
            "invalid_mediator", "Choisissez le médiateur à qui la transmettre."
        ) from err
    note = fields.get("note") or ""
    if not isinstance(note, str):
        raise bad_request("invalid_note", "« note » doit être un texte.")
    try:
        await request.app[HANDOFF].transfer(conversation_id, mediator, to_id, note)
    except ApiError as err:
        return await _on_page_conflict(request, err)
    return _done(request, _page(conversation_id), "transferred")


async def post_message(request: web.Request) -> web.Response:
    """A mediator's message without JavaScript (the page normally sends it over the socket)."""
    mediator, fields = await _acting(request)
    conversation_id = _conversation_id(request)
    try:
        await request.app[HANDOFF].send(conversation_id, mediator, _text(fields))
    except ApiError as err:
        return await _on_page_conflict(request, err)
    return _done(request, _page(conversation_id), "sent")


async def add_note(request: web.Request) -> web.Response:
    mediator, fields = await _acting(request)
    conversation_id = _conversation_id(request)
    await request.app[HANDOFF].add_note(conversation_id, mediator, _text(fields))
    return _done(request, _page(conversation_id) + "#notes", "noted")


async def ticket_done(request: web.Request) -> web.Response:
    mediator, _ = await _acting(request)
    try:
        ticket_id = int(request.match_info["ticket_id"])
    except ValueError as err:
        raise ApiError(404, "not_found", "Demande de rappel introuvable.") from err
    await request.app[HANDOFF].close_ticket(ticket_id, mediator)
    return _done(request, "/console/tickets", "ticket_done")


# -- live socket ------------------------------------------------------------------------


async def console_socket(request: web.Request) -> web.WebSocketResponse:
    """``GET /console/ws?csrf=<token>``: same origin, logged in, with the session's token.

    Client frames: ``{"action": "watch", "conversation_id", "after"}`` (replays the
    messages after ``after``, then live ones), ``{"action": "send", "conversation_id",
    "text", "client_id"?}`` and ``{"action": "typing", "conversation_id"}``. Server
    frames: ``queue``, ``presence`` (who is online), ``tickets``, ``message`` (with
    ``label``: a button's words), ``conversation`` (owner or mediator changed),
    ``typing`` (the person writes), ``person_left`` (their last screen closed),
    ``requeued`` (a departed mediator's conversations are back in the queue),
    ``transferred`` (to this mediator) and ``error``.
    """
    user = await require_api(request)
    await check_csrf(request, request.query.get("csrf"))
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    hub = request.app[CONSOLES]
    socket = ConsoleSocket(ws, user.id, user.display_name)
    hub.add(socket)
    try:
        for frame in await greeting(request.app):
            await ws.send_json(frame)
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
    conversation_id = bounded_int(body.get("conversation_id"), "conversation_id", minimum=1)
    service = request.app[HANDOFF]
    action = body.get("action")
    if action == "watch":
        after = bounded_int(body.get("after", 0), "after")
        info = await service.conversation(conversation_id)
        # Under the conversation's lock (across replicas) nothing is stored meanwhile; the
        # socket then watches from the last id replayed: no gap, no disorder, no double.
        async with service.gateway.lock(info.key):
            frames = await replay(request.app, conversation_id, after)
            for frame in frames:
                await socket.ws.send_json(frame)
            request.app[CONSOLES].watch(
                socket, conversation_id, max([after] + [f["id"] for f in frames])
            )
    elif action == "send":
        text = _text(body)
        client_id = body.get("client_id")
        if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 64):
            raise bad_request("invalid_client_id", "« client_id » invalide.")
        await service.send(conversation_id, mediator_of(user), text, client_id)
    elif action == "typing":
        await service.mediator_typing(conversation_id, mediator_of(user))
    else:
        raise bad_request("unknown_action", "Action inconnue (watch, send ou typing).")


async def greeting(app: web.Application) -> list[dict[str, Any]]:
    """What a console is sent when its socket opens: the queue, who is online."""
    store = app[HANDOFF].store
    waiting = await asyncio.to_thread(store.queue)
    active = await asyncio.to_thread(store.with_mediators)
    return [queue_frame(waiting, active), presence_frame(app[CONSOLES])]


async def replay(app: web.Application, conversation_id: int, after: int) -> list[dict[str, Any]]:
    """The console frames of a conversation's messages stored after ``after``."""
    info = await app[HANDOFF].conversation(conversation_id)
    stored = await asyncio.to_thread(app[keys.STORE].messages_of, conversation_id)
    shown = labels(stored)
    return [
        message_frame(conversation_id, info.chat_id, message.reply(), shown.get(message.id))
        for message in stored
        if message.id > after
    ]


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/console/", queue_page)
    app.router.add_get("/console/queue", queue_fragment)
    app.router.add_get("/console/closed", closed_page)
    app.router.add_get("/console/tickets", tickets_page)
    app.router.add_get("/console/ws", console_socket)
    app.router.add_get("/console/conversations/{conversation_id}", conversation_page)
    app.router.add_post("/console/conversations/{conversation_id}/take", take)
    app.router.add_post("/console/conversations/{conversation_id}/handback", hand_back)
    app.router.add_post("/console/conversations/{conversation_id}/close", close)
    app.router.add_post("/console/conversations/{conversation_id}/transfer", transfer)
    app.router.add_post("/console/conversations/{conversation_id}/messages", post_message)
    app.router.add_post("/console/conversations/{conversation_id}/notes", add_note)
    app.router.add_post("/console/tickets/{ticket_id}/done", ticket_done)
