"""The gateway application: factory, middlewares, resources, routes.

    create_app(settings) -> web.Application

Resources live in ``cleanup_ctx`` contexts (database, HTTP client, Telegram,
Matrix), each closed in reverse order on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from common.db import make_engine
from integrations import console, keys
from integrations.channels.web import Hub, WebChannel
from integrations.console.auth import PageError
from integrations.errors import ApiError
from integrations.forwarded import forwarded_middleware
from integrations.gateway import Gateway
from integrations.rasa_client import RasaClient
from integrations.retention import retention_ctx
from integrations.settings import TELEGRAM_WEBHOOK_PATH, Settings
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
    channels = {"web": "ok"}
    telegram = app.get(keys.TELEGRAM)
    channels["telegram"] = telegram.state if telegram is not None else "disabled"
    matrix = app.get(keys.MATRIX)
    channels["matrix"] = matrix.state if matrix is not None else "disabled"
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
    await asyncio.to_thread(store.create_tables)
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
    )
    gateway = Gateway(app[keys.STORE], rasa)
    app[keys.HTTP] = session
    app[keys.RASA] = rasa
    app[keys.GATEWAY] = gateway
    web_channel = WebChannel.from_settings(settings, gateway, app[keys.HUB])
    gateway.register(web_channel)
    app[keys.WEB] = web_channel
    yield
    await session.close()


async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
    from integrations.channels.telegram import TelegramChannel

    settings = app[keys.SETTINGS]
    assert settings.telegram is not None
    channel = TelegramChannel.from_settings(settings.telegram, app[keys.GATEWAY])
    app[keys.TELEGRAM] = channel
    async with channel.running():
        app[keys.GATEWAY].register(channel)
        yield


async def matrix_ctx(app: web.Application) -> AsyncIterator[None]:
    from integrations.channels.matrix import MatrixChannel

    settings = app[keys.SETTINGS]
    assert settings.matrix is not None
    channel = MatrixChannel.from_settings(settings.matrix, app[keys.GATEWAY], app[keys.STORE])
    app[keys.MATRIX] = channel
    async with channel.running():
        app[keys.GATEWAY].register(channel)
        yield


async def close_websockets(app: web.Application) -> None:
    await app[keys.HUB].close_all()


async def booking_invitation(request: web.Request) -> web.Response:
    """``GET /bookings/{ref}.ics``: the calendar invitation of a confirmed room booking.

    The reference is random (``secrets.token_urlsafe``) and is the only key: the link is
    given to the agent who booked, in the confirmation.
    """
    from actions.booking_calendar import ics_for_ref

    ref = request.match_info["ref"]
    if not _BOOKING_REF.fullmatch(ref):
        raise ApiError(404, "not_found", "Invitation introuvable.")
    body = await asyncio.to_thread(ics_for_ref, ref)
    if body is None:
        raise ApiError(404, "not_found", "Invitation introuvable.")
    return web.Response(
        text=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="reservation-{ref}.ics"'},
    )


async def _web_issue(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].issue(request)


async def _web_rest(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].rest(request)


async def _web_socket(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].websocket(request)


async def _web_history(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].history(request)


async def _web_forget(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.WEB].forget(request)


async def _telegram_webhook(request: web.Request) -> web.StreamResponse:
    return await request.app[keys.TELEGRAM].webhook(request)


_BOOKING_REF = re.compile(r"[A-Za-z0-9_-]{8,40}")


def setup_routes(app: web.Application, settings: Settings) -> None:
    """Every route of the gateway, in one place."""
    app.router.add_get("/health", health)
    app.router.add_post("/webhooks/web/conversations", _web_issue)
    app.router.add_post("/webhooks/rest/webhook", _web_rest)
    app.router.add_get("/webhooks/websocket", _web_socket)
    app.router.add_get("/webhooks/rest/history", _web_history)
    app.router.add_delete("/webhooks/rest/conversation", _web_forget)
    app.router.add_get("/bookings/{ref}.ics", booking_invitation)
    if settings.telegram is not None and settings.telegram.mode == "webhook":
        app.router.add_post(TELEGRAM_WEBHOOK_PATH, _telegram_webhook)
    console.setup(app)


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
    app[keys.HUB] = Hub()
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(retention_ctx)
    app.cleanup_ctx.append(http_ctx)
    if settings.telegram is not None:
        app.cleanup_ctx.append(telegram_ctx)
    if settings.matrix is not None:
        app.cleanup_ctx.append(matrix_ctx)
    app.on_shutdown.append(close_websockets)
    setup_routes(app, settings)
    return app
