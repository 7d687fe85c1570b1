"""Human handoff: conversation ownership, queue, relay, mediator console.

``setup(app)`` plugs the handoff service into the gateway (``Gateway.handoff``, and the
consoles as a listener of every stored message) and registers the console's routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from integrations import keys
from integrations.handoff.canned import CannedReplies
from integrations.handoff.console import setup_routes
from integrations.handoff.relay import ConsoleHub
from integrations.handoff.service import HandoffService
from integrations.handoff.store import HandoffStore


async def handoff_ctx(app: web.Application) -> AsyncIterator[None]:
    """The service, once the gateway and the database exist (after ``http_ctx``)."""
    settings = app[keys.SETTINGS]
    gateway = app[keys.GATEWAY]
    consoles = app[keys.CONSOLES]
    service = HandoffService(
        gateway, HandoffStore(app[keys.STORE].engine), consoles, settings.mediator_hours
    )
    gateway.handoff = service
    gateway.listeners.append(consoles.on_messages)
    app[keys.HANDOFF] = service
    app[keys.CANNED] = CannedReplies(settings.canned_replies_path)
    yield


async def _close_consoles(app: web.Application) -> None:
    await app[keys.CONSOLES].close_all()


def setup(app: web.Application) -> None:
    """Register this area's routes and resources on the gateway app."""
    app[keys.CONSOLES] = ConsoleHub()
    app.cleanup_ctx.append(handoff_ctx)
    app.on_shutdown.append(_close_consoles)
    setup_routes(app)
