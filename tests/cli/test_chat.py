"""The terminal chat (``make chat``, ``assistant chat``): a typed line is a button choice
only when it is a button's number or title; it starts on RASA_PORT / ACTIONS_PORT and
names the setting when that port is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line, assistant
from tools.chat import button_choice
from tools.stack import free_port

pytestmark = pytest.mark.long  # starts Rasa and its action server of its own

BUTTONS = [
    {"title": "Prendre rendez-vous", "payload": "/book_room"},
    {"title": "Parler à un conseiller", "payload": "/request_human"},
]


def test_a_number_or_a_title_of_a_button_chooses_it() -> None:
    assert button_choice("2", BUTTONS) == "/request_human"
    assert button_choice("parler a un conseiller", BUTTONS) == "/request_human"
    assert button_choice("Prendre Rendez-Vous", BUTTONS) == "/book_room"


def test_any_other_line_is_sent_as_typed() -> None:
    assert button_choice("3", BUTTONS) == "3"
    assert button_choice("0", BUTTONS) == "0"
    assert (
        button_choice("je veux un rendez-vous demain", BUTTONS) == "je veux un rendez-vous demain"
    )
    assert button_choice("1", []) == "1"


def test_a_taken_rasa_port_is_named(env: dict[str, str], busy_port: int) -> None:
    result = assistant("chat", env={**env, "RASA_PORT": str(busy_port)})
    assert_one_line(result, "RASA_PORT", str(busy_port))
    assert result.returncode == 2


def test_a_missing_model_is_named(env: dict[str, str], tmp_path: Path) -> None:
    result = assistant("chat", "--model", str(tmp_path / "absent.tar.gz"), env=env)
    assert_one_line(result, "absent.tar.gz", "make train")


@pytest.mark.model
def test_a_conversation_on_rasa_port(env: dict[str, str], trained_model: Path) -> None:
    rasa_port, actions_port = free_port(), free_port()
    result = assistant(
        "chat", "--model", str(trained_model),
        env={**env, "RASA_PORT": str(rasa_port), "ACTIONS_PORT": str(actions_port)},
        stdin="bonjour\n", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Rasa (:{rasa_port})" in result.stdout
    assert "chat: prêt." in result.stdout and "Assistant : " in result.stdout
