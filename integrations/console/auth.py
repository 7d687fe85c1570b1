"""Staff accounts and console sessions: hashed passwords, roles, cookies, CSRF.

Mediators and admins log in to the consoles served by the gateway. Passwords are kept
as Argon2 hashes; a session is a random token in an HttpOnly, SameSite=Strict cookie,
stored server-side only as its SHA-256 (a database leak does not give live sessions).
Every state-changing request carries the session's CSRF token (form field ``csrf``,
header ``X-CSRF-Token`` or, for WebSockets, query parameter ``csrf``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from ipaddress import ip_address
from urllib.parse import quote

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine

from common.db import Base, as_utc, make_session_factory, session_scope
from integrations import keys
from integrations.errors import ApiError
from integrations.messages import utcnow
from integrations.origin import same_origin

log = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
MIN_PASSWORD_CHARS = 10
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

_hasher = PasswordHasher()
# Verifying against this keeps the time of an unknown user's login equal to a known one's.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class StaffRole(StrEnum):
    MEDIATOR = "mediator"
    ADMIN = "admin"


ROLE_LABELS = {StaffRole.MEDIATOR: "médiateur", StaffRole.ADMIN: "administrateur"}


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str  # the first name citizens see ("Annick a rejoint la conversation")
    role: StaffRole

    def can(self, role: StaffRole) -> bool:
        """Admins may do everything mediators may."""
        return self.role is StaffRole.ADMIN or self.role is role


@dataclass(frozen=True)
class ConsoleSession:
    user: StaffUser
    csrf_token: str


class StaffAccount(Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint("role in ('mediator', 'admin')", name="ck_staff_users_role"),)

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)


TABLES = [StaffAccount.__table__, StaffSession.__table__]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_username(username: str) -> str:
    name = username.strip().lower()
    if not (2 <= len(name) <= 64) or not set(name) <= USERNAME_CHARS:
        raise ValueError(
            "l'identifiant doit faire 2 à 64 caractères parmi a-z, 0-9, « . », « _ » et « - »"
        )
    return name


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"le mot de passe doit faire au moins {MIN_PASSWORD_CHARS} caractères")


class StaffStore:
    """Accounts and sessions (synchronous; the gateway calls it through ``to_thread``)."""

    def __init__(self, engine: Engine, session_hours: int = 8) -> None:
        self.engine = engine
        self.session_lifetime = timedelta(hours=session_hours)
        self._sessions = make_session_factory(engine)

    def create_tables(self) -> None:
        Base.metadata.create_all(self.engine, tables=TABLES)

    def add_user(
        self, username: str, display_name: str, password: str, role: StaffRole | str
    ) -> StaffUser:
        """Create an account; ``ValueError`` (French reason) for an invalid or taken one."""
        name = validate_username(username)
        validate_password(password)
        display = display_name.strip()
        if not display or len(display) > 64:
            raise ValueError("le prénom affiché doit faire 1 à 64 caractères")
        with session_scope(self._sessions) as session:
            taken = session.execute(
                select(StaffAccount.id).where(StaffAccount.username == name)
            ).first()
            if taken:
                raise ValueError(f"l'identifiant « {name} » existe déjà")
            account = StaffAccount(
                username=name,
                display_name=display,
                password_hash=_hasher.hash(password),
                role=StaffRole(role).value,
            )
            session.add(account)
            session.flush()
            return _user(account)

    def set_password(self, username: str, password: str) -> None:
        validate_password(password)
        with session_scope(self._sessions) as session:
            account = self._account(session, username)
            account.password_hash = _hasher.hash(password)
            session.execute(delete(StaffSession).where(StaffSession.user_id == account.id))

    def set_active(self, username: str, active: bool) -> None:
        with session_scope(self._sessions) as session:
            account = self._account(session, username)
            account.active = active
            if not active:
                session.execute(delete(StaffSession).where(StaffSession.user_id == account.id))

    def users(self) -> list[tuple[StaffUser, bool]]:
        with session_scope(self._sessions) as session:
            rows = session.execute(select(StaffAccount).order_by(StaffAccount.username)).scalars()
            return [(_user(row), bool(row.active)) for row in rows]

    def count(self) -> int:
        with session_scope(self._sessions) as session:
            return session.execute(select(func.count(StaffAccount.id))).scalar_one()

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        with session_scope(self._sessions) as session:
            account = session.execute(
                select(StaffAccount).where(StaffAccount.username == username.strip().lower())
            ).scalar_one_or_none()
            stored = account.password_hash if account is not None else _DUMMY_HASH
            try:
                _hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if account is None or not account.active:
                return None
            if _hasher.check_needs_rehash(stored):
                account.password_hash = _hasher.hash(password)
            return _user(account)

    def open_session(self, user: StaffUser) -> tuple[str, ConsoleSession]:
        """A new session for ``user``: the cookie token and the session."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow()
        with session_scope(self._sessions) as session:
            session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
            session.add(
                StaffSession(
                    token_hash=_token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
        return token, ConsoleSession(user=user, csrf_token=csrf)

    def session(self, token: str) -> ConsoleSession | None:
        """The live session of a cookie token; its expiry slides with use."""
        now = utcnow()
        with session_scope(self._sessions) as session:
            row = session.execute(
                select(StaffSession, StaffAccount)
                .join(StaffAccount, StaffAccount.id == StaffSession.user_id)
                .where(StaffSession.token_hash == _token_hash(token))
            ).first()
            if row is None:
                return None
            stored, account = row
            if as_utc(stored.expires_at) < now or not account.active:
                session.delete(stored)
                return None
            session.execute(
                update(StaffSession)
                .where(StaffSession.token_hash == stored.token_hash)
                .values(expires_at=now + self.session_lifetime)
            )
            return ConsoleSession(user=_user(account), csrf_token=stored.csrf_token)

    def close_session(self, token: str) -> None:
        with session_scope(self._sessions) as session:
            session.execute(
                delete(StaffSession).where(StaffSession.token_hash == _token_hash(token))
            )

    @staticmethod
    def _account(session, username: str) -> StaffAccount:  # type: ignore[no-untyped-def]
        account = session.execute(
            select(StaffAccount).where(StaffAccount.username == username.strip().lower())
        ).scalar_one_or_none()
        if account is None:
            raise ValueError(f"aucun compte « {username} »")
        return account


def _user(account: StaffAccount) -> StaffUser:
    return StaffUser(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=StaffRole(account.role),
    )


class LoginThrottle:
    """At most ``limit`` failed logins per username and per address in ``window_s``."""

    def __init__(self, limit: int = 5, window_s: float = 900.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> int:
        """Failures of ``key`` inside the window; expired ones (and empty keys) are dropped."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        cutoff = time.monotonic() - self.window_s
        while failures and failures[0] < cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return len(failures)

    def blocked(self, *keys_: str) -> bool:
        return any(self._recent(k) >= self.limit for k in keys_)

    def failed(self, *keys_: str) -> None:
        for key in keys_:
            self._failures[key].append(time.monotonic())

    def succeeded(self, *keys_: str) -> None:
        for key in keys_:
            self._failures.pop(key, None)


class PageError(Exception):
    """An HTML answer (redirect to the login page, 403 page) raised from deep in a handler."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


def cookie_secure(request: web.Request) -> bool:
    """Secure cookies unless configured otherwise, or plain HTTP on the loopback interface."""
    configured = request.app[keys.SETTINGS].console_cookie_secure
    if configured is not None:
        return configured
    if request.secure or request.headers.get("X-Forwarded-Proto") == "https":
        return True
    host = request.host
    host = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    try:
        return not ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    hours = request.app[keys.SETTINGS].console_session_hours
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=hours * 3600,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request),
    )


async def current_session(request: web.Request) -> ConsoleSession | None:
    """The console session of this request (cached on the request), or None."""
    if "console_session" in request:
        return request["console_session"]
    token = request.cookies.get(SESSION_COOKIE)
    found = None
    if token and len(token) < 200:
        found = await asyncio.to_thread(request.app[keys.STAFF].session, token)
    request["console_session"] = found
    return found


async def current_user(request: web.Request) -> StaffUser | None:
    session = await current_session(request)
    return session.user if session is not None else None


async def require_page(request: web.Request, role: StaffRole = StaffRole.MEDIATOR) -> StaffUser:
    """The logged-in user of a console page: anonymous → login page, wrong role → 403 page."""
    user = await current_user(request)
    if user is None:
        target = quote(request.path_qs, safe="/?=&")
        raise PageError(web.HTTPFound(f"/console/login?next={target}"))
    if not user.can(role):
        from integrations.console import render

        raise PageError(render(request, "forbidden.html", status=403))
    return user


async def require_api(request: web.Request, role: StaffRole = StaffRole.MEDIATOR) -> StaffUser:
    """The logged-in user of a console API call: 401 / 403 JSON otherwise."""
    user = await current_user(request)
    if user is None:
        raise ApiError(401, "unauthorized", "Connexion requise.")
    if not user.can(role):
        raise ApiError(403, "forbidden", "Accès réservé : droits insuffisants.")
    return user


async def check_csrf(request: web.Request, token: str | None) -> None:
    """Refuse a state-changing request without the session's CSRF token (or cross-origin)."""
    session = await current_session(request)
    if session is None:
        raise ApiError(401, "unauthorized", "Connexion requise.")
    if not same_origin(request):
        raise ApiError(403, "csrf_failed", "Requête refusée : origine non autorisée.")
    if not token or not hmac.compare_digest(session.csrf_token, token):
        raise ApiError(
            403,
            "csrf_failed",
            "Requête refusée : jeton de sécurité absent ou périmé. Rechargez la page.",
        )
