"""A time alone is ``inform``, deterministically; anything longer keeps DIET's reading."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.bare_time import BareTimeInform, is_bare_time


@pytest.mark.parametrize(
    "text",
    [
        "à 11h",
        "11h",
        "vers 14h30",
        "plutôt à 16h",
        "a 8h30 plutot",
        "pour 13h",
        "14:30",
        "à 10 heures",
        "À 9H !",
    ],
)
def test_times_alone_are_recognised(text: str) -> None:
    assert is_bare_time(text)


@pytest.mark.parametrize(
    "text", ["à plus", "à demain", "jeudi à 14h", "une salle à 11h", "11", "h", "à 11h à Brest"]
)
def test_other_messages_are_left_alone(text: str) -> None:
    assert not is_bare_time(text)


def test_the_intent_becomes_inform_on_top_of_the_ranking() -> None:
    ranking = [{"name": "goodbye", "confidence": 0.7}, {"name": "inform", "confidence": 0.2}]
    time = Message(data={"text": "à 11h", "intent": ranking[0], "intent_ranking": ranking})
    other = Message(data={"text": "à plus", "intent": ranking[0], "intent_ranking": ranking})

    BareTimeInform().process([time, other])

    assert time.get("intent") == {"name": "inform", "confidence": 1.0}
    assert [r["name"] for r in time.get("intent_ranking")] == ["inform", "goodbye"]
    assert other.get("intent")["name"] == "goodbye"
