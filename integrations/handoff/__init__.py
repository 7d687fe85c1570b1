"""Human handoff: conversation ownership, queue, relay, presence, mediator console.

``setup(app)`` plugs the handoff service into the gateway (``Gateway.handoff``, and the
consoles as a listener of every stored message), starts presence (a mediator gone too
long loses their conversations: ``presence.py``) and registers the console's routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial

from aiohttp import web

from integrations import keys
from integrations.handoff.canned import CannedReplies
from integrations.handoff.console import greeting, replay, setup_routes
from integrations.handoff.presence import Presence
from integrations.handoff.relay import ConsoleHub, presence_frame
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
    gateway.listeners.append(service.on_messages)
    app[keys.HANDOFF] = service
    app[keys.CANNED] = CannedReplies(settings.canned_replies_path)
    presence = Presence(consoles, service.release_absent, settings.handoff_presence_timeout_s)
    app[keys.PRESENCE] = presence
    announcing: set[asyncio.Task[None]] = set()

    def announce(_user_id: int, _online: bool) -> None:
        # Every replica hears a change of presence: each tells its own consoles.
        task = asyncio.create_task(consoles.local_broadcast(presence_frame(consoles)))
        announcing.add(task)
        task.add_done_callback(announcing.discard)

    consoles.on_presence.append(announce)
    app[keys.BUS].on_reconnect.append(
        lambda: consoles.resync(lambda: greeting(app), partial(replay, app))
    )
    await consoles.start()
    # Who held conversations before this start: their consoles have the timeout to return.
    presence.watch(await asyncio.to_thread(lambda: list(service.store.holders())))
    yield
    await presence.close()


async def _close_consoles(app: web.Application) -> None:
    await app[keys.CONSOLES].close_all()


def setup(app: web.Application) -> None:
    """Register this area's routes and resources on the gateway app."""
    app[keys.CONSOLES] = ConsoleHub(app[keys.BUS])
    app.cleanup_ctx.append(handoff_ctx)
    app.on_shutdown.append(_close_consoles)
    setup_routes(app)
