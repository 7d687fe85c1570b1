"""Rasa input channel of the gateway: the only way in for messages, behind a shared secret.

Rasa's stock REST channel takes ``metadata`` (channel, user id, role) from whoever
posts, so any local process could speak as an agent. This channel is the same
request and answer as the REST one, but it refuses (401 / 403, before anything
reaches the tracker) every request whose ``X-Gateway-Secret`` header is not the
secret of ``bot/credentials.yml`` (``secret: ${GATEWAY_CHANNEL_SECRET}``), which
only the gateway (``integrations/rasa_client.py``) knows.

    POST /webhooks/gateway/webhook
    X-Gateway-Secret: <GATEWAY_CHANNEL_SECRET>
    {"sender": "web:abc", "message": "bonjour", "metadata": {...}, "input_channel": "web"}
    → [{"recipient_id": "web:abc", "text": "..."}, ...]

Exactly once: the gateway sends each message with an idempotency key (``metadata.message_key``,
see ``integrations/outbox.py``) and sends it again when it got no answer (a timeout, a
worker killed). Under the conversation's lock (Rasa's lock store: Redis when several
workers on several machines share the conversations), the channel asks the tracker store
whether that key was processed; if so it answers what the bot answered then, and the
tracker never gets the message twice.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.secret import same_secret
from rasa_ext.tracker_store import MESSAGE_KEY, rest_messages

SECRET_HEADER = "X-Gateway-Secret"
SECRET_VARIABLE = "GATEWAY_CHANNEL_SECRET"

log = logging.getLogger(__name__)


def _error(status: int, message: str, code: str) -> HTTPResponse:
    return response.json({"error": message, "code": code}, status=status)


class BadRequest(ValueError):
    """The body is not the message the gateway sends; ``str()`` is the French reason."""


def parse_body(raw: bytes) -> tuple[str, str, dict[str, Any] | None, str]:
    """``(sender, message, metadata, input_channel)`` of a request body, or BadRequest."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest("Le corps de la requête n'est pas du JSON valide.") from err
    if not isinstance(body, dict):
        raise BadRequest("Le corps de la requête doit être un objet JSON.")
    sender, message = body.get("sender"), body.get("message")
    metadata, channel = body.get("metadata"), body.get("input_channel")
    if not isinstance(sender, str) or not sender:
        raise BadRequest("Le champ « sender » est obligatoire (texte).")
    if not isinstance(message, str):
        raise BadRequest("Le champ « message » est obligatoire (texte).")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("Le champ « metadata » doit être un objet JSON.")
    if channel is not None and not isinstance(channel, str):
        raise BadRequest("Le champ « input_channel » doit être un texte.")
    return sender, message, metadata, channel or GatewayInput.name()


async def handle_once(agent: Any, message: UserMessage, key: str) -> list[dict[str, Any]] | None:
    """Process ``message`` unless the message with idempotency ``key`` was processed
    already: then the answers given then (the caller returns them), else None."""
    async with agent.lock_store.lock(message.sender_id):
        answered = await already_answered(agent.tracker_store, message.sender_id, key)
        if answered is not None:
            return answered
        await agent.processor.handle_message(message)
        return None


async def already_answered(
    tracker_store: Any, sender: str, key: str
) -> list[dict[str, Any]] | None:
    """What the tracker store says of ``key`` (the SQL store queries it; others: the
    full tracker's user events are searched)."""
    store = getattr(tracker_store, "_tracker_store", tracker_store)  # FailSafeTrackerStore
    answers_of = getattr(store, "answers_of", None)
    if answers_of is not None:
        return answers_of(sender, key)
    tracker = await store.retrieve_full_tracker(sender)
    if tracker is None:
        return None
    answers: list[dict[str, Any]] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if answers is not None:
                break
            if (event.metadata or {}).get(MESSAGE_KEY) == key:
                answers = []
        elif answers is not None and isinstance(event, BotUttered):
            answers.extend(rest_messages(sender, event.as_dict()))
    return answers


class GatewayInput(InputChannel):
    """``/webhooks/gateway/webhook``: the gateway's messages, with its identity metadata."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise RasaException(
                f"The gateway input channel needs a secret: set {SECRET_VARIABLE}"
                " (bot/credentials.yml: secret: ${" + SECRET_VARIABLE + "})"
            )
        self._secret = secret

    @classmethod
    def name(cls) -> str:
        return "gateway"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GatewayInput:
        secret = (credentials or {}).get("secret")
        return cls(secret.strip() if isinstance(secret, str) else "")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(
            f"custom_webhook_{type(self).__name__}", module.__name__ if module else None
        )

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refused = self._refusal(request)
            if refused is not None:
                return refused
            try:
                sender, text, metadata, input_channel = parse_body(request.body)
            except BadRequest as err:
                return _error(400, str(err), "bad_request")
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, sender, input_channel=input_channel, metadata=metadata
            )
            key = (metadata or {}).get(MESSAGE_KEY)
            try:
                if isinstance(key, str) and key:
                    if not request.app.ctx.agent.is_ready():
                        return _error(503, "Modèle pas encore chargé.", "not_ready")
                    answered = await handle_once(request.app.ctx.agent, message, key)
                    if answered is not None:
                        log.info("message %s of %s already processed", key, sender)
                        return response.json(answered)
                else:
                    await on_new_message(message)
            except CancelledError:
                log.error("gateway message timed out: %r", copy.deepcopy(text)[:200])
            except Exception:
                log.exception("gateway message failed: %r", copy.deepcopy(text)[:200])
            return response.json(collector.messages)

        return webhook

    def _refusal(self, request: Request) -> HTTPResponse | None:
        """A 401 / 403 answer when the request does not carry the gateway's secret."""
        given = request.headers.get(SECRET_HEADER)
        if same_secret(given, self._secret):
            return None
        log.warning("refused a message on the gateway channel from %s", request.ip)
        if given is None:
            return _error(401, "Secret du canal de la passerelle manquant.", "missing_secret")
        return _error(403, "Secret du canal de la passerelle invalide.", "invalid_secret")
