"""Procedures and the digital offer from data files: content, offline way, reload, review."""

from __future__ import annotations

import os
import re
import shutil
from datetime import date

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import knowledge
from actions.knowledge import (
    UNAVAILABLE,
    ActionDigitalAdvisor,
    ActionEquipment,
    ActionFibre,
    ActionPassNumerique,
    ActionProcedure,
    months_before,
    review_items,
)
from common.config import PROJECT_ROOT

PROCEDURES = ["rsa", "apa", "pch", "mdph", "transport_scolaire", "impots", "france_travail", "caf"]
OFFER_PAYLOADS = {"/find_digital_place", "/request_human"}
PHONE = re.compile(r"\b(\d{4}|0 ?\d(?: ?\d\d){4}|\d \d{3} \d{3} \d{3})\b")


def tracker(entities: list[dict] | None = None, intent: str = "ask_procedure") -> Tracker:
    return Tracker.from_dict({
        "sender_id": "t", "slots": {}, "events": [], "paused": False,
        "latest_message": {"text": "", "intent": {"name": intent}, "entities": entities or []},
        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    })  # fmt: skip


async def answer(action, entities=None) -> tuple[list[dict], list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker(entities), {})
    return dispatcher.messages, events


def assert_ends_with_offline_way_and_offer(messages: list[dict]) -> None:
    last = messages[-1]
    assert last["text"].startswith("Sans internet : ")
    assert PHONE.search(last["text"]) or "mairie" in last["text"] or "CCAS" in last["text"]
    assert "lieu d'aide au numérique" in last["text"] and "médiateur" in last["text"]
    assert {b["payload"] for b in last["buttons"]} == OFFER_PAYLOADS


@pytest.mark.parametrize("procedure", PROCEDURES)
async def test_every_procedure_answer_has_its_parts_and_non_digital_way(procedure):
    messages, events = await answer(
        ActionProcedure(), [{"entity": "procedure", "value": procedure}]
    )
    assert len(messages) == 3
    assert "Pour qui ? " in messages[0]["text"]
    how = messages[1]["text"]
    assert how.startswith("En ligne :\n1. ") and "https://" in how
    assert "Documents à préparer :" in how
    assert_ends_with_offline_way_and_offer(messages)
    assert "{council_phone}" not in messages[2]["text"]
    assert events[0]["name"] == "procedure"


async def test_departement_procedures_give_the_councils_own_number():
    council = yaml.safe_load((PROJECT_ROOT / "data" / "council.yml").read_text(encoding="utf-8"))
    for procedure in ("rsa", "apa", "pch"):
        messages, _ = await answer(ActionProcedure(), [{"entity": "procedure", "value": procedure}])
        assert council["switchboard"]["phone"] in messages[-1]["text"]


async def test_without_a_procedure_the_choices_are_buttons_from_the_data():
    messages, events = await answer(ActionProcedure())
    [choice] = messages
    assert choice["response"] == "utter_ask_which_procedure"
    payloads = [b["payload"] for b in choice["buttons"]]
    assert '/ask_procedure{"procedure":"rsa"}' in payloads and len(payloads) == 7
    assert [(e["name"], e["value"]) for e in events] == [("last_topic", None)]


@pytest.mark.parametrize(
    "action", [ActionPassNumerique(), ActionDigitalAdvisor(), ActionFibre(), ActionEquipment()]
)
async def test_every_digital_offer_answer_ends_with_the_offline_way_and_offer(action):
    messages, _ = await answer(action)
    assert "https://" in messages[0]["text"]
    assert_ends_with_offline_way_and_offer(messages)


@pytest.mark.parametrize(
    "action", [ActionPassNumerique(), ActionDigitalAdvisor(), ActionEquipment()]
)
async def test_an_offer_answer_leaves_places_as_the_topic(action):
    """It offers places nearby: a commune said next asks for them."""
    _, events = await answer(action)
    assert [(e["name"], e["value"]) for e in events] == [("last_topic", "places")]


async def test_pass_numerique_says_what_who_and_where():
    messages, _ = await answer(ActionPassNumerique())
    text = messages[0]["text"]
    assert "10 €" in text and "Qui peut l'avoir ?" in text and "Où l'utiliser ?" in text


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", folder)
    monkeypatch.setenv("DATA_DIR", str(folder))
    return folder


async def test_content_is_reloaded_without_restart(data_dir):
    path = data_dir / "knowledge" / "procedures.yml"
    before, _ = await answer(ActionProcedure(), [{"entity": "procedure", "value": "caf"}])
    path.write_text(path.read_text(encoding="utf-8").replace("La CAF (", "La Caisse (", 1), "utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after, _ = await answer(ActionProcedure(), [{"entity": "procedure", "value": "caf"}])
    assert before[0]["text"].startswith("La CAF (") and after[0]["text"].startswith("La Caisse (")


async def test_broken_content_gives_a_polite_french_answer(data_dir):
    (data_dir / "knowledge" / "procedures.yml").write_text("entries: [oops", encoding="utf-8")
    messages, _ = await answer(ActionProcedure(), [{"entity": "procedure", "value": "rsa"}])
    assert messages[0]["text"] == UNAVAILABLE
    assert {b["payload"] for b in messages[0]["buttons"]} == OFFER_PAYLOADS


def test_every_content_entry_has_owner_review_date_and_source():
    assert review_items(PROJECT_ROOT / "data", 1200, date(2026, 11, 24)) == []


def test_stale_entries_are_listed(data_dir, capsys):
    path = data_dir / "knowledge" / "digital_offer.yml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["entries"]["fibre"]["last_reviewed"] = date(2025, 1, 15)
    del content["entries"]["equipment"]["owner"]
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    today = date(2026, 11, 24)  # the shipped review dates are recent on this day
    items = review_items(data_dir, 6, today)
    assert {(i.entry, i.problem.split(" (")[0]) for i in items} == {
        ("fibre", "pas revue depuis plus de 6 mois"),
        ("equipment", "fiche incomplète"),
    }
    assert knowledge.main(["--stale", "6", "--today", today.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "knowledge/digital_offer.yml › fibre" in out and "2 fiche(s) à relire." in out


def test_months_before_keeps_the_end_of_month():
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 6) == date(2025, 7, 15)


def text_tracker(text: str, intent: str, entities: list[dict] | None = None) -> Tracker:
    return Tracker.from_dict({
        "sender_id": "t", "slots": {}, "events": [], "paused": False,
        "latest_message": {"text": text, "intent": {"name": intent}, "entities": entities or []},
        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    })  # fmt: skip


@pytest.mark.parametrize(
    ("text", "procedure"),
    [
        ("mon père ne peut plus vivre seul", "apa"),
        ("ma fille entre en 6e et doit prendre le bus", "transport_scolaire"),
        ("je dois déclarer mes revenus", "impots"),
        ("on m'a licencié, je dois m'inscrire", "france_travail"),
    ],
)
async def test_a_procedure_described_in_words_is_answered(text, procedure):
    dispatcher = CollectingDispatcher()
    events = await ActionProcedure().run(dispatcher, text_tracker(text, "ask_procedure"), {})
    assert {"name": "procedure", "value": procedure} in [
        {"name": e["name"], "value": e["value"]} for e in events
    ]
    assert dispatcher.messages[-1]["text"].startswith("Sans internet : ")


async def test_a_procedure_with_a_commune_adds_the_desk():
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "procedure", "value": "rsa"}, {"entity": "commune", "value": "Morlaix"}]
    await ActionProcedure().run(
        dispatcher, text_tracker("le RSA à Morlaix", "ask_procedure", entities), {}
    )
    assert any("CDAS de Morlaix" in m.get("text", "") for m in dispatcher.messages)


async def test_fibre_gives_the_communes_figure_and_asks_for_it_otherwise():
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "commune", "value": "Brest"}]
    events = await ActionFibre().run(
        dispatcher, text_tracker("la fibre à Brest", "ask_fibre", entities), {}
    )
    assert "%" in dispatcher.messages[0]["text"] and "Brest" in dispatcher.messages[0]["text"]
    assert {"name": "last_topic", "value": "fibre"} in [
        {"name": e["name"], "value": e["value"]} for e in events
    ]
    asking = CollectingDispatcher()
    await ActionFibre().run(asking, text_tracker("la fibre arrive quand ?", "ask_fibre"), {})
    assert any("Dites-moi votre commune" in m.get("text", "") for m in asking.messages)


# Words of most messages. A keyword matches close spellings too (actions/context.py), so
# one word that is a near twin of these would capture messages about anything else:
# « vieux » (for the APA) matched « veux », and « je veux refaire mon passeport » was the APA.
FREQUENT_WORDS = """
    je tu il elle on nous vous mon ma mes son sa ses le la les un une des du de et ou que qui
    quoi ce cette suis est sont ai avez ont fais fait faire faut veux veut voudrais peux peut
    pouvez dois doit sais vais va aller viens dit mettre prendre donner trouver passer rester
    parler appeler aider besoin demande pas plus moins tout toute rien jamais toujours encore
    comme comment pourquoi quand combien mois semaine jour ans heure matin soir veille demain
    hier oui non merci bonjour madame monsieur enfant fils fille mari femme maison travail
    argent dossier papier chose fois temps carte compte site ligne numero telephone
""".split()


def test_no_one_word_keyword_is_a_near_twin_of_a_frequent_word():
    from actions.context import matches_keywords
    from common.content import load_yaml
    from common.text import key

    lists = {
        name: e.get("keywords") or []
        for name, e in knowledge.entries(knowledge.PROCEDURES_FILE).items()
    }
    topics = load_yaml("followups.yml").get("topics") or {}
    lists |= {name: topic.get("keywords") or [] for name, topic in topics.items()}
    twins = [
        (name, keyword, word)
        for name, keywords in lists.items()
        for keyword in keywords
        if " " not in key(keyword)
        for word in FREQUENT_WORDS
        if matches_keywords(word, [keyword]) and not word.startswith(key(keyword)[:-1])
    ]
    assert twins == []
