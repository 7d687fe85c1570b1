"""Agents' sign-in with the council's single sign-on, over OpenID Connect.

    GET /console/login/oidc?next=…        → the provider's authorization page
    GET /console/login/oidc/callback?…    → back from it: a console session, role agent

Works with any OpenID Connect provider (ProConnect, a council's Keycloak…) from
``OIDC_ISSUER``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` (environment only):

- discovery from ``<issuer>/.well-known/openid-configuration`` (its issuer must be the
  configured one; endpoints over HTTPS except on loopback), cached for an hour;
- authorization code flow with PKCE (S256); ``state``, ``nonce`` and the code verifier
  are kept server-side for ten minutes, under a random id in an HttpOnly cookie of the
  browser that started the sign-in, and used once;
- the code is exchanged with the client secret (``client_secret_basic``, or
  ``client_secret_post`` when the provider only accepts that);
- the ID token's signature is checked against the provider's JWKS (refreshed once when
  a key id is unknown) with an algorithm from ``SAFE_ALGORITHMS`` only, and so are its
  issuer, audience (and ``azp``), ``exp`` / ``iat`` (60 s of clock skew) and nonce;
- the login is the ``preferred_username`` claim, else the e-mail (from the ID token or
  the userinfo endpoint, whose ``sub`` must match): that is what ``data/agents.yml``'s
  ``web:`` identity names. The account (``StaffStore.sso_user``) is keyed by issuer +
  subject and created with the agent role on first sign-in.

Every failure is a French page (4xx, or 502 when the provider cannot be reached or
answers nonsense), never a 500; the English detail goes to the log.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import jwt
from jwt import PyJWK, PyJWKSet

from common.secret import same_secret
from integrations.settings import OidcSettings

log = logging.getLogger(__name__)

CALLBACK_PATH = "/console/login/oidc/callback"
FLOW_COOKIE = "console_oidc_flow"
FLOW_TTL_S = 600.0
MAX_FLOWS = 10_000  # pending sign-ins kept at once; the oldest are dropped beyond
DISCOVERY_TTL_S = 3600.0
JWKS_REFRESH_MIN_S = 60.0  # at most one JWKS refetch a minute for unknown key ids
CLOCK_SKEW_S = 60
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
# Asymmetric signatures only: never "none", never HMAC (the client secret is no key here).
SAFE_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class OidcError(Exception):
    """A failed sign-in: HTTP status, French reason for the page, English detail for logs."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


def _refused(detail: str) -> OidcError:
    return OidcError(
        403,
        "La réponse du fournisseur d'identité a été refusée (jeton d'identité invalide). "
        "Recommencez la connexion ; si cela se reproduit, prévenez l'administrateur.",
        detail,
    )


def _unreachable(detail: str) -> OidcError:
    return OidcError(
        502,
        "Le fournisseur d'identité ne répond pas correctement pour le moment. "
        "Réessayez dans quelques minutes, ou connectez-vous avec un compte local.",
        detail,
    )


@dataclass(frozen=True)
class ProviderInfo:
    """What the gateway uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """One sign-in under way, kept server-side until the browser comes back."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    target: str
    created: float


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    login: str
    display_name: str


def _secure_endpoint(url: str) -> bool:
    """HTTPS, or plain HTTP to the loopback interface (a provider on this machine)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _usable_keys(jwks: dict[str, Any] | PyJWKSet) -> list[PyJWK]:
    if isinstance(jwks, PyJWKSet):
        return list(jwks.keys)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise _unreachable("JWKS without a keys list")
    keys = []
    for data in jwks["keys"]:
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        try:
            keys.append(PyJWK.from_dict(data))
        except jwt.PyJWTError:  # a key type or curve this library does not know: skip it
            continue
    return keys


class UnknownKey(Exception):
    """The token names a key id the key set does not have (the provider rotated keys)."""


def verify_id_token(
    token: str,
    jwks: dict[str, Any] | PyJWKSet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    leeway: int = CLOCK_SKEW_S,
) -> dict[str, Any]:
    """The claims of a valid ID token for this client and sign-in, else ``OidcError``.

    Raises ``UnknownKey`` when no key of the set has the token's key id.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise _refused(f"unreadable ID token: {err}") from err
    alg = header.get("alg")
    if alg not in SAFE_ALGORITHMS:
        raise _refused(f"ID token algorithm {alg!r} is not allowed")
    kid = header.get("kid")
    key_type = _KEY_TYPES[alg[:2]]
    candidates = [
        key
        for key in _usable_keys(jwks)
        if (kid is None or key.key_id == kid)
        and key.key_type == key_type
        and key._jwk_data.get("alg", alg) == alg
    ]
    if not candidates:
        raise UnknownKey(kid)
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=client_id,
                issuer=issuer,
                leeway=leeway,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue  # maybe another key with the same (or no) key id
        except jwt.ExpiredSignatureError as err:
            raise _refused("expired ID token") from err
        except jwt.PyJWTError as err:
            raise _refused(f"invalid ID token: {err}") from err
    if claims is None:
        raise _refused("ID token signature does not match the provider's keys")
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise _refused("ID token for several audiences without azp = client id")
    if "azp" in claims and claims["azp"] != client_id:
        raise _refused("ID token azp is another client")
    sent = claims.get("nonce")
    if not same_secret(sent, nonce):
        raise _refused("ID token nonce does not match this sign-in")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise _refused("ID token without a subject")
    return claims


def identity_from_claims(issuer: str, claims: dict[str, Any]) -> Identity:
    """The account's key and login: ``preferred_username``, else the e-mail."""
    login = claims.get("preferred_username") or claims.get("email")
    if not isinstance(login, str) or not login.strip():
        raise OidcError(
            403,
            "Le fournisseur d'identité n'a transmis ni identifiant ni adresse e-mail : "
            "la connexion est impossible. Prévenez l'administrateur.",
            "no preferred_username nor email claim",
        )
    subject = claims["sub"]
    if len(subject) > 255 or len(issuer) > 255 or not subject.isprintable():
        raise _refused(f"unusable subject {subject[:80]!r}")
    name = claims.get("given_name") or claims.get("name") or login
    name = "".join(c for c in str(name) if c.isprintable())
    return Identity(
        issuer=issuer,
        subject=subject,
        login=login.strip().lower(),
        display_name=name,
    )


class OidcClient:
    """The gateway as an OpenID Connect relying party (one per application)."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._provider: ProviderInfo | None = None
        self._provider_at = 0.0
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0
        self._flows: OrderedDict[str, Flow] = OrderedDict()
        self._lock = asyncio.Lock()

    # --- provider documents ---
    async def _get_json(self, http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        try:
            async with http.get(url, timeout=HTTP_TIMEOUT) as response:
                if response.status != 200:
                    raise _unreachable(f"GET {url}: HTTP {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise _unreachable(f"GET {url}: {err!r}") from err
        if not isinstance(body, dict):
            raise _unreachable(f"GET {url}: not a JSON object")
        return body

    async def provider(self, http: aiohttp.ClientSession) -> ProviderInfo:
        if self._provider is not None and time.monotonic() - self._provider_at < DISCOVERY_TTL_S:
            return self._provider
        async with self._lock:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            doc = await self._get_json(http, url)
            issuer = doc.get("issuer")
            if not isinstance(issuer, str) or issuer.rstrip("/") != self.settings.issuer:
                raise _unreachable(f"discovery issuer {issuer!r} is not {self.settings.issuer}")
            endpoints = {}
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                value = doc.get(name)
                if not isinstance(value, str) or not _secure_endpoint(value):
                    raise _unreachable(f"discovery {name} {value!r} missing or not HTTPS")
                endpoints[name] = value
            userinfo = doc.get("userinfo_endpoint")
            if not (isinstance(userinfo, str) and _secure_endpoint(userinfo)):
                userinfo = None
            methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            self._provider = ProviderInfo(
                issuer=issuer,
                userinfo_endpoint=userinfo,
                token_auth_methods=tuple(m for m in methods if isinstance(m, str)),
                **endpoints,
            )
            self._provider_at = time.monotonic()
            return self._provider

    async def _keys(self, http: aiohttp.ClientSession, refresh: bool = False) -> dict[str, Any]:
        stale = self._jwks is None or time.monotonic() - self._jwks_at > DISCOVERY_TTL_S
        may_refresh = time.monotonic() - self._jwks_at > JWKS_REFRESH_MIN_S
        if stale or (refresh and may_refresh):
            provider = await self.provider(http)
            self._jwks = await self._get_json(http, provider.jwks_uri)
            self._jwks_at = time.monotonic()
        assert self._jwks is not None
        return self._jwks

    # --- the flow ---
    def start(self, redirect_uri: str, target: str, provider: ProviderInfo) -> tuple[str, str]:
        """A new sign-in: (flow id for the browser's cookie, authorization URL)."""
        now = time.monotonic()
        self._drop_expired(now)
        while len(self._flows) >= MAX_FLOWS:
            self._flows.popitem(last=False)
        flow = Flow(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            target=target,
            created=now,
        )
        flow_id = secrets.token_urlsafe(32)
        self._flows[flow_id] = flow
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.settings.scopes),
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": pkce_challenge(flow.verifier),
                "code_challenge_method": "S256",
            },
            quote_via=quote,
        )
        separator = "&" if "?" in provider.authorization_endpoint else "?"
        return flow_id, f"{provider.authorization_endpoint}{separator}{query}"

    def take_flow(self, flow_id: str | None, state: str | None) -> Flow:
        """The sign-in this browser started, once; its ``state`` must be the one sent."""
        self._drop_expired(time.monotonic())
        flow = self._flows.pop(flow_id, None) if flow_id else None
        if flow is None:
            raise OidcError(
                400,
                "Cette connexion a expiré ou a déjà été utilisée. Recommencez depuis la page "
                "de connexion.",
                "no pending sign-in for this browser",
            )
        if not same_secret(state, flow.state):
            raise OidcError(
                400,
                "La réponse du fournisseur d'identité ne correspond pas à votre demande de "
                "connexion (paramètre « state »). Recommencez depuis la page de connexion.",
                "state does not match the pending sign-in",
            )
        return flow

    def _drop_expired(self, now: float) -> None:
        while self._flows:
            first = next(iter(self._flows.values()))
            if now - first.created <= FLOW_TTL_S:
                break
            self._flows.popitem(last=False)

    async def finish(
        self, http: aiohttp.ClientSession, flow: Flow, code: str, iss: str | None = None
    ) -> Identity:
        """Exchange the code, verify the ID token, read the claims: who signed in.

        ``iss`` is the authorization response's issuer (RFC 9207) when the provider sends
        one: it must be ours (no mix-up with another provider)."""
        provider = await self.provider(http)
        if iss is not None and iss != provider.issuer:
            raise _refused(f"authorization response from issuer {iss!r}")
        tokens = await self._exchange(http, provider, flow, code)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise _refused("token response without id_token")
        try:
            claims = verify_id_token(
                id_token,
                await self._keys(http),
                issuer=provider.issuer,
                client_id=self.settings.client_id,
                nonce=flow.nonce,
            )
        except UnknownKey:
            try:
                claims = verify_id_token(
                    id_token,
                    await self._keys(http, refresh=True),
                    issuer=provider.issuer,
                    client_id=self.settings.client_id,
                    nonce=flow.nonce,
                )
            except UnknownKey as err:
                raise _refused(f"ID token key id {err} not in the provider's JWKS") from err
        if "preferred_username" not in claims and "email" not in claims:
            access_token = tokens.get("access_token")
            if provider.userinfo_endpoint and isinstance(access_token, str):
                claims = {**await self._userinfo(http, provider, access_token, claims), **claims}
        return identity_from_claims(provider.issuer, claims)

    async def _exchange(
        self, http: aiohttp.ClientSession, provider: ProviderInfo, flow: Flow, code: str
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier,
        }
        headers = {"Accept": "application/json"}
        client_id, secret = self.settings.client_id, self.settings.client_secret
        if (
            "client_secret_basic" not in provider.token_auth_methods
            and "client_secret_post" in provider.token_auth_methods
        ):
            form |= {"client_id": client_id, "client_secret": secret}
        else:  # RFC 6749 §2.3.1: both parts form-encoded before base64
            basic = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(basic).decode("ascii")
        try:
            async with http.post(
                provider.token_endpoint, data=form, headers=headers, timeout=HTTP_TIMEOUT
            ) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise _unreachable(f"token endpoint: {err!r}") from err
        if not isinstance(body, dict):
            raise _unreachable(f"token endpoint: HTTP {status}, not a JSON object")
        if status != 200:
            error = str(body.get("error", "?"))[:80]
            if status in (400, 401):
                raise OidcError(
                    403,
                    f"Le fournisseur d'identité a refusé la connexion ({error}). "
                    "Recommencez depuis la page de connexion.",
                    f"token endpoint: HTTP {status} {error}",
                )
            raise _unreachable(f"token endpoint: HTTP {status} {error}")
        return body

    async def _userinfo(
        self,
        http: aiohttp.ClientSession,
        provider: ProviderInfo,
        access_token: str,
        id_claims: dict[str, Any],
    ) -> dict[str, Any]:
        assert provider.userinfo_endpoint is not None
        try:
            async with http.get(
                provider.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=HTTP_TIMEOUT,
            ) as response:
                status = response.status
                signed = response.content_type == "application/jwt"
                body: Any = await (response.text() if signed else response.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise _unreachable(f"userinfo: {err!r}") from err
        if status != 200:
            raise _unreachable(f"userinfo: HTTP {status}")
        if signed:  # ProConnect signs its userinfo answers
            body = self._signed_userinfo(body, await self._keys(http), provider)
        if not isinstance(body, dict) or body.get("sub") != id_claims["sub"]:
            raise _refused("userinfo sub differs from the ID token's")
        return body

    def _signed_userinfo(
        self, token: str, jwks: dict[str, Any], provider: ProviderInfo
    ) -> dict[str, Any]:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg not in SAFE_ALGORITHMS:
                raise _refused(f"userinfo algorithm {alg!r} is not allowed")
            kid = jwt.get_unverified_header(token).get("kid")
            for key in _usable_keys(jwks):
                if kid is not None and key.key_id != kid:
                    continue
                try:
                    return jwt.decode(
                        token,
                        key.key,
                        algorithms=[alg],
                        audience=self.settings.client_id,
                        issuer=provider.issuer,
                        options={"verify_aud": False, "verify_iss": False, "require": ["sub"]},
                    )
                except jwt.InvalidSignatureError:
                    continue
        except jwt.PyJWTError as err:
            raise _refused(f"invalid signed userinfo: {err}") from err
        raise _refused("signed userinfo does not match the provider's keys")
