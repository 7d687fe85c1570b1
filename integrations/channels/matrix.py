"""Matrix channel (matrix-nio): a bot account that council agents talk to in rooms.

- Joins the rooms it is invited to, optionally only from ``MATRIX_ALLOWED_SERVERS`` /
  ``MATRIX_ALLOWED_USERS`` (invitations from others are declined, their messages ignored).
- Answers in the room (``m.notice``, plain body + HTML). Buttons become numbered choices;
  a reply "2" (or the choice's title) is sent to Rasa as the second choice's payload.
- Ignores its own messages, the history from before it started (first sync) and from
  before it joined a room; keeps its sync token in ``MATRIX_STORE_PATH`` across restarts.
- Syncs in a background task that reconnects with a growing ``asyncio.sleep`` after the
  homeserver goes away, and logs in again when its token is refused.
- An event that could not be taken in (the database down) is not skipped: the sync token
  is not moved past it, the same sync is done again after the pause, and the events of
  that batch already taken in are recognised by their id. After ``EVENT_ATTEMPTS``
  failures of one event it is given up, with an error in the log.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    RoomMemberEvent,
    RoomMessageText,
    SyncResponse,
)

from common.text import fold
from integrations import keys
from integrations.gateway import Gateway
from integrations.messages import LINK, Button, Incoming, Reply, Role
from integrations.settings import MatrixSettings
from integrations.store import Store
from integrations.tasks import background

log = logging.getLogger(__name__)

NAME = "matrix"
CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
CHOOSE_HINT = "Répondez par le numéro de votre choix."
EVENT_ATTEMPTS = 5
HANDLED_KEPT = 5000  # event ids remembered, for the batches synced again
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {"timeline": {"limit": 50}, "ephemeral": {"not_types": ["*"]}},
}


class MatrixUnavailable(Exception):
    """The homeserver refused or did not answer."""


def render(reply: Reply) -> dict[str, str]:
    """The ``m.notice`` content of ``reply``: plain body and HTML, buttons numbered."""
    body = [reply.plain_text()] if reply.text else []
    formatted = [_html(reply.text)] if reply.text else []
    if reply.buttons:
        body.append("\n".join(f"{i}. {b.title}" for i, b in enumerate(reply.buttons, 1)))
        body.append(CHOOSE_HINT)
        items = "".join(f"<li>{html.escape(b.title, quote=False)}</li>" for b in reply.buttons)
        formatted.append(f"<ol>{items}</ol>")
        formatted.append(f"<p>{CHOOSE_HINT}</p>")
    if reply.image:
        body.append(f"Image : {reply.image}")
        url = html.escape(reply.image, quote=True)
        formatted.append(f'<p><a href="{url}">Image</a></p>')
    return {
        "msgtype": "m.notice",
        "body": "\n\n".join(body),
        "format": "org.matrix.custom.html",
        "formatted_body": "".join(formatted),
    }


def _html(text: str) -> str:
    out: list[str] = []
    position = 0
    for match in LINK.finditer(text):
        out.append(html.escape(text[position : match.start()], quote=False))
        url = html.escape(match.group(2), quote=True)
        out.append(f'<a href="{url}">{html.escape(match.group(1), quote=False)}</a>')
        position = match.end()
    out.append(html.escape(text[position:], quote=False))
    paragraphs = "".join(out).split("\n\n")
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)


def choose(text: str, buttons: Sequence[Button]) -> str | None:
    """The payload meant by ``text`` ("2", "2.", or a title), if any."""
    match = CHOICE.match(text)
    if match:
        index = int(match.group(1))
        return buttons[index - 1].payload if 1 <= index <= len(buttons) else None
    wanted = fold(text.strip())
    for button in buttons:
        if fold(button.title) == wanted:
            return button.payload
    return None


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


class MatrixChannel:
    name = NAME

    def __init__(
        self, client: AsyncClient, gateway: Gateway, store: Store, settings: MatrixSettings
    ) -> None:
        self.client = client
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.state = "starting"
        self._token_file = settings.store_path / f"{_safe(settings.user_id)}.sync.json"
        self._next_batch: str | None = None
        self._logged_in = False
        self._token_refused = False
        # Rooms joined by this process, and the local time (ms) of the join: timeline
        # events before our own join event are history.
        self._joining: dict[str, int] = {}
        # Events taken in (or given up), and the failures of the others, by event id.
        self._handled: OrderedDict[str, None] = OrderedDict()
        self._failures: dict[str, int] = {}

    @classmethod
    def from_settings(
        cls, settings: MatrixSettings, gateway: Gateway, store: Store
    ) -> MatrixChannel:
        config = AsyncClientConfig(
            max_timeouts=1,
            max_timeout_retry_wait_time=2,
            request_timeout=settings.sync_timeout_ms / 1000 + 15,
            store_sync_tokens=False,
            encryption_enabled=False,
        )
        client = AsyncClient(
            settings.homeserver, settings.user_id, device_id=settings.device_id, config=config
        )
        return cls(client, gateway, store, settings)

    # -- life cycle -----------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._next_batch = self._load_token()
        try:
            async with background(self._sync_loop(), "matrix-sync"):
                yield
        finally:
            await self.client.close()
            self.state = "stopped"

    async def _login(self) -> None:
        """The configured access token, or the password once the token has been refused."""
        if self.settings.access_token and not self._token_refused:
            self.client.restore_login(
                self.settings.user_id, self.settings.device_id, self.settings.access_token
            )
        elif self.settings.password:
            response = await self.client.login(
                password=self.settings.password, device_name="Assistant du Département"
            )
            if not isinstance(response, LoginResponse):
                raise MatrixUnavailable(f"login refused: {response}")
        else:
            raise MatrixUnavailable("MATRIX_ACCESS_TOKEN refused and no MATRIX_PASSWORD set")
        self._logged_in = True

    async def _sync_loop(self) -> None:
        delay = 1.0
        while True:
            try:
                if not self._logged_in:
                    await self._login()
                await self._sync_once()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # homeserver gone, HTTP errors, odd answers
                self.state = "reconnecting"
                log.warning("Matrix sync failed (%s); retrying in %.0f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.max_backoff_s)
                continue
            if self.state != "ok":
                log.info("Matrix channel synced as %s", self.settings.user_id)
            self.state = "ok"
            delay = 1.0

    async def _sync_once(self) -> None:
        first = self._next_batch is None
        response = await self.client.sync(
            timeout=0 if first else self.settings.sync_timeout_ms,
            sync_filter=SYNC_FILTER,
            since=self._next_batch,
            full_state=first or None,
        )
        if isinstance(response, ErrorResponse):
            if response.status_code == "M_UNKNOWN_TOKEN":
                self._logged_in = False
                self._token_refused = True
            raise MatrixUnavailable(f"sync refused: {response}")
        assert isinstance(response, SyncResponse)
        await self._on_invites(response)
        if not first:  # the first sync is history: read past it
            await self._on_timelines(response)
        self._next_batch = response.next_batch
        self._save_token(response.next_batch)

    def _load_token(self) -> str | None:
        try:
            return json.loads(self._token_file.read_text())["next_batch"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as err:
            log.warning("ignoring unreadable %s: %r", self._token_file, err)
            return None

    def _save_token(self, token: str) -> None:
        self._token_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self._token_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"next_batch": token}))
        os.replace(temporary, self._token_file)

    # -- inbound --------------------------------------------------------------------

    def allowed(self, user_id: str) -> bool:
        servers, users = self.settings.allowed_servers, self.settings.allowed_users
        if not servers and not users:
            return True
        return user_id in users or server_of(user_id) in servers

    async def _on_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            inviter = next(
                (
                    event.sender
                    for event in info.invite_state
                    if isinstance(event, InviteMemberEvent)
                    and event.state_key == self.settings.user_id
                    and event.membership == "invite"
                ),
                None,
            )
            if inviter is None or not self.allowed(inviter):
                log.info("declining the invitation to %s from %s", room_id, inviter)
                refused = await self.client.room_leave(room_id)
                if isinstance(refused, ErrorResponse):
                    log.warning("could not decline %s: %s", room_id, refused)
                continue
            joined = await self.client.join(room_id)
            if isinstance(joined, JoinError | ErrorResponse):
                log.warning("could not join %s: %s", room_id, joined)
                continue
            log.info("joined %s, invited by %s", room_id, inviter)
            self._joining[room_id] = int(time.time() * 1000)

    async def _on_timelines(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            joined_at = self._joining.get(room_id)
            for event in info.timeline.events:
                if joined_at is not None:
                    if self._is_own_join(event) or event.server_timestamp >= joined_at:
                        self._joining.pop(room_id, None)
                        joined_at = None
                    if self._is_own_join(event) or joined_at is not None:
                        continue
                if not isinstance(event, RoomMessageText):
                    continue
                if event.sender == self.settings.user_id or not self.allowed(event.sender):
                    continue
                if event.event_id in self._handled:
                    continue
                try:
                    await self._on_message(room_id, event)
                except Exception as err:
                    failures = self._failures.get(event.event_id, 0) + 1
                    if failures < EVENT_ATTEMPTS:
                        self._failures[event.event_id] = failures
                        raise MatrixUnavailable(
                            f"event {event.event_id} in {room_id} not taken in: {err!r}"
                        ) from err
                    log.exception("giving up %s in %s", event.event_id, room_id)
                self._handle_done(event.event_id)

    def _handle_done(self, event_id: str) -> None:
        self._failures.pop(event_id, None)
        self._handled[event_id] = None
        while len(self._handled) > HANDLED_KEPT:
            self._handled.popitem(last=False)

    def _is_own_join(self, event: Any) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == self.settings.user_id
            and event.membership == "join"
        )

    async def _on_message(self, room_id: str, event: RoomMessageText) -> None:
        text = event.body.strip()
        if not text:
            return
        key = f"{NAME}:{room_id}"
        buttons = await asyncio.to_thread(self.store.last_buttons, key)
        payload = choose(text, buttons) if buttons else None
        room = self.client.rooms.get(room_id)
        incoming = Incoming(
            channel=NAME,
            chat_id=room_id,
            user_id=event.sender,
            text=payload or text,
            role=Role.AGENT,
            locale="fr",
            display_name=room.user_name(event.sender) if room is not None else None,
            platform_message_id=event.event_id,
        )
        replies = await self.gateway.handle(incoming)
        self._handle_done(event.event_id)  # stored: never taken in twice
        try:
            await self.send(room_id, replies)
        except Exception:  # stored, and the room's history is the gateway's
            log.exception("could not answer %s in %s", event.event_id, room_id)

    # -- outbound -------------------------------------------------------------------

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Post ``replies`` in room ``chat_id``."""
        for reply in replies:
            response = await self.client.room_send(
                chat_id, "m.room.message", render(reply), ignore_unverified_devices=True
            )
            if isinstance(response, ErrorResponse):
                raise MatrixUnavailable(f"could not post in {chat_id}: {response}")


def _safe(user_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", user_id)


# -- wiring (integrations/app.py calls setup) -----------------------------------------


async def matrix_ctx(app: web.Application) -> AsyncIterator[None]:
    """The channel, syncing while the app runs (after ``http_ctx``: the gateway exists)."""
    settings = app[keys.SETTINGS].matrix
    assert settings is not None
    channel = MatrixChannel.from_settings(settings, app[keys.GATEWAY], app[keys.STORE])
    app[keys.MATRIX] = channel
    app[keys.CHANNELS][NAME] = channel
    async with channel.running():
        app[keys.GATEWAY].register(channel)
        yield


def setup(app: web.Application) -> None:
    """The Matrix channel when ``MATRIX_HOMESERVER`` is set (it has no route: it syncs)."""
    app[keys.CHANNELS][NAME] = None
    if app[keys.SETTINGS].matrix is not None:
        app.cleanup_ctx.append(matrix_ctx)
