"""Agents' single sign-on against a real OpenID Connect provider (npm's oidc-provider).

End to end in the real browser: the console's login page, the provider's pages, back to
the console with a session of role agent. Then what must be refused: a tampered
``state``, a replayed callback, the provider's own refusal, an unreachable provider, and
ID tokens that are not this sign-in's (other nonce, other key, expired, wrong audience
or issuer, "none" or HMAC algorithms), checked with real keys generated here.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from common.db import make_engine
from common.migrate import upgrade
from integrations import keys
from integrations.app import create_app
from integrations.console.auth import SESSION_COOKIE, StaffRole, StaffStore, require_page
from integrations.console.oidc import (
    FLOW_COOKIE,
    OidcError,
    UnknownKey,
    identity_from_claims,
    verify_id_token,
)
from integrations.settings import OidcSettings, Settings
from tests.gateway.conftest import staff_user
from tools.oidc import TestUser, running_oidc_provider
from tools.stack import free_port

LABEL = "Keycloak de test"
USERS = [
    TestUser(
        sub="8d1c7f0e-agent-anne",
        password="mot-de-passe-sso",
        claims={
            "preferred_username": "a.martin",
            "email": "a.martin@departement.example",
            "email_verified": True,
            "given_name": "Anne",
            "name": "Anne Martin",
        },
    ),
    TestUser(
        sub="c2f9-agent-yann",
        password="autre-mot-de-passe",
        claims={"email": "Y.Le-Gall@departement.example", "given_name": "Yann"},
    ),
]


@pytest.fixture
def base_settings(tmp_path: Path) -> Settings:
    """A gateway on a fresh SQLite database (migrated); Rasa and the action server on
    closed ports."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        rasa_url="http://127.0.0.1:9",
        action_server_url="http://127.0.0.1:9/webhook",
    )
    upgrade(settings.database_url)
    return settings


async def _agent_page(request: web.Request) -> web.Response:
    user = await require_page(request, StaffRole.AGENT)
    return web.Response(text=f"agent page of {user.username} ({user.role}, {user.display_name})")


@pytest.fixture
async def sso(aiohttp_client, base_settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The gateway with OIDC on, and the real provider that knows its redirect URI."""
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/console/login/oidc/callback"
    with running_oidc_provider(redirect, USERS, tmp_path / "oidc-provider.log") as provider:
        settings = dataclasses.replace(
            base_settings,
            oidc=OidcSettings(
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                provider_label=LABEL,
            ),
        )
        app = create_app(settings)
        app.router.add_get("/console/test-agent", _agent_page)
        client = await aiohttp_client(app, server_kwargs={"port": port})
        client.provider = provider  # type: ignore[attr-defined]
        yield client


async def _sign_in(browser, client, login: str, password: str):  # type: ignore[no-untyped-def]
    page = await browser.new_page()
    await page.goto(str(client.make_url("/console/login?next=/console/test-agent")))
    await page.get_by_role("link", name=f"Se connecter avec {LABEL}").click()
    await page.get_by_label("Identifiant").fill(login)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Valider").click()
    await page.wait_for_url("**/console/test-agent")
    return page


@pytest.mark.browser
async def test_an_agent_signs_in_with_the_sso_and_gets_an_agent_session(sso, browser) -> None:  # type: ignore[no-untyped-def]
    page = await _sign_in(browser, sso, "a.martin", "mot-de-passe-sso")
    assert "agent page of a.martin (agent, Anne)" in await page.content()
    [cookie] = [c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    session = await asyncio.to_thread(sso.app[keys.STAFF].session, cookie["value"])
    assert session is not None
    assert session.user.role is StaffRole.AGENT and session.user.username == "a.martin"
    # Same cookie, same CSRF token, same expiry as a password login.
    assert len(session.csrf_token) >= 40
    assert cookie["expires"] - time.time() == pytest.approx(8 * 3600, abs=120)

    # Mediator and admin pages are not for agents: the 403 page, pointing at their page.
    for path in ("/console/", "/console/admin/"):
        response = await page.goto(str(sso.make_url(path)))
        assert response is not None and response.status == 403
        assert "Accès refusé" in await page.content()
        assert await page.get_by_role("link", name="Aller à l'assistant des agents").count() == 1

    # A second sign-in finds the same account (issuer + subject), it does not add one.
    await page.context.clear_cookies()
    await _sign_in(browser, sso, "a.martin", "mot-de-passe-sso")
    users = await asyncio.to_thread(sso.app[keys.STAFF].users)
    assert [u.username for u, _ in users] == ["a.martin"]


@pytest.mark.browser
async def test_without_preferred_username_the_login_is_the_email(sso, browser) -> None:  # type: ignore[no-untyped-def]
    page = await _sign_in(browser, sso, "Y.Le-Gall@departement.example", "autre-mot-de-passe")
    assert "agent page of y.le-gall@departement.example (agent, Yann)" in await page.content()


async def test_the_login_page_offers_the_sso_only_when_configured(
    sso, aiohttp_client, base_settings
) -> None:  # type: ignore[no-untyped-def]
    page = await (await sso.get("/console/login")).text()
    assert f"Se connecter avec {LABEL}" in page
    plain = await aiohttp_client(create_app(base_settings))
    assert "Se connecter avec" not in await (await plain.get("/console/login")).text()
    missing = await plain.get("/console/login/oidc", allow_redirects=False)
    assert missing.status == 404 and "pas activée" in await missing.text()


async def _start(client) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    response = await client.get(
        "/console/login/oidc?next=/console/test-agent", allow_redirects=False
    )
    assert response.status == 302
    assert FLOW_COOKIE in response.cookies
    location = urlsplit(response.headers["Location"])
    assert location.netloc == urlsplit(client.provider.issuer).netloc
    return parse_qs(location.query)


async def test_the_authorization_request_uses_pkce_state_and_nonce(sso) -> None:  # type: ignore[no-untyped-def]
    first, second = await _start(sso), await _start(sso)
    assert first["code_challenge_method"] == ["S256"] and first["response_type"] == ["code"]
    for name in ("state", "nonce", "code_challenge"):
        assert len(first[name][0]) >= 43 and first[name] != second[name]
    assert first["scope"] == ["openid profile email"]


async def test_a_tampered_state_is_refused_and_the_flow_is_spent(sso) -> None:  # type: ignore[no-untyped-def]
    query = await _start(sso)
    state = query["state"][0]
    tampered = await sso.get(
        "/console/login/oidc/callback", params={"code": "abc", "state": state[:-2] + "xx"}
    )
    assert tampered.status == 400
    assert "« state »" in await tampered.text()
    assert SESSION_COOKIE not in tampered.cookies
    # The pending sign-in is gone: replaying with the right state does not work either.
    replay = await sso.get("/console/login/oidc/callback", params={"code": "abc", "state": state})
    assert replay.status == 400 and "expiré ou a déjà été utilisée" in await replay.text()


async def test_a_callback_from_another_browser_is_refused(sso, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    query = await _start(sso)
    sso.session.cookie_jar.clear()  # the victim's browser never started this sign-in
    response = await sso.get(
        "/console/login/oidc/callback", params={"code": "abc", "state": query["state"][0]}
    )
    assert response.status == 400 and "Recommencez" in await response.text()


async def test_the_providers_refusal_is_a_french_page(sso) -> None:  # type: ignore[no-untyped-def]
    query = await _start(sso)
    response = await sso.get(
        "/console/login/oidc/callback",
        params={"error": "access_denied", "state": query["state"][0]},
    )
    assert response.status == 403
    assert "pas autorisé la connexion (access_denied)" in await response.text()


async def test_a_forged_code_is_refused_by_the_real_provider(sso) -> None:  # type: ignore[no-untyped-def]
    query = await _start(sso)
    response = await sso.get(
        "/console/login/oidc/callback", params={"code": "forged", "state": query["state"][0]}
    )
    assert response.status == 403
    assert "a refusé la connexion (invalid_grant)" in await response.text()


async def test_a_response_from_another_issuer_is_refused(sso) -> None:  # type: ignore[no-untyped-def]
    query = await _start(sso)
    response = await sso.get(
        "/console/login/oidc/callback",
        params={"code": "abc", "state": query["state"][0], "iss": "https://evil.example"},
    )
    assert response.status == 403 and "jeton d&#39;identité invalide" in await response.text()


async def test_an_unreachable_provider_is_a_french_page_not_a_500(
    aiohttp_client, base_settings
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(
        base_settings,
        oidc=OidcSettings(
            issuer=f"http://127.0.0.1:{free_port()}", client_id="c", client_secret="s"
        ),
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/console/login/oidc", allow_redirects=False)
    assert response.status == 502
    assert "ne répond pas correctement" in await response.text()


# --- ID token verification, with real keys ---
ISSUER = "https://sso.departement.example/realms/agents"
CLIENT = "assistant-console"
NONCE = "n-0S6_WzA2Mj"


def _rsa_key(kid: str):  # type: ignore[no-untyped-def]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def provider_key():  # type: ignore[no-untyped-def]
    return _rsa_key("k1")


def _claims(**changes):  # type: ignore[no-untyped-def]
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "s-1", "aud": CLIENT, "iat": now, "exp": now + 300}
    return {**claims, "nonce": NONCE, **changes}


def _verify(token: str, jwk: dict):  # type: ignore[no-untyped-def]
    return verify_id_token(token, {"keys": [jwk]}, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def test_a_valid_id_token_is_accepted(provider_key) -> None:  # type: ignore[no-untyped-def]
    private, jwk = provider_key
    token = jwt.encode(_claims(), private, algorithm="RS256", headers={"kid": "k1"})
    assert _verify(token, jwk)["sub"] == "s-1"


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({"nonce": "another-sign-in"}, "nonce"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 600}, "expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "issued in the future"),
        ({"aud": "another-client"}, "audience"),
        ({"aud": [CLIENT, "another-client"]}, "several audiences without azp"),
        ({"azp": "another-client"}, "azp"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": None}, "no exp"),
    ],
)
def test_id_tokens_of_another_sign_in_are_refused(provider_key, changes, what) -> None:  # type: ignore[no-untyped-def]
    private, jwk = provider_key
    claims = {k: v for k, v in _claims(**changes).items() if v is not None}
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(OidcError) as refused:
        _verify(token, jwk)
    assert refused.value.status == 403, what
    assert "refusée" in refused.value.reason


def test_an_id_token_signed_by_another_key_is_refused(provider_key) -> None:  # type: ignore[no-untyped-def]
    _, jwk = provider_key
    attacker, _ = _rsa_key("k1")  # same key id, other key
    token = jwt.encode(_claims(), attacker, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(OidcError, match="signature"):
        _verify(token, jwk)
    unknown = jwt.encode(_claims(), attacker, algorithm="RS256", headers={"kid": "k9"})
    with pytest.raises(UnknownKey):  # the caller refetches the JWKS once, then refuses
        _verify(unknown, jwk)


def test_unsafe_algorithms_are_refused(provider_key) -> None:  # type: ignore[no-untyped-def]
    _, jwk = provider_key
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(OidcError, match="algorithm"):
        _verify(unsigned, jwk)

    # Algorithm confusion: HMAC "signed" with the provider's public key as the secret.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = json.dumps({"alg": "HS256", "kid": "k1"}).encode()
    signing_input = f"{b64(header)}.{b64(json.dumps(_claims()).encode())}"
    mac = hmac.new(json.dumps(jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64(mac)}"
    with pytest.raises(OidcError, match="algorithm"):
        _verify(forged, jwk)
    # An EC-signed token against an RSA key set: no key of that type.
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "k1"})
    with pytest.raises(UnknownKey):
        _verify(other, jwk)


def test_the_login_is_preferred_username_then_email() -> None:
    both = identity_from_claims(
        ISSUER, {"sub": "1", "preferred_username": "A.Martin", "email": "x@y"}
    )
    assert both.login == "a.martin"
    assert identity_from_claims(ISSUER, {"sub": "1", "email": "X@Y.fr"}).login == "x@y.fr"
    with pytest.raises(OidcError) as refused:
        identity_from_claims(ISSUER, {"sub": "1"})
    assert "ni identifiant ni adresse" in refused.value.reason


def test_an_sso_identity_never_takes_over_a_local_account(base_settings: Settings) -> None:
    staff_user(base_settings, "admin", "mot-de-passe-admin", "admin")
    store = StaffStore(make_engine(base_settings.database_url))
    with pytest.raises(ValueError, match="déjà celui d'un autre compte"):
        store.sso_user(ISSUER, "someone", "admin", "Mallory")
    agent = store.sso_user(ISSUER, "s-1", "a.martin", "Anne")
    assert agent.role is StaffRole.AGENT
    # Same subject, other issuer: another identity, and the login is then taken.
    with pytest.raises(ValueError, match="déjà celui"):
        store.sso_user("https://other.example", "s-1", "a.martin", "Anne")
    # SSO accounts have no password: nothing verifies.
    assert store.authenticate("a.martin", "!sso") is None
    assert store.authenticate("a.martin", "") is None


def test_oidc_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.config import ConfigError

    monkeypatch.delenv("OIDC_ISSUER", raising=False)
    assert Settings.from_env().oidc is None
    monkeypatch.setenv("OIDC_ISSUER", "https://sso.departement.example/realms/agents/")
    monkeypatch.setenv("OIDC_CLIENT_ID", "assistant-console")
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("OIDC_SCOPES", "openid email")
    monkeypatch.setenv("OIDC_PROVIDER_LABEL", "ProConnect")
    oidc = Settings.from_env().oidc
    assert oidc is not None
    assert oidc.issuer == "https://sso.departement.example/realms/agents"
    assert oidc.scopes == ("openid", "email") and oidc.provider_label == "ProConnect"
    assert oidc.redirect_url is None
    monkeypatch.setenv("OIDC_SCOPES", "email")
    with pytest.raises(ConfigError, match="openid"):
        Settings.from_env()
    monkeypatch.setenv("OIDC_SCOPES", "openid")
    monkeypatch.delenv("OIDC_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="OIDC_CLIENT_SECRET"):
        Settings.from_env()
