"""The gateway application: the one place that wires it.

    create_app(settings) -> web.Application

Here: the middlewares, the shared resources (database, HTTP client, Rasa client, the
``Gateway``) in ``cleanup_ctx`` contexts, ``/health``, then each area's ``setup(app)``
in ``AREAS`` — its routes and its own contexts. Contexts are closed in reverse order on
shutdown. A new channel is one module with a ``setup(app)`` and one line in ``AREAS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType

import aiohttp
from aiohttp import web

from common.db import make_engine
from common.migrate import check_schema
from integrations import (
    admin,
    bookings,
    console,
    handoff,
    indicators,
    keys,
    metrics,
    outbox,
    privacy,
    widget,
)
from integrations.bus import make_bus
from integrations.channels import matrix, telegram
from integrations.channels import web as web_channel
from integrations.console.pages import PageError
from integrations.errors import ApiError
from integrations.forwarded import forwarded_middleware
from integrations.gateway import Gateway
from integrations.rasa_client import RasaClient
from integrations.retention import retention_ctx
from integrations.settings import Settings
from integrations.store import Store

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# French reasons and English codes for the errors aiohttp raises itself.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Requête invalide."),
    401: ("unauthorized", "Authentification requise."),
    403: ("forbidden", "Accès refusé."),
    404: ("not_found", "Ressource introuvable."),
    405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
    413: ("payload_too_large", "Requête trop volumineuse."),
    415: ("unsupported_media_type", "Type de contenu non pris en charge."),
}


def error_response(status: int, code: str, error: str) -> web.Response:
    return web.json_response({"error": error, "code": code}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as ``{"error": "<French>", "code": "<english>"}``."""
    try:
        return await handler(request)
    except ApiError as err:
        return err.response()
    except PageError as err:
        return err.response
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code, error = HTTP_ERRORS.get(err.status, ("http_error", "Erreur."))
        if err.status == 413:
            limit = request.app[keys.SETTINGS].max_body_bytes
            error = f"Requête trop volumineuse (au plus {limit} octets)."
        response = error_response(err.status, code, error)
        if err.status == 405 and "Allow" in err.headers:
            response.headers["Allow"] = err.headers["Allow"]
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Erreur interne, veuillez réessayer.")


def cors_middleware(origins: tuple[str, ...]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """CORS for the configured origins ("*" for any); nothing when none is configured."""
    allow_any = "*" in origins

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and (allow_any or origin in origins)
        if (
            allowed
            and request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers
        ):
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", "Content-Type"
            )
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response = await handler(request)
        if allowed and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin  # type: ignore[assignment]
            response.headers.add("Vary", "Origin")
        return response

    return cors


async def health(request: web.Request) -> web.Response:
    """``GET /health``: gateway, Rasa, action server, database and channel states."""
    app = request.app
    rasa = app[keys.RASA]
    store = app[keys.STORE]

    async def database_ok() -> bool:
        try:
            await asyncio.wait_for(asyncio.to_thread(store.ping), timeout=5)
        except Exception as err:  # any driver error means "down"
            log.warning("database check failed: %r", err)
            return False
        return True

    rasa_ok, actions_ok, db_ok = await asyncio.gather(
        rasa.rasa_ok(), rasa.actions_ok(), database_ok()
    )
    channels = {
        name: "disabled" if channel is None else getattr(channel, "state", "ok")
        for name, channel in app[keys.CHANNELS].items()
    }
    ok = rasa_ok and actions_ok and db_ok
    body = {
        "status": "ok" if ok else "degraded",
        "gateway": "ok",
        "rasa": "ok" if rasa_ok else "down",
        "actions": "ok" if actions_ok else "down",
        "database": "ok" if db_ok else "down",
        "channels": channels,
    }
    return web.json_response(body, status=200 if ok else 503)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    engine = make_engine(app[keys.SETTINGS].database_url)
    store = Store(engine)
    await asyncio.to_thread(check_schema, engine)
    app[keys.STORE] = store
    yield
    engine.dispose()


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    session = aiohttp.ClientSession()
    rasa = RasaClient(
        session,
        settings.rasa_url,
        settings.actions_health_url,
        token=settings.rasa_token,
        channel_secret=settings.gateway_channel_secret,
        timeout_s=settings.rasa_timeout_s,
        health_timeout_s=settings.health_timeout_s,
        workers=settings.rasa_workers,
        conversation_id=app[keys.STORE].conversation_id,
    )
    app[keys.HTTP] = session
    app[keys.RASA] = rasa
    queue = outbox.Outbox(app[keys.STORE], max_attempts=settings.outbox_max_attempts)
    app[keys.GATEWAY] = Gateway(app[keys.STORE], rasa, queue, shared_lock=app[keys.BUS].lock)
    yield
    await session.close()


async def bus_ctx(app: web.Application) -> AsyncIterator[None]:
    """The bus between replicas; its subscribers (each area's hub) exist already."""
    bus = app[keys.BUS]
    await bus.start()
    yield
    await bus.close()


# Each area's setup(app), in this order: channels first (they register with the gateway),
# then the console (staff store and login) before the areas whose pages need it.
AREAS: tuple[ModuleType, ...] = (
    web_channel,
    telegram,
    matrix,
    console,
    handoff,
    metrics,
    admin,
    privacy,
    widget,
    bookings,
    indicators,
    outbox,
)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[
            forwarded_middleware(settings.trusted_proxies),
            cors_middleware(settings.cors_origins),
            error_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[keys.SETTINGS] = settings
    app[keys.CHANNELS] = {}
    app[keys.BUS] = make_bus(settings.redis_url, lock_timeout_s=settings.rasa_timeout_s + 30)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(retention_ctx)
    app.cleanup_ctx.append(bus_ctx)
    app.cleanup_ctx.append(http_ctx)
    app.router.add_get("/health", health)
    for area in AREAS:
        area.setup(app)
    return app
