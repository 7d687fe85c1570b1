"""Handoff's pure parts: finding a way to call back, canned replies, settings, texts."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.config import ConfigError
from integrations.channels.web import frame
from integrations.handoff import texts
from integrations.handoff.canned import CannedReplies
from integrations.handoff.canned import parse as canned_parse
from integrations.handoff.contact import find_contact
from integrations.handoff.transcript import Summary, labels, summary
from integrations.messages import Author, Reply
from integrations.settings import Settings
from integrations.store import Direction, StoredMessage
from integrations.widget.config import load_council


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


def test_canned_replies_fill_the_mediators_name_and_the_council_phone(tmp_path: Path) -> None:
    path = tmp_path / "canned.yml"
    path.write_text('- title: Bonjour\n  text: "Bonjour, ici {prenom}. Tél. {telephone}."\n')
    [reply] = CannedReplies(path).all()
    assert (
        reply.filled("Annick", "02 61 91 00 00").text == "Bonjour, ici Annick. Tél. 02 61 91 00 00."
    )
    with pytest.raises(ValueError, match="unknown placeholder"):
        canned_parse([{"title": "Faux", "text": "Bonjour {nom}"}])
    shipped = CannedReplies(Settings().canned_replies_path).all()
    assert all("médiatrice" not in r.text for r in shipped)
    assert any("{prenom}" in r.text for r in shipped)


def test_every_phone_mentioned_is_the_councils() -> None:
    council = load_council()
    for told in (
        texts.no_mediator(False, "", council),
        texts.no_mediator(True, "ouvre lundi à 9 h", council),
        texts.unanswered(council),
        texts.closed_without_message(council),
    ):
        assert council.phone in told.text, told.text
        assert "accueil du Département ou" not in told.text


def test_a_departed_mediator_is_said_in_one_sentence() -> None:
    gone = texts.mediator_gone("Annick")
    assert gone.text.count(".") == 1 and gone.text.startswith("Annick n'est plus en ligne")
    assert gone.custom == {"event": "mediator_gone", "queue_position": 1}
    assert "en 2e position" in texts.place_in_queue(2)


def test_button_presses_read_as_their_words_and_conversations_are_named() -> None:
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    def message(id_: int, author: Author, text: str, payload=None) -> StoredMessage:  # type: ignore[no-untyped-def]
        return StoredMessage(Direction.IN, author, "web", text, payload, at, id_)

    said = [
        message(1, Author.USER, "bonjour, j'habite à Saint-Renan"),
        message(
            2,
            Author.BOT,
            "Que voulez-vous ?",
            {"buttons": [{"title": "Le RSA", "payload": "/rsa"}]},
        ),
        message(3, Author.USER, "/rsa"),
        message(4, Author.USER, "/request_human"),
    ]
    assert labels(said) == {3: "Le RSA", 4: "Parler à un médiateur"}
    assert summary(said) == Summary(topic="Le RSA", commune="Saint-Renan")
    assert summary(said[:1]).topic == "bonjour, j'habite à Saint-Renan"
