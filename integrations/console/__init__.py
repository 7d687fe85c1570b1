"""The staff consoles served by the gateway: login, templates, static files.

    setup(app)  — login / logout / static routes, the staff store

Login is a local password (throttled: ``auth.LoginThrottle``) or, when ``OIDC_ISSUER``
is set, the council's single sign-on for agents (``oidc.py``); both open the same
session. Agents land on their assistant page (``AGENT_HOME``), the other pages of the
console being for mediators and admins.

Pages are server-rendered by ``pages.py``. The console is a leaf: it mounts no other
area; each area (handoff, admin, privacy, widget) registers its own routes from its
package's ``setup(app)``, called by ``integrations/app.py``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from common.secret import same_secret
from integrations import keys
from integrations.console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    PageError,
    Refused,
    StaffRole,
    StaffStore,
    StaffUser,
    check_csrf,
    cookie_secure,
    current_session,
    set_session_cookie,
)
from integrations.console.oidc import CALLBACK_PATH, FLOW_COOKIE, FLOW_TTL_S, OidcClient, OidcError
from integrations.console.pages import (
    SECURITY_HEADERS,
    TEMPLATES,
    error_page,
    read_form,
    render,
)
from integrations.console.staff import ensure_admin
from integrations.origin import same_origin

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
# The agents' assistant page (served by the web channel's area).
AGENT_HOME = "/console/agent/"
# The indicators dashboard, the only page of the pilotage role (integrations/indicators).
PILOTAGE_HOME = "/console/indicators/"
# Kept importable from the package for the areas' pages.
__all__ = ["SECURITY_HEADERS", "TEMPLATES", "read_form", "render", "setup"]


def _safe_next(value: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if (
        value
        and value.startswith("/console")
        and not value.startswith("//")
        and "\\" not in value
        and value.isprintable()
    ):
        return value
    return "/console/"


def _landing(user: StaffUser, target: str) -> str:
    """Where a fresh session goes: agents from the console's home to their own page."""
    if user.role is StaffRole.AGENT and target == "/console/":
        return AGENT_HOME
    if user.role is StaffRole.PILOTAGE and target == "/console/":
        return PILOTAGE_HOME
    return target


def _text(value: str, limit: int) -> str:
    """A form value without NUL or lone surrogates (refused before any database)."""
    value = value[:limit]
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        return ""
    return value


async def login_page(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    target = _safe_next(request.query.get("next"))
    if session is not None:
        raise web.HTTPFound(_landing(session.user, target))
    return _login_form(request, target)


def _login_form(
    request: web.Request, target: str, error: str | None = None, status: int = 200
) -> web.Response:
    # Before login there is no session: the form's CSRF token is a cookie it must echo.
    token = secrets.token_urlsafe(32)
    oidc = request.app[keys.SETTINGS].oidc
    response = render(
        request,
        "login.html",
        status=status,
        next=target,
        error=error,
        login_csrf=token,
        sso_label=oidc.provider_label if oidc is not None else None,
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
    form = await read_form(request)
    target = _safe_next(form.get("next"))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    sent = form.get("csrf", "")
    if not same_origin(request) or not same_secret(sent, expected):
        return _login_form(
            request, target, "Le formulaire a expiré. Veuillez réessayer.", status=403
        )
    username = _text(form.get("username", ""), 64).strip().lower()
    password = _text(form.get("password", ""), 1024)
    address = request.remote or "?"
    # The check is reserved before Argon2 runs: parallel attempts cannot all pass.
    reservation = await request.app[keys.THROTTLE].reserve(username, address)
    if isinstance(reservation, Refused):
        log.warning("console login throttled for %r from %s", username, address)
        minutes = max(1, round(reservation.retry_after_s / 60))
        response = _login_form(
            request,
            target,
            f"Trop de tentatives. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.",
            status=429,
        )
        response.headers["Retry-After"] = str(max(1, round(reservation.retry_after_s)))
        return response
    store = request.app[keys.STAFF]
    user = None
    try:
        if reservation.wait_s:  # an account under attack: checks are spaced out
            await asyncio.sleep(reservation.wait_s)
        user = await asyncio.to_thread(store.authenticate, username, password)
    finally:  # a cancelled attempt counts as a failure (logged even then: shielded)
        await asyncio.shield(reservation.finish(succeeded=user is not None))
    if user is None:
        log.info("console login failed for %r from %s", username, address)
        return _login_form(request, target, "Identifiant ou mot de passe incorrect.", status=401)
    token, _ = await asyncio.to_thread(store.open_session, user)
    log.info("console login: %s (%s)", user.username, user.role)
    response = web.HTTPFound(_landing(user, target))
    set_session_cookie(response, request, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    raise response


def _oidc_client(request: web.Request) -> OidcClient:
    client = request.app.get(keys.OIDC)
    if client is None:
        raise PageError(
            error_page(
                request,
                404,
                "Authentification unique non configurée",
                "La connexion par l'authentification unique n'est pas activée sur cette "
                "console. Connectez-vous avec votre identifiant et votre mot de passe.",
            )
        )
    return client


def _oidc_failure(request: web.Request, err: OidcError) -> web.Response:
    log.warning("console SSO sign-in failed: %s", err.detail)
    response = error_page(request, err.status, "Connexion impossible", err.reason)
    response.del_cookie(FLOW_COOKIE, path="/console/login/oidc")
    return response


async def oidc_start(request: web.Request) -> web.StreamResponse:
    """``GET /console/login/oidc``: off to the provider, with state, nonce and PKCE."""
    client = _oidc_client(request)
    target = _safe_next(request.query.get("next"))
    redirect_uri = (
        client.settings.redirect_url or f"{request.scheme}://{request.host}{CALLBACK_PATH}"
    )
    try:
        provider = await client.provider(request.app[keys.HTTP])
    except OidcError as err:
        return _oidc_failure(request, err)
    flow_id, url = client.start(redirect_uri, target, provider)
    response = web.HTTPFound(url)
    # Lax, not Strict: the browser comes back from the provider's site, a top-level GET.
    response.set_cookie(
        FLOW_COOKIE,
        flow_id,
        max_age=int(FLOW_TTL_S),
        path="/console/login/oidc",
        httponly=True,
        samesite="Lax",
        secure=cookie_secure(request),
    )
    raise response


async def oidc_callback(request: web.Request) -> web.StreamResponse:
    """``GET /console/login/oidc/callback``: back from the provider; a session, or why not."""
    client = _oidc_client(request)
    query = request.query
    try:
        flow = client.take_flow(request.cookies.get(FLOW_COOKIE), query.get("state"))
        if "error" in query:
            error = query.get("error", "")[:80]
            raise OidcError(
                403,
                f"Le fournisseur d'identité n'a pas autorisé la connexion ({error}).",
                f"authorization error {error}: {query.get('error_description', '')[:200]}",
            )
        code = query.get("code")
        if not code or len(code) > 2048 or not (code.isascii() and code.isprintable()):
            raise OidcError(
                400,
                "La réponse du fournisseur d'identité ne contient pas de code de connexion.",
                "callback without code",
            )
        identity = await client.finish(request.app[keys.HTTP], flow, code, query.get("iss"))
    except OidcError as err:
        return _oidc_failure(request, err)
    store = request.app[keys.STAFF]
    try:
        user = await asyncio.to_thread(
            store.sso_user,
            identity.issuer,
            identity.subject,
            identity.login,
            identity.display_name,
        )
    except ValueError as err:
        return _oidc_failure(
            request, OidcError(403, f"Connexion impossible : {err}.", f"account refused: {err}")
        )
    token, _ = await asyncio.to_thread(store.open_session, user)
    log.info("console SSO login: %s (%s)", user.username, user.role)
    # A page of our own origin moves on: the browser then sends the Strict session
    # cookie, which it would not on a redirect chain that started at the provider.
    response = render(request, "login_done.html", target=_landing(user, flow.target))
    set_session_cookie(response, request, token)
    response.del_cookie(FLOW_COOKIE, path="/console/login/oidc")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    await check_csrf(request, form.get("csrf", ""))
    token = request.cookies.get(SESSION_COOKIE, "")
    await asyncio.to_thread(request.app[keys.STAFF].close_session, token)
    response = web.HTTPFound("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def staff_ctx(app: web.Application) -> AsyncIterator[None]:
    """The staff store, on the gateway's database engine (``database_ctx`` runs first);
    creates the account "admin" from CONSOLE_ADMIN_PASSWORD when no active admin exists."""
    settings = app[keys.SETTINGS]
    store = StaffStore(app[keys.STORE].engine, session_hours=settings.console_session_hours)
    await asyncio.to_thread(ensure_admin, store, settings.console_admin_password)
    app[keys.STAFF] = store
    yield


def setup(app: web.Application) -> None:
    """The console's own routes and resources (login, logout, static files, staff store)."""
    throttle = LoginThrottle()
    # Failures counted across replicas when the bus is Redis (create_app made it first).
    throttle.failures = app[keys.BUS].failure_log("login", throttle.window_s)
    app[keys.THROTTLE] = throttle
    oidc = app[keys.SETTINGS].oidc
    if oidc is not None:
        app[keys.OIDC] = OidcClient(oidc)
    app.cleanup_ctx.append(staff_ctx)
    app.router.add_get("/console/login", login_page)
    app.router.add_post("/console/login", login)
    app.router.add_get("/console/login/oidc", oidc_start)
    app.router.add_get(CALLBACK_PATH, oidc_callback)
    app.router.add_post("/console/logout", logout)
    app.router.add_static("/console/static/", HERE / "static")
