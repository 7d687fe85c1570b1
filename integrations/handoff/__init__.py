"""Human handoff: conversation ownership, queue, relay, mediator console.

``setup(app)`` plugs the handoff service into the gateway (``Gateway.handoff``, and the
consoles as a listener of every stored message) and registers the console's routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from integrations import keys as gateway_keys


async def handoff_ctx(app: web.Application) -> AsyncIterator[None]:
    """The service, once the gateway and the database exist (after ``http_ctx``)."""
    from integrations.handoff.canned import CannedReplies
    from integrations.handoff.keys import CANNED, CONSOLES, HANDOFF
    from integrations.handoff.service import HandoffService
    from integrations.handoff.store import HandoffStore

    settings = app[gateway_keys.SETTINGS]
    gateway = app[gateway_keys.GATEWAY]
    consoles = app[CONSOLES]
    service = HandoffService(
        gateway, HandoffStore(app[gateway_keys.STORE].engine), consoles, settings.mediator_hours
    )
    gateway.handoff = service
    gateway.listeners.append(consoles.on_messages)
    app[HANDOFF] = service
    app[CANNED] = CannedReplies(settings.canned_replies_path)
    yield


async def _close_consoles(app: web.Application) -> None:
    from integrations.handoff.keys import CONSOLES

    await app[CONSOLES].close_all()


def setup(app: web.Application) -> None:
    """Register this area's routes and resources on the gateway app."""
    from integrations.handoff.console import setup_routes
    from integrations.handoff.keys import CONSOLES
    from integrations.handoff.relay import ConsoleHub

    app[CONSOLES] = ConsoleHub()
    app.cleanup_ctx.append(handoff_ctx)
    app.on_shutdown.append(_close_consoles)
    setup_routes(app)
