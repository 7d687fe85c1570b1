"""Telegram channel (python-telegram-bot), for council agents on their phones.

Two modes:

- ``webhook`` (production): Telegram posts updates to ``POST /webhooks/telegram`` on our
  own aiohttp app; the ``X-Telegram-Bot-Api-Secret-Token`` header must carry
  ``TELEGRAM_WEBHOOK_SECRET``. The PTB application runs without an updater.
- ``polling`` (development): PTB's updater long-polls ``getUpdates``.

``/start`` greets (it is sent to Rasa as the ``/greet`` intent). Buttons become an
inline keyboard whose callbacks come back as the button's payload. Texts are sent as
HTML (escaped, Markdown links turned into ``<a>``) and split under Telegram's limit.

When the Bot API fails (:func:`bot_call`):

    429 Too Many Requests   wait ``retry_after`` (at most RETRY_AFTER_CAP_S), try again
    403 Forbidden           the person blocked the bot: log, stop sending to that chat
    5xx, timeout, network   try again after a short backoff, SEND_ATTEMPTS tries in all
                            (a timed-out message may have arrived: Telegram then shows it twice)
    400 and the rest        not retried

An update whose message could not be stored is answered 503, so that Telegram sends it
again; once stored, it is answered 200 even if the reply could not be delivered (the
message waits in the outbox when Rasa is down: ``integrations/outbox.py``). Each
``update_id`` is recorded (``telegram_updates``, shared by every gateway replica): an
update Telegram sends again after a timeout is answered 200 and not taken in twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import TypeVar

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from common.secret import same_secret
from integrations import keys
from integrations.errors import MAX_ID, ApiError, bad_request, read_json_object
from integrations.gateway import Gateway
from integrations.messages import LINK, Button, Incoming, Reply, Role
from integrations.outbox import Claim
from integrations.settings import TELEGRAM_WEBHOOK_PATH, TelegramSettings
from integrations.tasks import background

log = logging.getLogger(__name__)

NAME = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096 characters after entity parsing
CALLBACK_LIMIT = 64  # bytes of callback_data
ONLY_TEXT = "Je ne peux lire que des messages écrits. Pouvez-vous écrire votre question ?"
START_PAYLOAD = "/greet"
NOT_STORED = "Message non enregistré, à renvoyer."
SEND_ATTEMPTS = 3
BACKOFF_S = 0.5  # before the second try; doubled before each next one
RETRY_AFTER_CAP_S = 60.0

T = TypeVar("T")


def _seconds(retry_after: int | timedelta) -> float:
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


async def bot_call(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` (one Bot API request), tried again on flood control and server trouble.

    Raises the last error when every try failed, and at once on 4xx other than 429.
    """
    delay = BACKOFF_S
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as err:
            if attempt == SEND_ATTEMPTS:
                raise
            wait = min(_seconds(err.retry_after), RETRY_AFTER_CAP_S)
            log.warning("Telegram flood control on %s: retrying in %.0f s", what, wait)
            await asyncio.sleep(wait)
        except BadRequest:
            raise  # our request is wrong: the same again would fail the same way
        except NetworkError as err:  # 5xx, timeouts, connection refused or reset
            if attempt == SEND_ATTEMPTS:
                raise
            log.warning("Telegram failed on %s (%s); retrying in %.1f s", what, err, delay)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def render_html(text: str) -> str:
    """``text`` for ``parse_mode=HTML``: escaped, with Markdown links as ``<a>``."""
    out: list[str] = []
    position = 0
    for match in LINK.finditer(text):
        out.append(html.escape(text[position : match.start()], quote=False))
        label, url = match.group(1), match.group(2)
        out.append(
            f'<a href="{html.escape(url, quote=True)}">{html.escape(label, quote=False)}</a>'
        )
        position = match.end()
    out.append(html.escape(text[position:], quote=False))
    return "".join(out)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at paragraph, line or
    word boundaries when possible, never inside a Markdown link."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_at(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut_at(text: str, limit: int) -> int:
    window = text[: limit + 1]
    cut = limit
    for separator in ("\n\n", "\n", " "):
        index = window.rfind(separator)
        if index > limit // 2:
            cut = index
            break
    for match in LINK.finditer(text, 0, limit + 200):
        if match.start() < cut < match.end() and match.start() > limit // 4:
            return match.start()
    return cut


class TelegramChannel:
    name = NAME

    def __init__(
        self, application: Application, gateway: Gateway, settings: TelegramSettings
    ) -> None:
        self.application = application
        self.gateway = gateway
        self.settings = settings
        self.state = "starting"
        # callback_data is limited to 64 bytes: longer payloads are kept here by digest.
        self._long_payloads: OrderedDict[str, str] = OrderedDict()
        # Updates whose message could not be stored (the webhook answers 503 for them).
        self._not_stored: set[int] = set()
        application.add_handler(CommandHandler("start", self._on_start))
        application.add_handler(CallbackQueryHandler(self._on_callback))
        application.add_handler(MessageHandler(filters.TEXT, self._on_text))
        application.add_handler(MessageHandler(filters.ALL, self._on_other))
        application.add_error_handler(self._on_error)

    @classmethod
    def from_settings(cls, settings: TelegramSettings, gateway: Gateway) -> TelegramChannel:
        timeout = settings.request_timeout_s
        builder = (
            Application.builder()
            .token(settings.token)
            .base_url(settings.api_url)
            .connect_timeout(timeout)
            .write_timeout(timeout)
            .read_timeout(timeout)
        )
        if settings.mode == "webhook":
            builder = builder.updater(None)
        return cls(builder.build(), gateway, settings)

    # -- life cycle -----------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Connect to the Bot API (retrying in the background), stop cleanly on exit."""
        try:
            async with background(self._start(), "telegram-start"):
                yield
        finally:
            await self._stop()

    async def _start(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.application.initialize()
                if self.settings.mode == "webhook":
                    if self.settings.webhook_url:
                        await self.application.bot.set_webhook(
                            url=self.settings.webhook_url.rstrip("/") + TELEGRAM_WEBHOOK_PATH,
                            secret_token=self.settings.webhook_secret,
                            allowed_updates=["message", "callback_query"],
                        )
                else:
                    assert self.application.updater is not None
                    await self.application.bot.delete_webhook()
                    await self.application.updater.start_polling(
                        allowed_updates=["message", "callback_query"]
                    )
                    await self.application.start()
            except TelegramError as err:
                self.state = "down"
                log.warning("Telegram not reachable (%s); retrying in %.0f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            self.state = "ok"
            log.info("Telegram channel ready (%s mode)", self.settings.mode)
            return

    async def _stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        self.state = "stopped"

    # -- inbound --------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/telegram``: one update from Telegram."""
        secret = self.settings.webhook_secret or ""
        given = request.headers.get(SECRET_HEADER, "")
        if not same_secret(given, secret):
            raise ApiError(403, "invalid_secret_token", "Jeton secret Telegram invalide.")
        if self.state != "ok":
            raise ApiError(503, "telegram_not_ready", "Canal Telegram pas encore prêt.")
        data = await read_json_object(request)
        update_id = data.get("update_id")
        if (
            not isinstance(update_id, int)
            or isinstance(update_id, bool)
            or not 0 <= update_id <= MAX_ID
        ):
            raise bad_request("invalid_update", "Mise à jour Telegram invalide.")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as err:  # untrusted input: KeyError, AttributeError, OverflowError…
            raise bad_request("invalid_update", "Mise à jour Telegram invalide.") from err
        outbox = self.gateway.outbox
        try:
            claim = await asyncio.to_thread(outbox.claim_update, update.update_id)
        except Exception as err:  # the database is down: Telegram will send it again
            log.warning("Telegram update %d not recorded: %r", update.update_id, err)
            raise ApiError(503, "update_not_stored", NOT_STORED) from err
        if claim is Claim.DUPLICATE:
            log.info("Telegram update %d received again: already taken in", update.update_id)
            return web.json_response({"ok": True})
        if claim is Claim.BUSY:
            raise ApiError(503, "update_in_progress", "Message en cours de traitement.")
        await self.application.process_update(update)
        stored = update.update_id not in self._not_stored
        self._not_stored.discard(update.update_id)
        try:
            done = outbox.update_stored if stored else outbox.forget_update
            await asyncio.to_thread(done, update.update_id)
        except Exception:  # a claim left unfinished is taken over after UPDATE_TAKEOVER
            log.exception("could not record the end of Telegram update %d", update.update_id)
        if not stored:
            raise ApiError(503, "update_not_stored", NOT_STORED)
        return web.json_response({"ok": True})

    def _incoming(self, update: Update, text: str) -> Incoming | None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return None
        message = update.effective_message
        return Incoming(
            channel=NAME,
            chat_id=str(chat.id),
            user_id=str(user.id),
            text=text,
            role=Role.AGENT,
            locale=user.language_code or "fr",
            display_name=user.full_name,
            platform_message_id=str(message.message_id) if message else None,
        )

    async def _answer(self, update: Update, text: str) -> None:
        incoming = self._incoming(update, text)
        if incoming is None:
            return
        stored = False

        async def on_stored(_message: Reply) -> None:
            nonlocal stored
            stored = True

        try:
            replies = await self.gateway.handle(incoming, echo=on_stored)
        except Exception:
            if not stored:
                self._not_stored.add(update.update_id)
            raise
        await self.send(incoming.chat_id, replies)

    async def _on_start(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._answer(update, START_PAYLOAD)

    async def _on_text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        text = message.text
        if text.startswith("/"):
            # Unknown commands are words, not Rasa intents ("/aide" -> "aide").
            text = text.lstrip("/").split("@", 1)[0] or "aide"
        await self._answer(update, text)

    async def _on_callback(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        payload = self._payload_of(query.data or "")
        if payload is None:
            if query.message is not None:
                await self.send(
                    str(query.message.chat.id),
                    [Reply(text="Ce choix a expiré. Pouvez-vous écrire votre demande ?")],
                )
            return
        await self._answer(update, payload)

    async def _on_other(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None and update.effective_message is not None:
            await self.send(str(chat.id), [Reply(text=ONLY_TEXT)])

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update", exc_info=context.error)

    # -- outbound -------------------------------------------------------------------

    def _callback_data(self, button: Button) -> str:
        if len(button.payload.encode()) <= CALLBACK_LIMIT:
            return button.payload
        digest = "#" + hashlib.sha256(button.payload.encode()).hexdigest()[:32]
        self._long_payloads[digest] = button.payload
        self._long_payloads.move_to_end(digest)
        while len(self._long_payloads) > 10_000:
            self._long_payloads.popitem(last=False)
        return digest

    def _payload_of(self, data: str) -> str | None:
        if data.startswith("#"):
            return self._long_payloads.get(data)
        return data or None

    def keyboard(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        if not buttons:
            return None
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.title, callback_data=self._callback_data(b))] for b in buttons]
        )

    async def send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Render ``replies`` in chat ``chat_id``: text pieces, keyboard on the last one.

        A chat that blocked the bot gets nothing more (logged); other failures that
        outlast :func:`bot_call`'s tries are raised.
        """
        try:
            await self._send(chat_id, replies)
        except Forbidden as err:
            log.warning("Telegram chat %s refuses the bot's messages (%s)", chat_id, err)

    async def _send(self, chat_id: str, replies: Sequence[Reply]) -> None:
        bot = self.application.bot
        for reply in replies:
            markup = self.keyboard(reply.buttons)
            pieces = split_text(reply.text)
            if not pieces and markup is not None:
                pieces = ["Choisissez :"]
            for index, piece in enumerate(pieces):
                await bot_call(
                    "sendMessage",
                    partial(
                        bot.send_message,
                        chat_id=chat_id,
                        text=render_html(piece),
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup if index == len(pieces) - 1 else None,
                    ),
                )
            if reply.image:
                await bot_call(
                    "sendPhoto", partial(bot.send_photo, chat_id=chat_id, photo=reply.image)
                )


# -- wiring (integrations/app.py calls setup) -----------------------------------------


async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
    """The channel, connected while the app runs (after ``http_ctx``: the gateway exists)."""
    settings = app[keys.SETTINGS].telegram
    assert settings is not None
    channel = TelegramChannel.from_settings(settings, app[keys.GATEWAY])
    app[keys.TELEGRAM] = channel
    app[keys.CHANNELS][NAME] = channel
    async with channel.running():
        app[keys.GATEWAY].register(channel)
        yield


async def _webhook(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.TELEGRAM].webhook(request)


def setup(app: web.Application) -> None:
    """The Telegram channel when ``TELEGRAM_BOT_TOKEN`` is set; its webhook route."""
    app[keys.CHANNELS][NAME] = None
    settings = app[keys.SETTINGS].telegram
    if settings is None:
        return
    app.cleanup_ctx.append(telegram_ctx)
    if settings.mode == "webhook":
        app.router.add_post(TELEGRAM_WEBHOOK_PATH, _webhook)
