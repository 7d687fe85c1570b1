"""Handoff's pure parts: finding a way to call back, canned replies, settings, texts."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from common.config import ConfigError
from integrations.channels.web import frame
from integrations.handoff import texts
from integrations.handoff.canned import CannedReplies
from integrations.handoff.contact import find_contact
from integrations.messages import Author, Reply
from integrations.settings import Settings


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("appelez-moi au 06 12 34 56 78 svp", "06 12 34 56 78"),
        ("0612345678", "06 12 34 56 78"),
        ("tél. 02.98.12.34.56", "02 98 12 34 56"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("écrivez à jean.dupont@exemple.fr.", "jean.dupont@exemple.fr"),
        ("mon dossier 2024-123456 est bloqué", None),
        ("rien du tout", None),
    ],
)
def test_contact_is_found_and_normalised(text: str, contact: str | None) -> None:
    assert find_contact(text) == contact


def test_canned_replies_reload_on_change_and_survive_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "canned.yml"
    path.write_text("- title: Bonjour\n  text: Bonjour, je suis médiatrice.\n")
    canned = CannedReplies(path)
    assert [(c.title, c.text) for c in canned.all()] == [
        ("Bonjour", "Bonjour, je suis médiatrice.")
    ]
    path.write_text("- title: sans texte\n")
    os.utime(path, (1, 1))  # a different mtime, whatever the clock's resolution
    assert [c.title for c in canned.all()] == ["Bonjour"]  # the last good list


def test_the_shipped_canned_replies_are_valid() -> None:
    replies = CannedReplies(Settings().canned_replies_path).all()
    assert len(replies) >= 3 and all(r.title and r.text for r in replies)


def test_mediator_hours_are_checked_at_start() -> None:
    with pytest.raises(ConfigError, match="MEDIATOR_HOURS"):
        dataclasses.replace(Settings(), mediator_hours="lundi matin")


def test_queue_positions_in_french() -> None:
    assert "première personne" in texts.waiting(1).text
    assert "en 3e position" in texts.waiting(3).text
    assert texts.waiting(2).custom == {"event": "handoff_waiting", "queue_position": 2}


def test_a_bot_message_asking_for_a_human() -> None:
    asking = Reply.from_rasa({"custom": {"handoff": {"reason": "request_human"}}})
    assert asking.handoff_request == "request_human"
    assert Reply.from_rasa({"text": "Bonjour"}).handoff_request is None


def test_a_mediator_message_frame_names_its_author() -> None:
    written = Reply(text="Bonjour", author=Author.MEDIATOR, custom={"mediator": "Annick"}, id=7)
    assert frame(written, "alice")["mediator"] == "Annick"
    # The "Annick a rejoint" notice is the system's, and bot answers name nobody.
    assert "mediator" not in frame(texts.mediator_joined("Annick"), "alice")
    assert "mediator" not in frame(Reply(text="Bonjour"), "alice")
