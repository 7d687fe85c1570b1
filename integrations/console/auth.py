"""Staff accounts and console sessions: hashed passwords, roles, cookies, CSRF.

Agents, mediators and admins log in to the consoles served by the gateway, with a local
password or (agents) the council's single sign-on (``integrations/console/oidc.py``,
accounts keyed by issuer + subject in ``staff_identities``). Passwords are kept
as Argon2 hashes; a session is a random token in an HttpOnly, SameSite=Strict cookie,
stored server-side only as its SHA-256 (a database leak does not give live sessions).
Every state-changing request carries the session's CSRF token (form field ``csrf``,
header ``X-CSRF-Token`` or, for WebSockets, query parameter ``csrf``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
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
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine

from common.db import Base, as_utc, make_session_factory, session_scope
from common.secret import same_secret
from integrations import keys
from integrations.console.pages import PageError, render
from integrations.console.roles import ROLE_LABELS, StaffRole, role_may
from integrations.errors import ApiError
from integrations.messages import utcnow
from integrations.origin import same_origin
from integrations.ratelimit import FailureLog

__all__ = ["ROLE_LABELS", "PageError", "StaffRole"]  # re-exported: importers use auth

log = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
MIN_PASSWORD_CHARS = 10
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

_hasher = PasswordHasher()
# Verifying against this keeps the time of an unknown user's login equal to a known one's.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


# An account without a password (single sign-on): never verifies.
NO_PASSWORD = "!sso"
# Logins of SSO accounts (preferred_username or e-mail): local ones plus "@" and "+".
SSO_LOGIN_CHARS = USERNAME_CHARS | {"@", "+"}


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str  # the first name citizens see ("Annick a rejoint la conversation")
    role: StaffRole

    def can(self, role: StaffRole) -> bool:
        """Admins may do everything mediators may, and both everything agents may;
        ``pilotage`` only reads the indicators (``roles.role_may``)."""
        return role_may(self.role, role)


@dataclass(frozen=True)
class ConsoleSession:
    user: StaffUser
    csrf_token: str


ROLE_CHECK = "role in ('agent', 'mediator', 'admin', 'pilotage')"


class StaffAccount(Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="ck_staff_users_role"),)

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


class StaffIdentity(Base):
    """The single sign-on identity of an account: issuer + subject, never the login."""

    __tablename__ = "staff_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_staff_identities_subject"),)

    id = Column(Integer, primary_key=True)
    issuer = Column(String(255), nullable=False)
    subject = Column(String(255), nullable=False)
    user_id = Column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


TABLES = [StaffAccount.__table__, StaffSession.__table__, StaffIdentity.__table__]


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
        """The active account with this login and password, else None (one Argon2 check
        in every case, so that an unknown login takes as long as a wrong password)."""
        name = username.strip().lower()
        valid = set(name) <= USERNAME_CHARS and 0 < len(name) <= 64
        with session_scope(self._sessions) as session:
            account = None
            if valid:
                account = session.execute(
                    select(StaffAccount).where(StaffAccount.username == name)
                ).scalar_one_or_none()
            stored = account.password_hash if account is not None else _DUMMY_HASH
            if stored == NO_PASSWORD:  # single sign-on account: same time, never a match
                stored, account = _DUMMY_HASH, None
            try:
                verify_password(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if account is None or not account.active:
                return None
            if _hasher.check_needs_rehash(stored):
                account.password_hash = _hasher.hash(password)
            return _user(account)

    def sso_user(self, issuer: str, subject: str, login: str, display_name: str) -> StaffUser:
        """The account of this SSO identity, created with the agent role on first sign-in.

        ``ValueError`` (French reason) when the login is unusable, taken by another
        account (a local one, say « admin »: an SSO identity never takes it over) or
        the account was disabled.
        """
        name = login.strip().lower()
        if not (2 <= len(name) <= 64) or not set(name) <= SSO_LOGIN_CHARS:
            raise ValueError(
                f"l'identifiant « {name[:80]} » fourni par l'authentification unique "
                "n'est pas utilisable"
            )
        display = " ".join(display_name.split())[:64] or name
        with session_scope(self._sessions) as session:
            row = session.execute(
                select(StaffAccount)
                .join(StaffIdentity, StaffIdentity.user_id == StaffAccount.id)
                .where(StaffIdentity.issuer == issuer, StaffIdentity.subject == subject)
            ).scalar_one_or_none()
            if row is not None:
                if not row.active:
                    raise ValueError(f"le compte « {row.username} » est désactivé")
                return _user(row)
            taken = session.execute(
                select(StaffAccount.id).where(StaffAccount.username == name)
            ).first()
            if taken:
                raise ValueError(
                    f"l'identifiant « {name} » est déjà celui d'un autre compte de la console"
                )
            account = StaffAccount(
                username=name,
                display_name=display,
                password_hash=NO_PASSWORD,
                role=StaffRole.AGENT.value,
            )
            session.add(account)
            session.flush()
            session.add(StaffIdentity(issuer=issuer, subject=subject, user_id=account.id))
            log.info("console: created SSO account « %s » (agent)", name)
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


def verify_password(stored_hash: str, password: str) -> bool:
    """The one Argon2 check of a login (raises VerificationError on a wrong password)."""
    return _hasher.verify(stored_hash, password.encode("utf-8", "surrogatepass"))


def _user(account: StaffAccount) -> StaffUser:
    return StaffUser(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=StaffRole(account.role),
    )


@dataclass(frozen=True)
class Refused:
    """A login attempt refused before any password check; retry after that many seconds."""

    retry_after_s: float


@dataclass
class _Budget:
    in_flight: int = 0
    next_check: float = 0.0  # accounts: when the next password check may start


class Reservation:
    """One password check granted by the throttle; ``finish`` it exactly once."""

    def __init__(self, throttle: LoginThrottle, keys_: tuple[str, ...], wait_s: float) -> None:
        self._throttle = throttle
        self._keys = keys_
        self.wait_s = wait_s  # sleep this long before checking (an account under attack)
        self._finished = False

    async def finish(self, succeeded: bool) -> None:
        if not self._finished:
            self._finished = True
            await self._throttle._finish(self._keys, succeeded)


class LoginThrottle:
    """How many password checks a login may cost, counted before Argon2 runs.

    Each attempt reserves its check from three budgets over a sliding ``window_s``:

    - per address: at most ``address_limit`` failed or running checks, any accounts;
    - per (account, address): at most ``pair_limit``;
    - per account, from all addresses: no hard limit (that would let anybody lock a
      mediator out), but a progressive delay: after ``account_free`` failures, an attempt
      waits ``base_delay_s`` × 2^(failures − free), at most ``max_delay_s``, before its
      check. Repeated attempts from one address are queued one delay apart (refused
      when that would mean waiting over ``max_wait_s``); the first attempt from an
      address that has not failed on this account (the rightful user's) only waits the
      delay. So failures elsewhere slow a mediator by at most ``max_delay_s``, and the
      attacker's own addresses are refused.

    A success clears the failures of its pair and of its account.

    The failures are kept in ``failures`` (``integrations/ratelimit.py``): this process's
    memory, or Redis for every replica (``Bus.failure_log``), so that N replicas do not
    give N times the attempts. The running checks are counted here, reserved with no
    ``await`` between counting and reserving, so parallel requests cannot all pass; a
    failed check is logged before it stops counting as running.
    """

    def __init__(
        self,
        pair_limit: int = 5,
        address_limit: int = 20,
        account_free: int = 5,
        base_delay_s: float = 0.5,
        max_delay_s: float = 10.0,
        max_wait_s: float = 30.0,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        failures: FailureLog | None = None,
    ) -> None:
        self.pair_limit = pair_limit
        self.address_limit = address_limit
        self.account_free = account_free
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_wait_s = max_wait_s
        self.window_s = window_s
        self.clock = clock
        self.failures = failures or FailureLog(window_s, clock)
        self._budgets: dict[str, _Budget] = {}

    def _used(self, key: str, ages: dict[str, list[float]]) -> tuple[int, float]:
        """(failures in the window + running checks, seconds until the oldest expires)."""
        failures = ages.get(key, [])
        budget = self._budgets.get(key)
        running = budget.in_flight if budget is not None else 0
        expires = self.window_s - failures[0] if failures else 1.0
        return len(failures) + running, expires

    def delay_s(self, account_failures: int) -> float:
        """Gap between two checks on an account that failed that many times."""
        if account_failures < self.account_free:
            return 0.0
        return min(
            self.base_delay_s * 2 ** (account_failures - self.account_free), self.max_delay_s
        )

    async def reserve(self, account: str, address: str) -> Reservation | Refused:
        keys_ = (f"ip:{address}", f"pair:{account}\n{address}", f"user:{account}")
        address_key, pair_key, account_key = keys_
        ages = await self.failures.ages(keys_)
        # From here to the reservation, no await: this replica's parallel attempts count.
        now = self.clock()
        address_used, expires = self._used(address_key, ages)
        if address_used >= self.address_limit:
            return Refused(retry_after_s=expires)
        pair_used, expires = self._used(pair_key, ages)
        if pair_used >= self.pair_limit:
            return Refused(retry_after_s=expires)
        delay = self.delay_s(self._used(account_key, ages)[0])
        account_budget = self._budgets.setdefault(account_key, _Budget())
        if pair_used == 0:
            # A first attempt from this address (the rightful user's, typically): slowed
            # by the account's delay, never queued behind the attackers' attempts.
            wait = delay
        else:
            start = max(now, account_budget.next_check)
            if start - now > self.max_wait_s:
                return Refused(retry_after_s=start - now - self.max_wait_s)
            account_budget.next_check = start + delay
            wait = start - now
        for key in keys_:
            self._budgets.setdefault(key, _Budget()).in_flight += 1
        return Reservation(self, keys_, wait_s=wait)

    async def _finish(self, keys_: tuple[str, ...], succeeded: bool) -> None:
        _, pair_key, account_key = keys_
        try:
            if succeeded:
                await self.failures.clear((pair_key, account_key))
            else:
                await self.failures.add(keys_)
        finally:
            now = self.clock()
            for key in keys_:
                budget = self._budgets.setdefault(key, _Budget())
                budget.in_flight -= 1
                if succeeded and key != keys_[0]:
                    budget.next_check = 0.0
                if not budget.in_flight and budget.next_check <= now:
                    del self._budgets[key]  # idle: the memory stays bounded


def cookie_secure(request: web.Request) -> bool:
    """Secure cookies unless configured otherwise, or plain HTTP on the loopback interface.

    ``request.secure`` is the client's scheme: behind a trusted proxy, the one it told
    (integrations/forwarded.py); a forwarding header from anybody else changes nothing.
    """
    configured = request.app[keys.SETTINGS].console_cookie_secure
    if configured is not None:
        return configured
    if request.secure:
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
    if keys.CONSOLE_SESSION in request:
        return request[keys.CONSOLE_SESSION]
    token = request.cookies.get(SESSION_COOKIE)
    found = None
    if token and len(token) < 200:
        found = await asyncio.to_thread(request.app[keys.STAFF].session, token)
    request[keys.CONSOLE_SESSION] = found
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
    if not same_secret(token, session.csrf_token):
        raise ApiError(
            403,
            "csrf_failed",
            "Requête refusée : jeton de sécurité absent ou périmé. Rechargez la page.",
        )
