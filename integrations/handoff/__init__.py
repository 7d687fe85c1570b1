"""Human handoff: conversation ownership, queue, relay, mediator console."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this area's routes and resources on the gateway app."""
