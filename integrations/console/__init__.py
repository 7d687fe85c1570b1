"""The staff consoles served by the gateway: login, templates, static files.

    setup(app)  — login / logout / static routes, the staff store, then each area's pages
    render(request, "page.html", **context) -> web.Response

Pages are server-rendered with Jinja2 (autoescaped); every template gets ``user``,
``csrf_token`` and ``request``. The areas (handoff, admin, widget) register their own
routes from their package's ``setup(app)``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from integrations import keys
from integrations.console.auth import (
    LOGIN_CSRF_COOKIE,
    ROLE_LABELS,
    SESSION_COOKIE,
    LoginThrottle,
    StaffRole,
    StaffStore,
    check_csrf,
    cookie_secure,
    current_session,
    set_session_cookie,
)
from integrations.origin import same_origin

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.globals["role_label"] = lambda role: ROLE_LABELS.get(StaffRole(role), str(role))
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle", LoginThrottle)

SECURITY_HEADERS = {
    # Pages use only their own scripts, styles and WebSockets: no inline script, no CDN.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """An HTML page; call it after ``current_session`` ran (``require_page`` does)."""
    session = request.get("console_session")
    body = TEMPLATES.get_template(template).render(
        request=request,
        user=session.user if session is not None else None,
        csrf_token=session.csrf_token if session is not None else "",
        **context,
    )
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


def _safe_next(value: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console/"


async def login_page(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    target = _safe_next(request.query.get("next"))
    if session is not None:
        raise web.HTTPFound(target)
    return _login_form(request, target)


def _login_form(
    request: web.Request, target: str, error: str | None = None, status: int = 200
) -> web.Response:
    # Before login there is no session: the form's CSRF token is a cookie it must echo.
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", status=status, next=target, error=error, login_csrf=token
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/console/login",
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request),
    )
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    target = _safe_next(str(form.get("next") or ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    sent = str(form.get("csrf") or "")
    if not same_origin(request) or not expected or not secrets.compare_digest(expected, sent):
        return _login_form(
            request, target, "Le formulaire a expiré. Veuillez réessayer.", status=403
        )
    username = str(form.get("username") or "").strip().lower()[:64]
    password = str(form.get("password") or "")[:1024]
    address = request.remote or "?"
    throttle = request.app[THROTTLE]
    keys_ = (f"user:{username}", f"ip:{address}")
    if throttle.blocked(*keys_):
        log.warning("console login throttled for %r from %s", username, address)
        return _login_form(
            request,
            target,
            "Trop de tentatives. Réessayez dans quelques minutes.",
            status=429,
        )
    store = request.app[keys.STAFF]
    user = await asyncio.to_thread(store.authenticate, username, password)
    if user is None:
        throttle.failed(*keys_)
        log.info("console login failed for %r from %s", username, address)
        return _login_form(request, target, "Identifiant ou mot de passe incorrect.", status=401)
    throttle.succeeded(*keys_)
    token, _ = await asyncio.to_thread(store.open_session, user)
    log.info("console login: %s (%s)", user.username, user.role)
    response = web.HTTPFound(target)
    set_session_cookie(response, request, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await check_csrf(request, str(form.get("csrf") or ""))
    token = request.cookies.get(SESSION_COOKIE, "")
    await asyncio.to_thread(request.app[keys.STAFF].close_session, token)
    response = web.HTTPFound("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def staff_ctx(app: web.Application) -> AsyncIterator[None]:
    """The staff store, on the gateway's database engine (``database_ctx`` runs first);
    creates the first admin from CONSOLE_ADMIN_PASSWORD when no account exists."""
    settings = app[keys.SETTINGS]
    store = StaffStore(app[keys.STORE].engine, session_hours=settings.console_session_hours)
    await asyncio.to_thread(store.create_tables)
    if settings.console_admin_password and await asyncio.to_thread(store.count) == 0:
        await asyncio.to_thread(
            store.add_user, "admin", "Administrateur", settings.console_admin_password, "admin"
        )
        log.info("console: created the first account « admin » (CONSOLE_ADMIN_PASSWORD)")
    app[keys.STAFF] = store
    yield


def setup(app: web.Application) -> None:
    """The console's own routes, then every area's (handoff, admin, widget)."""
    from integrations import admin, handoff, widget

    app[THROTTLE] = LoginThrottle()
    app.cleanup_ctx.append(staff_ctx)
    app.router.add_get("/console/login", login_page)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    app.router.add_static("/console/static/", HERE / "static")
    handoff.setup(app)
    admin.setup(app)
    widget.setup(app)
