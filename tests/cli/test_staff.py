"""``assistant staff`` end to end, and the first admin: created whenever no active admin
exists, not only while no account exists."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from common.db import make_engine
from integrations.app import create_app
from integrations.console.auth import StaffRole, StaffStore
from integrations.settings import Settings
from tests.cli.conftest import assert_one_line, assistant
from tests.gateway.conftest import console_login

PASSWORD = "un mot de passe assez long"


def store(url: str) -> StaffStore:
    return StaffStore(make_engine(url))


def test_accounts_without_a_terminal(env: dict[str, str]) -> None:
    added = assistant("staff", "add", "annick", "--name", "Annick", env=env, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "Compte « annick » créé (médiateur)." in added.stdout
    assert store(env["DATABASE_URL"]).authenticate("annick", PASSWORD) is not None

    listed = assistant("staff", "list", env=env)
    assert listed.returncode == 0 and "annick\tAnnick\tmédiateur" in listed.stdout

    changed = assistant("staff", "password", "annick", env=env, stdin="nouveau mot de passe\n")
    assert changed.returncode == 0, changed.stderr
    assert store(env["DATABASE_URL"]).authenticate("annick", "nouveau mot de passe")

    disabled = assistant("staff", "disable", "annick", env=env)
    assert disabled.returncode == 0
    assert "annick\tAnnick\tmédiateur (désactivé)" in assistant("staff", "list", env=env).stdout
    assert store(env["DATABASE_URL"]).authenticate("annick", "nouveau mot de passe") is None


def test_no_password_and_no_terminal_is_one_line_not_an_eoferror(env: dict[str, str]) -> None:
    result = assistant("staff", "add", "paul", "--name", "Paul", env=env, stdin="")
    assert_one_line(result, "mot de passe", "--password-stdin")
    assert result.returncode == 2 and "EOFError" not in result.stderr


def test_refusals_exit_1_with_the_reason(env: dict[str, str]) -> None:
    assistant("staff", "add", "annick", "--name", "Annick", env=env, stdin=PASSWORD)
    again = assistant("staff", "add", "annick", "--name", "Annick", env=env, stdin=PASSWORD)
    assert_one_line(again, "existe déjà")
    assert again.returncode == 1
    short = assistant("staff", "add", "paul", "--name", "Paul", env=env, stdin="court")
    assert short.returncode == 1 and "au moins" in short.stderr


def test_staff_can_always_create_or_reset_an_admin(env: dict[str, str]) -> None:
    assistant("staff", "add", "annick", "--name", "Annick", env=env, stdin=PASSWORD)
    made = assistant(
        "staff", "add", "admin", "--name", "Admin", "--role", "admin", env=env, stdin=PASSWORD
    )
    assert made.returncode == 0, made.stderr
    reset = assistant("staff", "password", "admin", env=env, stdin="remis à zéro ici\n")
    assert reset.returncode == 0
    user = store(env["DATABASE_URL"]).authenticate("admin", "remis à zéro ici")
    assert user is not None and user.role is StaffRole.ADMIN


def test_the_run_hint_only_while_no_admin_exists(env: dict[str, str]) -> None:
    assert "premier accès" in assistant("staff", "hint", env=env).stdout
    assistant("staff", "add", "annick", "--name", "Annick", env=env, stdin=PASSWORD)
    assert "premier accès" in assistant("staff", "hint", env=env).stdout  # a mediator only
    assistant("staff", "add", "chef", "--name", "Chef", "--role", "admin", env=env, stdin=PASSWORD)
    assert assistant("staff", "hint", env=env).stdout == ""


async def test_first_admin_after_a_mediator_was_added_first(
    aiohttp_client, env: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    added = assistant("staff", "add", "annick", "--name", "Annick", env=env, stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    settings = dataclasses.replace(
        Settings(database_url=env["DATABASE_URL"], rasa_url="http://127.0.0.1:9"),
        console_admin_password="premier-mot-de-passe",
    )
    client = await aiohttp_client(create_app(settings))
    await console_login(client, "admin", "premier-mot-de-passe")
    users = {user.username: user.role for user, _ in store(env["DATABASE_URL"]).users()}
    assert users == {"annick": StaffRole.MEDIATOR, "admin": StaffRole.ADMIN}


async def test_no_second_admin_when_one_exists(aiohttp_client, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assistant("staff", "add", "chef", "--name", "Chef", "--role", "admin", env=env, stdin=PASSWORD)
    settings = Settings(
        database_url=env["DATABASE_URL"],
        rasa_url="http://127.0.0.1:9",
        console_admin_password="premier-mot-de-passe",
    )
    await aiohttp_client(create_app(settings))
    assert [u.username for u, _ in store(env["DATABASE_URL"]).users()] == ["chef"]
