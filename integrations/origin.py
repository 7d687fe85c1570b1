"""Whether a browser request comes from the gateway's own pages.

The gateway's public origins are configured (``GATEWAY_PUBLIC_ORIGINS``, default derived
from ``GATEWAY_HOST`` / ``GATEWAY_PORT`` and ``GATEWAY_PUBLIC_URL``, see
``Settings.web_origins``). A request's ``Origin`` is compared with them by scheme, host
and port, never with the request's own ``Host`` header, which the client chooses.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

from integrations import keys

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """``(scheme, host, port)`` of an origin or URL, lowercased, default port filled in;
    None for anything else (``null``, no scheme, a bad port)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def origin_in(value: str, allowed: Iterable[str]) -> bool:
    """True when the origin ``value`` is one of ``allowed`` (``"*"`` allows any)."""
    candidates = list(allowed)
    if "*" in candidates:
        return True
    parsed = parse_origin(value)
    return parsed is not None and parsed in {parse_origin(o) for o in candidates}


def same_origin(request: web.Request) -> bool:
    """True without an Origin header (not a browser) or when it is one of the gateway's
    configured public origins.

    Browsers send Origin on POST and WebSocket requests; "null" (sandboxed or file pages)
    is never the gateway.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin_in(origin, request.app[keys.SETTINGS].web_origins)
