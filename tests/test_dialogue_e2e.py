"""Conversations as people write them, through the real model, Rasa and action servers (REST).

One test per class of the dialogue benchmark (bench/dialogues.py): follow-ups on a
commune, a day, an item of a list; guides, procedures and places named directly; SMS
spelling, stories, out of scope, social workers, postcodes, typed button titles,
the non-digital way of procedures, agents.
"""

from __future__ import annotations

import re
import uuid

import pytest

from common.text import fold
from tools.stack import Stack

pytestmark = [pytest.mark.model, pytest.mark.stack]

OUT_OF_SCOPE = "ne peux pas vous aider sur ce sujet"


def shown(replies: list[dict]) -> str:
    """Texts and button titles, folded (no case, no accents)."""
    parts = [r.get("text", "") for r in replies]
    parts += [b["title"] for r in replies for b in r.get("buttons", [])]
    return fold("\n".join(parts)).replace("\u00a0", " ")


class Conversation:
    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.sender = f"e2e-{name}-{uuid.uuid4().hex[:6]}"

    def say(self, text: str) -> str:
        return shown(self.stack.send(self.sender, text))

    def replies(self, text: str) -> list[dict]:
        return self.stack.send(self.sender, text)


@pytest.fixture
def talk(rasa_stack: Stack):  # type: ignore[no-untyped-def]
    return lambda name: Conversation(rasa_stack, name)


# ------------------------------------------------------------------ follow-ups


def test_another_commune_reruns_the_places_search(talk):
    chat = talk("fc-places")
    assert "plus proches de quimper" in chat.say("un espace numérique à Quimper")
    again = chat.say("et à Concarneau ?")
    assert "plus proches de concarneau" in again
    assert "c'est note" not in again


@pytest.mark.parametrize(
    ("question", "commune"),
    [
        ("le pass numerique c quoi", "j'habite a morlaix"),
        ("je sais pas me servir d un ordi, y a des cours ?", "a douarnenez"),
    ],
)
def test_a_commune_after_an_offer_gives_the_places_it_offered(talk, question, commune):
    chat = talk("fc-offer")
    assert "lieu d'aide au numerique" in chat.say(question)
    places = chat.say(commune)
    town = commune.rsplit(" ", 1)[-1]
    assert f"plus proches de {town}" in places, places
    assert "c'est note" not in places


def test_a_commune_after_the_fibre_question_gives_its_figure(talk):
    chat = talk("fc-fibre")
    assert "fibre" in chat.say("la fibre arrive quand ?")
    answer = chat.say("je suis à Mamers")
    assert "%" in answer and "fibre" in answer
    assert "que souhaitez-vous faire" not in answer


def test_a_commune_after_a_procedure_gives_the_desk(talk):
    chat = talk("fc-procedure")
    assert "rsa" in chat.say("comment faire une demande de RSA ?")
    assert "cdas de brest" in chat.say("j'habite à Brest")


def test_a_day_answers_with_the_hours_of_the_places_just_listed(talk):
    chat = talk("fh")
    assert "plus proches de morlaix" in chat.say("un lieu d'aide au numérique à Morlaix")
    answer = chat.say("ça ouvre à quelle heure demain ?")
    assert answer.startswith("demain")
    assert "1. " in answer and ("ouvert" in answer or "ferme" in answer)
    assert "02 61 91 00 00" not in answer  # not the council's switchboard
    # "samedi :", or "demain (samedi) :" when tomorrow is a Saturday.
    assert re.search(r"samedi\)? :", chat.say("samedi ?"))


def test_an_ordinal_picks_one_of_the_places_listed(talk):
    chat = talk("si")
    assert "plus proches de quimper" in chat.say("un lieu d'aide au numérique près de Quimper")
    listed = chat.stack.tracker(chat.sender)["slots"]["listed_places"]
    answer = chat.say("le deuxième")
    assert "pour y aller" in answer
    assert answer.count("pour y aller") == 1  # one place, not the list again
    assert chat.stack.tracker(chat.sender)["slots"]["listed_places"] == listed


@pytest.mark.parametrize(
    "message",
    [
        "l'espace numérique de Pont-l'Abbé ferme a quelle heure",
        "france services quimper ouvert samedi ?",
    ],
)
def test_places_asked_with_their_hours_get_the_hours(talk, message):
    answer = talk("ph").say(message)
    assert "1. " in answer and ("ouvert" in answer or "ferme" in answer), answer
    assert "plus proches" not in answer  # the hours, not the list of addresses


def test_the_way_to_the_place_just_picked(talk):
    chat = talk("way")
    assert "plus proches de quimper" in chat.say(
        "un endroit pour scanner des papiers pres de quimper"
    )
    picked = chat.say("le deuxieme")
    way = chat.say("comment y aller")
    assert way.startswith("pour y aller : ") or "\npour y aller : " in way, way
    assert way.split("pour y aller : ")[1].split("\n")[0] in picked
    assert "quel geste" not in way


def test_an_unrelated_topic_closes_the_last_one(talk):
    chat = talk("expire")
    chat.say("les lieux d'aide au numérique à Brest")
    assert "etape 1 sur" in chat.say("comment envoyer une pièce jointe")
    assert "plus proches de quimper" not in chat.say("Quimper")


# ------------------------------------------------------------------ direct answers


@pytest.mark.parametrize(
    ("message", "guide"),
    [
        ("comment on met un fichier dans un mail", "piece jointe"),
        ("comment faire pour choisir un bon mot de passe", "mot de passe"),
        ("j'ai reçu un SMS pour un colis en attente, est-ce une arnaque ?", "arnaque"),
    ],
)
def test_a_named_guide_starts_at_once(talk, message, guide):
    answer = talk("dg").say(message)
    assert guide in answer and "etape 1 sur" in answer
    assert "quel geste voulez-vous apprendre" not in answer


def test_sms_spelling(talk):
    assert "plus proches de brest" in talk("sms").say(
        "bjr jveux 1 lieu pr m aider ac l ordi a brest stp"
    )


def test_a_story_gets_its_procedure(talk):
    assert "apa" in talk("story").say("mon père ne peut plus vivre seul")
    answer = talk("story2").say("ma fille entre en 6e et doit prendre le bus")
    assert "transport scolaire" in answer and "reconditionn" not in answer


@pytest.mark.parametrize(
    "message",
    [
        "quel temps fera-t-il demain ?",
        "raconte moi une blague",
        "donne moi une recette de crêpes",
        "connard",
    ],
)
def test_out_of_scope_stays_out(talk, message):
    answer = talk("oos").say(message)
    assert OUT_OF_SCOPE in answer
    assert "etape 1" not in answer and "plus proche" not in answer


def test_a_social_worker_request_gets_the_desk_and_its_phone(talk):
    chat = talk("sw")
    first = chat.say("je voudrais voir une assistante sociale")
    assert "commune" in first and "je n'ai pas bien compris" not in first
    answer = chat.say("j'habite à Landerneau")
    assert "cdas de landerneau" in answer and "02 61 91 01 70" in answer
    assert "sans internet" in answer


def test_a_postcode_of_one_commune_and_of_several(talk):
    assert "brest" in talk("pc1").say("espace numérique 29200")
    chat = talk("pc2")
    chat.say("je cherche un lieu d'aide au numérique")
    choice = chat.replies("29800")
    assert "plusieurs communes" in shown(choice)
    assert any(b["title"] == "Landerneau" for r in choice for b in r.get("buttons", []))
    assert "plus proches de landerneau" in chat.say("Landerneau")


def test_procedures_keep_the_phone_and_in_person_way(talk):
    answer = talk("pa").say("je n'ai pas d'ordinateur, comment demander la PCH ?")
    assert "sans internet" in answer and "02 61 91 00 00" in answer


def test_an_agent_helping_someone_gets_the_places(talk):
    answer = talk("agent").say(
        "Bonjour, agent d'accueil : une usagère cherche un lieu pour se faire aider "
        "sur ordinateur à Concarneau"
    )
    assert "plus proches de concarneau" in answer


# ------------------------------------------------------------------ typed button titles


def test_typed_button_titles_act_as_clicks_in_every_flow(talk):
    chat = talk("bt")
    assert "une demarche" in chat.say("qu'est-ce que vous savez faire ?")
    assert "quel geste" in chat.say("APPRENDRE LE NUMERIQUE")
    assert "etape 1 sur" in chat.say("reconnaitre une arnaque")
    procedures = talk("bt-proc")
    assert "laquelle" in procedures.say("j'ai une démarche administrative à faire")
    answer = procedures.say("handicap : pch, mdph")
    assert "pch" in answer and "sans internet" in answer


def test_a_rank_picks_a_button_of_the_latest_answer(talk):
    chat = talk("bt-rank")
    assert "laquelle" in chat.say("une démarche administrative")
    assert "apa" in chat.say("la deuxième")
