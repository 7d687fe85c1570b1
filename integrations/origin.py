"""Whether a browser request comes from the gateway's own pages."""

from __future__ import annotations

from aiohttp import web


def same_origin(request: web.Request) -> bool:
    """True without an Origin header (not a browser) or when it names the gateway itself.

    Browsers send Origin on POST and WebSocket requests; "null" (sandboxed or file pages)
    is never the gateway.
    """
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host
