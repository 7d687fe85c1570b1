"""Login that holds: bounded password checks under parallel attacks, no lockout of the
rightful user by somebody else, forwarding headers believed from trusted proxies only,
broken bodies refused with a 400.

The Argon2 checks are counted at ``integrations.console.auth.verify_password``, the one
function every password check goes through (timing-independent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from ipaddress import ip_network
from pathlib import Path

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from common.migrate import upgrade
from integrations.app import create_app
from integrations.console import auth
from integrations.console.auth import SESSION_COOKIE, LoginThrottle
from integrations.forwarded import TrustedProxies, parse_networks
from integrations.keys import THROTTLE
from integrations.ratelimit import SWEEP_EVERY, FailureLog
from integrations.settings import Settings
from tests.gateway.conftest import console_login, login_form_token, staff_user

PASSWORD = "mot-de-passe-de-annick"


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


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 password check made from now on (the password tried)."""
    made: list[str] = []
    lock = threading.Lock()
    real = auth.verify_password

    def counting(stored_hash: str, password: str) -> bool:
        with lock:
            made.append(password)
        return real(stored_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return made


async def _client(aiohttp_client, settings: Settings, throttle: LoginThrottle | None = None):  # type: ignore[no-untyped-def]
    staff_user(settings, "annick", PASSWORD, "mediator", "Annick")
    app = create_app(settings)
    if throttle is not None:
        app[THROTTLE] = throttle
    return await aiohttp_client(app)


async def _attempt(client, username: str, password: str, forwarded_for: str | None = None) -> int:  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = await login_form_token(client)
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": token},
        headers=headers,
        allow_redirects=False,
    )
    return response.status


async def test_parallel_wrong_passwords_cost_at_most_five_checks(
    aiohttp_client, base_settings, checks
) -> None:  # type: ignore[no-untyped-def]
    client = await _client(aiohttp_client, base_settings)
    statuses = await asyncio.gather(*(_attempt(client, "annick", f"essai {n}") for n in range(20)))
    assert len(checks) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 15
    # Still refused afterwards, without any new check.
    assert await _attempt(client, "annick", "encore") == 429
    assert len(checks) == 5


async def test_one_address_gets_at_most_twenty_checks_over_all_accounts(
    aiohttp_client, base_settings, checks
) -> None:  # type: ignore[no-untyped-def]
    client = await _client(aiohttp_client, base_settings)
    statuses = await asyncio.gather(*(_attempt(client, f"compte{n}", "devine") for n in range(30)))
    assert len(checks) == 20
    assert statuses.count(429) == 10


async def test_the_rightful_user_logs_in_while_others_fail_on_her_name(
    aiohttp_client, base_settings, checks
) -> None:  # type: ignore[no-untyped-def]
    # Behind the council's proxy (trusted), attackers come from four addresses at once.
    settings = dataclasses.replace(base_settings, trusted_proxies=parse_networks(["127.0.0.1"]))
    throttle = LoginThrottle(max_delay_s=1.0)
    client = await _client(aiohttp_client, settings, throttle)
    attackers = [f"203.0.113.{n}" for n in range(1, 5)]
    statuses = await asyncio.gather(
        *(_attempt(client, "annick", f"essai {n}", attackers[n % 4]) for n in range(40))
    )
    assert statuses.count(401) == 20 and statuses.count(429) == 20
    assert len(checks) == 20  # five per attacking address
    # Annick, from her own address: slowed by at most the account's delay, not locked out.
    started = time.monotonic()
    assert await _attempt(client, "annick", PASSWORD, "198.51.100.7") == 302
    assert time.monotonic() - started < 5
    # The attackers stay refused, without a check.
    client.session.cookie_jar.clear()
    assert await _attempt(client, "annick", "encore", attackers[0]) == 429
    assert len(checks) == 21


async def test_a_success_clears_the_account_delay(aiohttp_client, base_settings) -> None:  # type: ignore[no-untyped-def]
    throttle = LoginThrottle()
    for n in range(6):
        failed = await throttle.reserve("annick", f"203.0.113.{n}")
        assert isinstance(failed, auth.Reservation)
        await failed.finish(succeeded=False)
    assert throttle.delay_s(6) > 0
    first = await throttle.reserve("annick", "198.51.100.7")
    assert isinstance(first, auth.Reservation) and first.wait_s > 0
    await first.finish(succeeded=True)
    again = await throttle.reserve("annick", "198.51.100.7")
    assert isinstance(again, auth.Reservation) and again.wait_s == 0
    await again.finish(succeeded=True)


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    aiohttp_client, base_settings, checks
) -> None:  # type: ignore[no-untyped-def]
    client = await _client(aiohttp_client, base_settings)  # no trusted proxy
    statuses = [
        await _attempt(client, "annick", "faux", forwarded_for=f"192.0.2.{n}") for n in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2  # every request counted on the real peer
    assert len(checks) == 5


async def test_a_secure_cookie_behind_a_trusted_https_proxy(
    aiohttp_client, base_settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    trusted = dataclasses.replace(
        base_settings,
        database_url=f"sqlite:///{tmp_path / 'trusted.db'}",
        trusted_proxies=parse_networks(["127.0.0.0/8"]),
    )
    headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    for settings, secure in ((trusted, True), (base_settings, False)):
        client = await _client(aiohttp_client, settings)
        token = await login_form_token(client)
        response = await client.post(
            "/console/login",
            data={"username": "annick", "password": PASSWORD, "csrf": token},
            headers=headers,
            allow_redirects=False,
        )
        assert response.status == 302
        # Plain HTTP on 127.0.0.1 otherwise: not Secure (local use), whatever the header says.
        assert bool(response.cookies[SESSION_COOKIE]["secure"]) is secure


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=xyz", b"garbage without boundary"),
        ("multipart/form-data", b"--x\r\n"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
        ),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="u"\r\n'
            b"Content-Type: text/plain; charset=nope\r\n\r\nv\r\n--xyz--\r\n",
        ),
        ("application/x-www-form-urlencoded", b"username=%ff%fe&password=\xff"),
        ("application/x-www-form-urlencoded; charset=bogus", b"username=a"),
    ],
)
async def test_malformed_bodies_on_login_are_a_400_page(
    aiohttp_client, base_settings, content_type, body
) -> None:  # type: ignore[no-untyped-def]
    client = await _client(aiohttp_client, base_settings)
    response = await client.post(
        "/console/login", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400
    assert "Formulaire illisible" in await response.text()
    assert response.content_type == "text/html"
    await console_login(client, "annick", PASSWORD)  # and the gateway is fine
    logout = await client.post("/console/logout", data=body, headers={"Content-Type": content_type})
    assert logout.status == 400
    # A broken logout body ends nothing: the session still opens the console.
    page = await client.get("/console/", allow_redirects=False)
    assert page.status == 200


async def test_nul_and_lone_surrogates_are_wrong_credentials_not_errors(
    aiohttp_client, base_settings, checks
) -> None:  # type: ignore[no-untyped-def]
    client = await _client(aiohttp_client, base_settings)
    cases = (("ann\x00ick", PASSWORD, 401), ("annick", "mot\x00passe", 401), ("a", "\udc80", 400))
    for username, password, status in cases:
        token = await login_form_token(client)
        body = f"username={username}&password={password}&csrf={token}"
        response = await client.post(
            "/console/login",
            data=body.encode("utf-8", "surrogatepass"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == status  # invalid UTF-8 is a broken body: 400
    assert len(checks) == 2  # the NUL cases: one (dummy) check each, no database query


def _headers(**values: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


def test_the_client_is_the_rightmost_untrusted_hop() -> None:
    proxies = TrustedProxies(parse_networks(["10.0.0.0/8", "2001:db8::/32"]))
    chain = _headers(X_Forwarded_For="203.0.113.9, 198.51.100.7, 10.0.0.2")
    # 203.0.113.9 is what the client claimed; 198.51.100.7 is who reached our proxy.
    assert proxies.client(chain) == ("198.51.100.7", None)
    assert proxies.client(_headers(X_Forwarded_For="198.51.100.7", X_Forwarded_Proto="https")) == (
        "198.51.100.7",
        "https",
    )
    assert proxies.client(
        _headers(Forwarded='for=198.51.100.7;proto=https, for="[2001:db8::5]:443"')
    ) == ("198.51.100.7", "https")
    assert proxies.client(_headers(Forwarded='for="[2001:db8:cafe::17]:4711"')) == (
        "2001:db8:cafe::17",
        None,
    )
    assert proxies.client(_headers(X_Forwarded_For="not an address")) is None
    assert proxies.client(_headers(Forwarded="for=unknown;;proto")) is None
    assert proxies.client(_headers(X_Forwarded_Proto="gopher")) is None
    assert proxies.trusted(ip_network("10.1.2.3/32")[0])


def test_trusted_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.config import ConfigError

    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1, ::1")
    assert [str(n) for n in Settings.from_env().trusted_proxies] == [
        "10.0.0.0/8",
        "192.0.2.1/32",
        "::1/128",
    ]
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ConfigError, match="GATEWAY_TRUSTED_PROXIES"):
        Settings.from_env()


async def _whoami(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"remote": request.remote, "secure": request.secure})
        await socket.close()
        return socket
    return web.json_response({"remote": request.remote, "secure": request.secure})


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [
        ((), {"remote": "127.0.0.1", "secure": False}),
        (("127.0.0.1",), {"remote": "198.51.100.7", "secure": True}),
        (("10.0.0.0/8",), {"remote": "127.0.0.1", "secure": False}),  # another proxy
    ],
)
async def test_requests_and_websockets_see_the_client_a_trusted_proxy_names(
    aiohttp_client, base_settings, trusted, seen
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(base_settings, trusted_proxies=parse_networks(trusted))
    app = create_app(settings)
    app.router.add_get("/test-whoami", _whoami)
    client = await aiohttp_client(app)
    headers = {"Forwarded": "for=198.51.100.7;proto=https"}
    assert await (await client.get("/test-whoami", headers=headers)).json() == seen
    socket = await client.ws_connect("/test-whoami", headers=headers)
    assert await socket.receive_json() == seen
    await socket.close()


async def test_the_failure_log_forgets_the_window_and_stays_bounded() -> None:
    now = [0.0]
    failures = FailureLog(window_s=10.0, clock=lambda: now[0])
    await failures.add(["ip:a", "user:x"])
    now[0] = 4.0
    await failures.add(["ip:a"])
    assert await failures.ages(["ip:a", "user:x", "ip:b"]) == {
        "ip:a": [4.0, 0.0],
        "user:x": [4.0],
    }
    now[0] = 12.0  # the first failure is over 10 s old
    assert await failures.ages(["ip:a", "user:x"]) == {"ip:a": [8.0]}
    # Keys nobody asks about again are swept while others fail.
    await failures.add(["ip:stale"])
    now[0] = 100.0
    for n in range(SWEEP_EVERY):
        await failures.add([f"ip:{n}"])
    assert "ip:stale" not in failures._failures
    await failures.clear(["ip:0"])
    assert await failures.ages(["ip:0", "ip:1"]) == {"ip:1": [0.0]}
