"""A time or a date alone is ``inform``, deterministically; farewells and anything longer
keep the classifiers' reading."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.bare_time import BareTimeInform, is_bare_moment, is_bare_quantity, is_bare_time


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


@pytest.mark.parametrize(
    "text",
    [
        "lundi prochain",
        "ce soir",
        "le 3 mars",
        "le trois mars plutôt",
        "jeudi à 14h",
        "demain matin ?",
        "samedi ?",
        "12/03 à 16h",
        "le 05/05/2027",
        "en fin de matinée",
        "Aujourd'hui",
        "jeudi en huit",
        "à partir de lundi",
        "dans 2 jours",
        "la semaine prochaine svp",
    ],
)
def test_dates_alone_are_recognised(text: str) -> None:
    assert is_bare_moment(text)


@pytest.mark.parametrize(
    "text",
    [
        "à demain",
        "a lundi",
        "bon lundi",
        "bonne soirée",
        "au revoir, à demain",
        "le 1er",  # a rank
        "le 2",  # a rank, a day of the month or a count: the dialogue decides
        "2",
        "et le dimanche ?",  # the classifier reads it against the list (ask_hours)
        "vous êtes ouverts lundi ?",
        "une salle jeudi",
        "annuler la résa de demain",
        "bonjour",
    ],
)
def test_farewells_ranks_and_requests_are_not_dates(text: str) -> None:
    assert not is_bare_moment(text)


@pytest.mark.parametrize(
    "text",
    [
        "pour six",
        "on va être sept",
        "on sera 4 avec moi",
        "une quinzaine de participants",
        "il y aura une dizaine de personnes",
        "trois quarts d'heure",
        "une bonne heure",
        "pas plus d'une heure",
        "une demi-heure",
        "2",
        "deux svp",
        "30 min",
    ],
)
def test_counts_and_durations_alone_are_recognised(text: str) -> None:
    assert is_bare_quantity(text)


@pytest.mark.parametrize(
    "text",
    ["une", "un", "le 2", "numéro 2", "2 plus 2", "à plus", "plus", "une salle pour six", "merci"],
)
def test_ranks_arithmetic_and_requests_are_not_quantities(text: str) -> None:
    assert not is_bare_quantity(text)


def test_the_intent_becomes_inform_on_top_of_the_ranking() -> None:
    ranking = [{"name": "goodbye", "confidence": 0.7}, {"name": "inform", "confidence": 0.2}]
    time = Message(data={"text": "à 11h", "intent": ranking[0], "intent_ranking": ranking})
    date = Message(data={"text": "lundi prochain", "intent": ranking[0], "intent_ranking": ranking})
    count = Message(data={"text": "on sera sept", "intent": ranking[0], "intent_ranking": ranking})
    other = Message(data={"text": "à plus", "intent": ranking[0], "intent_ranking": ranking})

    BareTimeInform().process([time, date, count, other])

    assert time.get("intent") == {"name": "inform", "confidence": 1.0}
    assert [r["name"] for r in time.get("intent_ranking")] == ["inform", "goodbye"]
    assert date.get("intent") == {"name": "inform", "confidence": 1.0}
    assert count.get("intent") == {"name": "inform", "confidence": 1.0}
    assert other.get("intent")["name"] == "goodbye"
