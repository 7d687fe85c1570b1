"""Property-based fuzzing of the console's login and endpoints: 4xx, never 5xx.

A real gateway runs in a thread on a free port; Hypothesis sends it what browsers never
would: broken multipart and urlencoded bodies, invalid UTF-8, NUL, lone surrogates,
huge and odd values, with and without the login form's CSRF cookie, to the login, logout
and single sign-on endpoints, and anonymously to every console route. The gateway must
answer each with a status under 500, and still serve the login page afterwards.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import pytest
import requests
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.app import create_app
from integrations.console.auth import LOGIN_CSRF_COOKIE
from integrations.settings import OidcSettings, Settings
from tests.gateway.conftest import staff_user
from tools.oidc import running_oidc_provider
from tools.stack import free_port

PASSWORD = "mot-de-passe-de-annick"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Gateway:
    def __init__(self, url: str, app: web.Application) -> None:
        self.url = url
        self.app = app

    def csrf_session(self) -> tuple[requests.Session, str]:
        """A client holding the login form's CSRF cookie, and the token to echo."""
        session = requests.Session()
        page = session.get(f"{self.url}/console/login", timeout=30)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token and LOGIN_CSRF_COOKIE in session.cookies
        return session, token.group(1)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("fuzz")
    closed, port = free_port(), free_port()
    with running_oidc_provider(
        f"http://127.0.0.1:{port}/console/login/oidc/callback", [], directory / "oidc.log"
    ) as provider:
        config = Settings(
            database_url=f"sqlite:///{directory / 'gateway.db'}",
            rasa_url=f"http://127.0.0.1:{closed}",
            action_server_url=f"http://127.0.0.1:{closed}/webhook",
            # SSO on, with the real provider: its callback's checks get fuzzed too.
            oidc=OidcSettings(
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
            ),
        )
        yield from _serve(config, port)


def _serve(config: Settings, port: int) -> Iterator[Gateway]:
    staff_user(config, "annick", PASSWORD, "mediator", "Annick")
    app = create_app(config)
    runner = web.AppRunner(app)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fuzzed-gateway", daemon=True)
    thread.start()
    assert ready.wait(60), "the gateway did not start"
    yield Gateway(f"http://127.0.0.1:{port}", app)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


# Text as hostile clients send it: NUL, lone surrogates, separators, long runs.
NASTY = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\ufffe", "é", "%", "&", "=", ";", "\\", "/", "\r\n", '"']
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(NASTY, st.text(max_size=3)), max_size=20).map("".join),
    st.sampled_from(["", "9" * 400, "/console//evil.example", "//evil", "\\\\evil", "admin"]),
)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _urlencoded(fields: dict[str, str]) -> bytes:
    return b"&".join(
        quote_from_bytes(_bytes(k)).encode() + b"=" + quote_from_bytes(_bytes(v)).encode()
        for k, v in fields.items()
    )


def _multipart(fields: dict[str, str], boundary: str, cut: int | None) -> bytes:
    parts = b"".join(
        b"--"
        + _bytes(boundary)
        + b'\r\nContent-Disposition: form-data; name="'
        + _bytes(k)
        + b'"\r\n\r\n'
        + _bytes(v)
        + b"\r\n"
        for k, v in fields.items()
    )
    body = parts + b"--" + _bytes(boundary) + b"--\r\n"
    return body[:cut] if cut is not None else body


FIELD_NAMES = st.sampled_from(["username", "password", "csrf", "next", "x", ""])
FIELDS = st.dictionaries(FIELD_NAMES, TEXT, max_size=5)
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-9000",
        "multipart/form-data; boundary={b}",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/json",
        "text/plain",
        "",
    ]
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    fields = draw(FIELDS)
    content_type = draw(CONTENT_TYPES)
    boundary = draw(st.one_of(st.just("fuzz-boundary"), TEXT.filter(bool)))
    kind = draw(st.sampled_from(["urlencoded", "multipart", "raw"]))
    if kind == "urlencoded":
        body = _urlencoded(fields)
    elif kind == "multipart":
        body = _multipart(fields, boundary, draw(st.none() | st.integers(0, 200)))
    else:
        body = draw(st.binary(max_size=300))
    header = content_type.replace("{b}", boundary)
    try:
        header.encode("latin-1")
    except UnicodeEncodeError:
        header = content_type.replace("{b}", "fuzz-boundary")
    return header.replace("\r", "").replace("\n", "").replace("\x00", ""), body


QUERY = st.lists(st.tuples(TEXT, TEXT), max_size=4).map(
    lambda pairs: "&".join(
        f"{quote_from_bytes(_bytes(k))}={quote_from_bytes(_bytes(v))}" for k, v in pairs
    )
)
RAW_QUERY = st.binary(max_size=60).map(lambda raw: quote_from_bytes(raw, safe="=&"))


def _assert_4xx(response: requests.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


@FUZZ
@given(body=bodies(), with_csrf=st.booleans())
def test_the_login_form_never_answers_5xx(gateway: Gateway, body, with_csrf: bool) -> None:  # type: ignore[no-untyped-def]
    content_type, data = body
    session, token = gateway.csrf_session() if with_csrf else (requests.Session(), "")
    if with_csrf and content_type.startswith("application/x-www-form-urlencoded"):
        data = data + b"&csrf=" + token.encode()
    response = session.post(
        f"{gateway.url}/console/login",
        data=data,
        headers={"Content-Type": content_type} if content_type else {},
        allow_redirects=False,
        timeout=60,
    )
    _assert_4xx(response, f"POST /console/login {content_type!r} {data[:80]!r}")
    assert response.status_code != 302 or "console_session" in response.cookies


@FUZZ
@given(fields=FIELDS)
def test_login_fields_with_a_valid_form_never_answer_5xx(gateway: Gateway, fields) -> None:  # type: ignore[no-untyped-def]
    session, token = gateway.csrf_session()
    response = session.post(
        f"{gateway.url}/console/login",
        data=_urlencoded({**fields, "csrf": token}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=60,
    )
    _assert_4xx(response, f"login fields {fields!r}")
    assert response.status_code in (401, 400, 429), fields  # nobody guessed the password


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/console/login",
            "/console/login/oidc",
            "/console/login/oidc/callback",
            "/console/",
            "/console/closed",
        ]
    ),
    query=st.one_of(QUERY, RAW_QUERY),
    flow_cookie=st.one_of(st.none(), TEXT.map(lambda t: quote_from_bytes(_bytes(t)))),
)
def test_console_queries_never_answer_5xx(gateway: Gateway, path, query, flow_cookie) -> None:  # type: ignore[no-untyped-def]
    cookies = {"console_oidc_flow": flow_cookie} if flow_cookie else {}
    response = requests.get(
        f"{gateway.url}{path}?{query}", cookies=cookies, allow_redirects=False, timeout=60
    )
    _assert_4xx(response, f"GET {path}?{query}")
    location = response.headers.get("Location", "")
    assert not location.startswith(("//", "http://evil", "\\")), location


def _console_routes(app: web.Application) -> list[tuple[str, str]]:
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path and path.startswith("/console") and route.method in ("GET", "POST", "DELETE"):
            routes.append((route.method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(set(routes))


def test_every_console_route_refuses_anonymous_garbage(gateway: Gateway) -> None:
    routes = _console_routes(gateway.app)
    assert ("POST", "/console/login") in routes and len(routes) > 5

    @FUZZ
    @given(route=st.sampled_from(routes), body=bodies())
    def anonymous(route: tuple[str, str], body: tuple[str, bytes]) -> None:
        method, path = route
        content_type, data = body
        response = requests.request(
            method,
            f"{gateway.url}{path}",
            data=data,
            headers={"Content-Type": content_type} if content_type else {},
            allow_redirects=False,
            timeout=60,
        )
        _assert_4xx(response, f"{method} {path} {content_type!r} {data[:80]!r}")

    anonymous()


def test_the_gateway_is_healthy_after_the_fuzzing(gateway: Gateway) -> None:
    session, token = gateway.csrf_session()
    assert token
    page = session.get(f"{gateway.url}/console/login", timeout=30)
    assert page.status_code == 200 and "Connexion à la console" in page.text
