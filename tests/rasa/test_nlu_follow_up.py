"""Bare follow-ups are read by rule: a commune or postcode -> inform, a rank -> select_item."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.follow_up import FollowUpRules, is_bare_place, is_bare_rank
from rasa_ext.gazetteer import build_gazetteer, find_entities
from rasa_ext.ordinal import find_ordinals
from rasa_ext.postcode import find_postcodes

GAZETTEER = build_gazetteer(
    [{"name": "commune", "elements": ["Concarneau", "Mamers", "Quimperlé", "Brest"]}],
    {},
    ["commune"],
)
POSTCODES = {"29200": ["Brest"], "29600": ["Morlaix", "Sainte-Sève"]}


def entities(text: str) -> list[dict]:
    found = find_entities(text, GAZETTEER)
    return found + find_postcodes(text, POSTCODES) + find_ordinals(text)


@pytest.mark.parametrize(
    "text",
    [
        "et à Concarneau ?",
        "je suis à Mamers",
        "j'habite a quimperle",
        "29200",
        "mon code postal c'est le 29600",
        "Brest svp",
        "non plutôt Brest",
        "j'habite à Brest, où aller ?",
    ],
)
def test_a_commune_or_postcode_alone_is_a_bare_place(text: str) -> None:
    assert is_bare_place(text, entities(text))


@pytest.mark.parametrize(
    "text",
    [
        "un espace numérique à Brest",
        "la fibre à Mamers",
        "et à Concarneau il y a quoi ?",
        "le CDAS de Brest",
        "et à côté ?",
        "où aller à Brest pour imprimer",
    ],
)
def test_a_request_naming_a_commune_is_no_bare_place(text: str) -> None:
    assert not is_bare_place(text, entities(text))


@pytest.mark.parametrize(
    "text",
    [
        "le premier",
        "la 2e svp",
        "et le dernier ?",
        "le n°3",
        "deuxième",
        "plus d'info sur le 3 stp",
    ],
)
def test_a_rank_alone_is_a_bare_rank(text: str) -> None:
    assert is_bare_rank(text, entities(text))


@pytest.mark.parametrize(
    "text",
    ["2", "le 2", "je prends la deuxième", "la troisième salle", "le premier ouvre quand ?", "ok"],
)
def test_digits_and_longer_messages_are_left_to_the_classifier(text: str) -> None:
    assert not is_bare_rank(text, entities(text))


def test_the_rules_override_the_classifier_and_leave_payloads_alone() -> None:
    messages = []
    for text, intent in [
        ("je suis à Mamers", "ask_fibre"),
        ("le 2e", "inform"),
        ("/greet", "greet"),
    ]:
        message = Message.build(text=text)
        message.set("intent", {"name": intent, "confidence": 0.5})
        message.set("entities", entities(text))
        messages.append(message)
    FollowUpRules().process(messages)
    assert [m.get("intent")["name"] for m in messages] == ["inform", "select_item", "greet"]
    assert messages[0].get("intent_ranking")[0] == {"name": "inform", "confidence": 1.0}
