"""Console login: hashed passwords, session cookies, roles (agent, mediator, admin), CSRF,
throttling, the CLI, the role constraint of older databases."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from common.config import PROJECT_ROOT
from common.db import make_engine
from common.migrate import upgrade
from integrations.app import create_app
from integrations.console import render
from integrations.console.auth import (
    SESSION_COOKIE,
    StaffRole,
    StaffStore,
    check_csrf,
    require_api,
    require_page,
)
from integrations.settings import Settings
from tests.gateway.conftest import console_login, login_form_token, staff_user

PASSWORD = "correct horse battery"


async def _admin_page(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.ADMIN)
    return render(request, "forbidden.html")  # any page; only the access check matters


async def _mediator_api(request: web.Request) -> web.Response:
    user = await require_api(request, StaffRole.MEDIATOR)
    body = await request.json()
    await check_csrf(request, request.headers.get("X-CSRF-Token"))
    return web.json_response({"user": user.username, "echo": body})


@pytest.fixture
async def console(aiohttp_client, base_settings: Settings):  # type: ignore[no-untyped-def]
    staff_user(base_settings, "annick", PASSWORD, "mediator", "Annick")
    staff_user(base_settings, "paul", PASSWORD, "admin", "Paul")
    app = create_app(base_settings)
    app.router.add_get("/console/test-admin", _admin_page)
    app.router.add_post("/console/test-api", _mediator_api)
    return await aiohttp_client(app)


async def test_passwords_are_stored_as_argon2_hashes(base_settings: Settings) -> None:
    staff_user(base_settings, "annick", PASSWORD)
    engine = make_engine(base_settings.database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("select password_hash from staff_users")).scalar_one()
    assert stored.startswith("$argon2") and PASSWORD not in stored
    store = StaffStore(engine)
    assert store.authenticate("annick", PASSWORD) is not None
    assert store.authenticate("annick", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("a", PASSWORD, "identifiant"),
        ("Anne Marie", PASSWORD, "identifiant"),
        ("anne", "court", "au moins 10"),
    ],
)
def test_invalid_accounts_are_refused_with_a_reason(
    base_settings: Settings, username: str, password: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        staff_user(base_settings, username, password)


async def test_login_sets_an_httponly_strict_cookie_and_lands_on_next(console) -> None:  # type: ignore[no-untyped-def]
    token = await login_form_token(console, "/console/login?next=/console/test-admin")
    response = await console.post(
        "/console/login",
        data={
            "username": "Paul",
            "password": PASSWORD,
            "csrf": token,
            "next": "/console/test-admin",
        },
        allow_redirects=False,
    )
    assert response.status == 302
    assert response.headers["Location"] == "/console/test-admin"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert (await console.get("/console/test-admin")).status == 200


async def test_wrong_password_gets_a_french_error_and_no_session(console) -> None:  # type: ignore[no-untyped-def]
    token = await login_form_token(console)
    response = await console.post(
        "/console/login", data={"username": "paul", "password": "wrong", "csrf": token}
    )
    assert response.status == 401
    assert "Identifiant ou mot de passe incorrect" in await response.text()
    assert SESSION_COOKIE not in response.cookies


async def test_login_form_without_its_csrf_token_is_refused(console) -> None:  # type: ignore[no-untyped-def]
    response = await console.post(
        "/console/login", data={"username": "paul", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status == 403
    assert "expiré" in await response.text()


async def test_repeated_failures_are_throttled(console) -> None:  # type: ignore[no-untyped-def]
    statuses = []
    for _ in range(6):
        token = await login_form_token(console)
        response = await console.post(
            "/console/login", data={"username": "paul", "password": "nope", "csrf": token}
        )
        statuses.append(response.status)
    assert statuses == [401] * 5 + [429]


async def test_anonymous_pages_redirect_to_login_and_apis_answer_401(console) -> None:  # type: ignore[no-untyped-def]
    page = await console.get("/console/test-admin", allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"] == "/console/login?next=/console/test-admin"
    api = await console.post("/console/test-api", json={})
    assert api.status == 401 and (await api.json())["code"] == "unauthorized"


async def test_mediators_get_a_403_page_on_admin_pages(console) -> None:  # type: ignore[no-untyped-def]
    await console_login(console, "annick", PASSWORD)
    page = await console.get("/console/test-admin")
    assert page.status == 403 and "Accès refusé" in await page.text()


async def test_api_calls_need_the_session_csrf_token_and_same_origin(console) -> None:  # type: ignore[no-untyped-def]
    csrf = await console_login(console, "annick", PASSWORD)
    missing = await console.post("/console/test-api", json={"a": 1})
    assert missing.status == 403 and (await missing.json())["code"] == "csrf_failed"
    foreign = await console.post(
        "/console/test-api",
        json={"a": 1},
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    )
    assert foreign.status == 403
    ok = await console.post("/console/test-api", json={"a": 1}, headers={"X-CSRF-Token": csrf})
    assert ok.status == 200 and await ok.json() == {"user": "annick", "echo": {"a": 1}}


async def test_logout_ends_the_session(console) -> None:  # type: ignore[no-untyped-def]
    csrf = await console_login(console, "paul", PASSWORD)
    assert (await console.get("/console/test-admin")).status == 200
    out = await console.post("/console/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 302
    again = await console.get("/console/test-admin", allow_redirects=False)
    assert again.status == 302


async def test_next_never_redirects_to_another_site(console) -> None:  # type: ignore[no-untyped-def]
    page = await console.get("/console/login?next=https://evil.example/")
    assert 'value="/console/"' in await page.text()


async def test_first_admin_comes_from_the_environment(aiohttp_client, base_settings) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(base_settings, console_admin_password="premier-mot-de-passe")
    client = await aiohttp_client(create_app(settings))
    await console_login(client, "admin", "premier-mot-de-passe")


def staff_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m integrations.console.staff <args> --password-stdin`` on that database."""
    return subprocess.run(
        [sys.executable, "-m", "integrations.console.staff", *args, "--password-stdin"],
        input=PASSWORD + "\n",
        env={"DATABASE_URL": settings.database_url, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
    )


def test_cli_creates_an_account_that_can_log_in(base_settings: Settings) -> None:
    created = staff_cli(base_settings, "add", "marie", "--name", "Marie", "--role", "admin")
    assert created.returncode == 0, created.stderr
    assert "Compte « marie » créé (administrateur)" in created.stdout
    duplicate = staff_cli(base_settings, "add", "marie", "--name", "Marie")
    assert duplicate.returncode == 1 and "existe déjà" in duplicate.stderr
    store = StaffStore(make_engine(base_settings.database_url))
    user = store.authenticate("marie", PASSWORD)
    assert user is not None and user.role is StaffRole.ADMIN and user.display_name == "Marie"


def test_cli_creates_a_local_agent_account(base_settings: Settings) -> None:
    created = staff_cli(base_settings, "add", "l.briand", "--name", "Lucie", "--role", "agent")
    assert created.returncode == 0, created.stderr
    assert "Compte « l.briand » créé (agent)" in created.stdout
    user = StaffStore(make_engine(base_settings.database_url)).authenticate("l.briand", PASSWORD)
    assert user is not None and user.role is StaffRole.AGENT


def test_roles_are_ordered_agent_mediator_admin(base_settings: Settings) -> None:
    agent = staff_user(base_settings, "lucie", PASSWORD, "agent")
    mediator = staff_user(base_settings, "annick", PASSWORD, "mediator")
    admin = staff_user(base_settings, "paul", PASSWORD, "admin")
    pilotage = staff_user(base_settings, "elu", PASSWORD, "pilotage")
    # agent, mediator, admin, pilotage (read-only indicators, off the ladder)
    assert [agent.can(r) for r in StaffRole] == [True, False, False, False]
    assert [mediator.can(r) for r in StaffRole] == [True, True, False, False]
    assert [admin.can(r) for r in StaffRole] == [True, True, True, True]
    assert [pilotage.can(r) for r in StaffRole] == [False, False, False, True]


async def test_a_local_agent_lands_on_the_agents_page_and_not_on_the_consoles(
    aiohttp_client, base_settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    staff_user(base_settings, "lucie", PASSWORD, "agent", "Lucie")
    client = await aiohttp_client(create_app(base_settings))
    response = await client.post(
        "/console/login",
        data={"username": "lucie", "password": PASSWORD, "csrf": await login_form_token(client)},
        allow_redirects=False,
    )
    assert response.status == 302 and response.headers["Location"] == "/console/agent/"
    for path in ("/console/", "/console/closed", "/console/admin/"):
        page = await client.get(path)
        assert page.status == 403, path
        assert "réservée aux médiateurs et aux administrateurs" in await page.text()


def test_a_database_from_before_the_agent_role_accepts_agents(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:  # the table as it was created before this role
        connection.execute(
            text(
                "create table staff_users (id integer primary key, username varchar(64) "
                "not null unique, display_name varchar(64) not null, password_hash "
                "varchar(255) not null, role varchar(16) not null, active boolean not null, "
                "created_at datetime not null, constraint ck_staff_users_role "
                "check (role in ('mediator', 'admin')))"
            )
        )
    with pytest.raises(IntegrityError, match="CHECK constraint failed"):
        StaffStore(engine).add_user("lucie", "Lucie", PASSWORD, "agent")
    store = StaffStore(engine)
    upgrade(url)
    store.add_user("annick", "Annick", PASSWORD, "mediator")
    assert store.add_user("lucie", "Lucie", PASSWORD, "agent").role is StaffRole.AGENT
    assert [u.username for u, _ in store.users()] == ["annick", "lucie"]
    upgrade(url)  # a second run changes nothing
    assert len(store.users()) == 2


def test_agents_and_sso_accounts_on_postgresql(postgres_url: str) -> None:
    """The widened role constraint and SSO identities on the production database, in a
    schema of their own (the server is shared by the session's tests)."""
    admin_engine = make_engine(postgres_url)
    with admin_engine.begin() as connection:
        connection.execute(text("drop schema if exists console_roles cascade"))
        connection.execute(text("create schema console_roles"))
        connection.execute(
            text(
                "create table console_roles.staff_users (id serial primary key, username "
                "varchar(64) not null unique, display_name varchar(64) not null, password_hash "
                "varchar(255) not null, role varchar(16) not null, active boolean not null, "
                "created_at timestamptz not null, constraint ck_staff_users_role "
                "check (role in ('mediator', 'admin')))"
            )
        )
    admin_engine.dispose()
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3Dconsole_roles"
    engine = make_engine(url)
    with pytest.raises(IntegrityError, match="ck_staff_users_role"):
        StaffStore(engine).add_user("lucie", "Lucie", PASSWORD, "agent")
    store = StaffStore(engine)
    upgrade(url)
    upgrade(url)
    assert store.add_user("lucie", "Lucie", PASSWORD, "agent").role is StaffRole.AGENT
    issuer = "https://sso.departement.example"
    first = store.sso_user(issuer, "sub-1", "a.martin", "Anne")
    assert store.sso_user(issuer, "sub-1", "a.martin", "Anne") == first
    with pytest.raises(ValueError, match="déjà celui"):
        store.sso_user(issuer, "sub-2", "lucie", "Lucie")
    token, _ = store.open_session(first)
    session = store.session(token)
    assert session is not None and session.user.role is StaffRole.AGENT
    engine.dispose()
