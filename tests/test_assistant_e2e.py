"""The assistant as users reach it: real model, real Rasa and action servers, SQL tracker store."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from tools.stack import Stack

pytestmark = [pytest.mark.model, pytest.mark.stack]


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_api_requires_the_token(rasa_stack: Stack):
    for params in ({}, {"token": "nope"}):
        refused = requests.get(f"{rasa_stack.rasa_url}/status", params=params, timeout=10)
        assert refused.status_code == 401, params
        assert refused.json()["reason"] == "NotAuthenticated"
    ok = requests.get(
        f"{rasa_stack.rasa_url}/status", params={"token": rasa_stack.token}, timeout=10
    )
    assert ok.status_code == 200


def test_greeting_round_trip_in_french(rasa_stack: Stack):
    replies = rasa_stack.send("e2e-greet", "Bonjour !")
    assert "Bonjour" in texts(replies)
    assert all(r["recipient_id"] == "e2e-greet" for r in replies)


def test_contact_answer_uses_the_commune_in_the_message(rasa_stack: Stack):
    replies = rasa_stack.send("e2e-contact", "quels sont les horaires du cdas de morlaix ?")
    assert "CDAS de Morlaix" in texts(replies)


def test_commune_entity_is_normalised(rasa_stack: Stack):
    parsed = rasa_stack.parse("un endroit pour imprimer vers carhaix svp")
    communes = [e["value"] for e in parsed["entities"] if e["entity"] == "commune"]
    assert communes == ["Carhaix-Plouguer"]
    assert parsed["intent"]["name"] == "find_digital_place"


def test_two_misses_offer_topics_then_a_mediator(rasa_stack: Stack):
    first = rasa_stack.send("e2e-fallback", "xqzw blorp vrk")
    assert "reformuler" in texts(first) or "reformulez" in texts(first)
    second = rasa_stack.send("e2e-fallback", "plmk zzrt huuq")
    [offer] = second
    assert "médiateur" in offer["text"]
    assert {"title": "Oui, parler à un médiateur", "payload": "/request_human"} in offer["buttons"]


def test_metadata_and_history_are_kept_in_the_sql_tracker_store(rasa_stack: Stack):
    metadata = {"channel": "web", "user_id": "citoyen-42", "role": "citizen", "locale": "fr"}
    rasa_stack.send("e2e-store", "merci beaucoup", metadata=metadata)
    tracker = rasa_stack.tracker("e2e-store")
    assert tracker["latest_message"]["metadata"] == metadata
    database = rasa_stack.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        stored = connection.execute(
            "select count(*) from events where sender_id = ? and type_name = 'user'", ("e2e-store",)
        ).fetchone()[0]
    assert stored == 1


def test_oversized_and_odd_text_get_an_answer(rasa_stack: Stack):
    assert rasa_stack.send("e2e-odd", "🙂🙂🙂 ¿¿¿ \u200b")
    assert rasa_stack.send("e2e-long", "bonjour " * 400)
