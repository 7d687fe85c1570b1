"""Prometheus metrics of the gateway: ``GET /metrics`` (text exposition format).

Who may read them: a client on loopback (the TCP peer, or the client named by a trusted
proxy: a request relayed by nginx for an outside address is not loopback), or anyone with
``Authorization: Bearer <METRICS_TOKEN>`` when that setting is set (Prometheus on another
machine). Otherwise 403 (no token configured) or 401.

| metric | type | what |
|---|---|---|
| ``assistant_messages_total{channel,author}`` | counter | stored messages, by author |
| ``assistant_answer_seconds{channel}`` | histogram | a user message stored, answered, delivered |
| ``assistant_errors_total{logger}`` | counter | log records of level ERROR or above |
| ``assistant_outbox_queue_length`` | gauge | messages waiting for Rasa (set by the outbox) |
| ``assistant_handoff_waiting`` | gauge | conversations waiting for a mediator (database) |
| ``assistant_handoff_with_mediator`` | gauge | conversations a mediator holds (database) |
| ``assistant_websockets{kind}`` | gauge | this replica's open sockets: web, console |
| ``assistant_bus_connected`` | gauge | 1 when this replica hears the other replicas (Redis) |

Other areas record with the module's objects (``metrics.queue_length.set(n)``). The
registry is this module's own, not prometheus_client's global one: only these metrics
are served. The database-backed gauges are read at each scrape (the same on every
replica); the others count what this replica did.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Sequence
from ipaddress import ip_address

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from integrations import keys
from integrations.errors import ApiError
from integrations.messages import Reply
from integrations.store import ConversationRef

log = logging.getLogger(__name__)

registry = CollectorRegistry(auto_describe=True)

messages = Counter(
    "assistant_messages", "Stored messages", ["channel", "author"], registry=registry
)
answer_seconds = Histogram(
    "assistant_answer_seconds",
    "Seconds to handle a user message: stored, answered, delivered",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=registry,
)
errors = Counter(
    "assistant_errors", "Log records of level ERROR or above", ["logger"], registry=registry
)
queue_length = Gauge(
    "assistant_outbox_queue_length", "Messages waiting to be delivered to Rasa", registry=registry
)
handoff_waiting = Gauge(
    "assistant_handoff_waiting", "Conversations waiting for a mediator", registry=registry
)
handoff_with_mediator = Gauge(
    "assistant_handoff_with_mediator", "Conversations a mediator holds", registry=registry
)
websockets = Gauge(
    "assistant_websockets", "Open WebSockets of this replica", ["kind"], registry=registry
)
bus_connected = Gauge(
    "assistant_bus_connected",
    "1 when this replica hears the other replicas (always 1 without Redis)",
    registry=registry,
)


class ErrorCounter(logging.Handler):
    """Counts every ERROR record by logger (installed on the root logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        errors.labels(record.name).inc()


async def on_messages(conversation: ConversationRef, replies: Sequence[Reply]) -> None:
    """Gateway listener: every stored message, by channel and author."""
    for reply in replies:
        messages.labels(conversation.channel, str(reply.author)).inc()


def _allowed(request: web.Request, token: str | None) -> None:
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return
    try:
        if ip_address(request.remote or "").is_loopback:
            return
    except ValueError:
        pass
    if token:
        raise ApiError(401, "unauthorized", "Jeton requis (Authorization: Bearer …).")
    raise ApiError(403, "forbidden", "Métriques lisibles depuis la machine elle-même seulement.")


async def metrics_view(request: web.Request) -> web.Response:
    """``GET /metrics``: loopback, or the bearer token of ``METRICS_TOKEN``."""
    _allowed(request, request.app[keys.SETTINGS].metrics_token)
    body = await asyncio.to_thread(generate_latest, registry)
    response = web.Response(body=body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Hook the listeners and the database-backed gauges once the areas exist."""
    gateway = app[keys.GATEWAY]
    gateway.listeners.append(on_messages)
    # The outbox (integrations/outbox.py, when merged) counts its pending rows itself.
    outbox = getattr(gateway, "outbox", None)
    if outbox is not None:
        queue_length.set_function(outbox.queue_length)
    handoffs = app[keys.HANDOFF].store
    handoff_waiting.set_function(lambda: len(handoffs.queue()))
    handoff_with_mediator.set_function(lambda: len(handoffs.with_mediators()))
    hub, consoles, bus = app[keys.HUB], app[keys.CONSOLES], app[keys.BUS]
    websockets.labels("web").set_function(hub.sockets)
    websockets.labels("console").set_function(consoles.sockets)
    bus_connected.set_function(lambda: 1 if bus.healthy else 0)
    counter = ErrorCounter()
    logging.getLogger().addHandler(counter)
    yield
    logging.getLogger().removeHandler(counter)


def setup(app: web.Application) -> None:
    """``/metrics`` and the hooks (after the handoff area: it reads its store)."""
    app.cleanup_ctx.append(metrics_ctx)
    app.router.add_get("/metrics", metrics_view)
