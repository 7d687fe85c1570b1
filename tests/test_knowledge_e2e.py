"""Places, procedures and guides through the real model, Rasa server and action server.

The action server starts on an empty database: the first places question fills it
from the shipped open data (data/places/).
"""

from __future__ import annotations

import pytest

from tools.stack import Stack

pytestmark = [pytest.mark.model, pytest.mark.stack]


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def payloads(replies: list[dict]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons", [])]


def test_places_ask_for_the_commune_then_give_the_three_nearest(rasa_stack: Stack):
    first = rasa_stack.send("e2e-places", "je cherche un lieu pour m'aider avec l'ordinateur")
    assert "Dans quelle commune habitez-vous" in texts(first)
    second = rasa_stack.send("e2e-places", "Châteaulin")
    answer = texts(second)
    assert "les 3 lieux d'aide au numérique les plus proches de Châteaulin" in answer
    assert "France services Châteaulin (à " in answer
    assert answer.count("Téléphone :") == 3
    assert "/request_human" in payloads(second)


def test_a_misspelt_commune_gets_suggestions(rasa_stack: Stack):
    rasa_stack.send("e2e-places-typo", "où trouver un espace numérique près de chez moi ?")
    replies = rasa_stack.send("e2e-places-typo", "Quimperle")
    assert "plus proches de Quimperlé" in texts(replies) or '"commune":"Quimperlé"' in str(
        payloads(replies)
    )


def test_a_procedure_answer_ends_with_the_non_digital_way(rasa_stack: Stack):
    replies = rasa_stack.send("e2e-rsa", "comment faire une demande de RSA ?")
    assert "Le RSA (revenu de solidarité active)" in texts(replies)
    assert "Sans internet : Appelez la CAF au 3230" in replies[-1]["text"]
    assert {"/find_digital_place", "/request_human"} <= set(payloads(replies[-1:]))


def test_a_guide_walks_end_to_end_with_typed_answers(rasa_stack: Stack):
    sender = "e2e-guide"
    first = rasa_stack.send(sender, '/ask_basic_skills{"guide":"attachment"}')
    assert "Étape 1 sur 5" in texts(first)
    assert payloads(first)[-3:] == ["/guide_next", "/guide_done", "/guide_stuck"]
    for step, message in (
        (2, "étape suivante"),
        (3, "c'est fait"),
        (4, "suivant"),
        (5, "j'ai fini"),
    ):
        assert f"Étape {step} sur 5" in texts(rasa_stack.send(sender, message)), message
    stuck = rasa_stack.send(sender, "je bloque")
    assert "/find_digital_place" in payloads(stuck) and "/request_human" in payloads(stuck)
    end = rasa_stack.send(sender, "/guide_done")
    assert "vous avez terminé le guide « Envoyer une pièce jointe »" in texts(end)
