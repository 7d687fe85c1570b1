"""Basic digital skills guides, one step at a time (pure functions and actions)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.guides import (
    STEP_BUTTONS,
    ActionBasicSkills,
    ActionGuideStep,
    ActionGuideStuck,
    all_guides,
)
from common.config import PROJECT_ROOT
from common.migrate import upgrade

FIXTURES = Path(__file__).parent / "fixtures" / "places"
REQUIRED = {"email", "attachment", "password", "phishing", "scan", "video_call"}


def tracker(intent: str, slots: dict | None = None, entities: list | None = None) -> Tracker:
    return Tracker.from_dict({
        "sender_id": "t", "slots": slots or {}, "events": [], "paused": False,
        "latest_message": {"text": "", "intent": {"name": intent}, "entities": entities or []},
        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    })  # fmt: skip


async def run(action, t: Tracker) -> tuple[list[dict], dict]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_the_required_guides_exist_with_steps():
    guides = all_guides()
    assert REQUIRED <= set(guides)
    assert all(len(g["steps"]) >= 3 and g["owner"] and g["source"] for g in guides.values())


async def test_without_a_guide_the_list_is_offered_as_buttons():
    messages, slots = await run(ActionBasicSkills(), tracker("ask_basic_skills"))
    [choice] = messages
    assert choice["response"] == "utter_choose_guide"
    assert '/ask_basic_skills{"guide":"email"}' in [b["payload"] for b in choice["buttons"]]
    assert slots == {"guide": None, "guide_step": None}


def shipped_guide(name: str) -> dict:
    """A guide as the shipped file says it, read without the loader under test."""
    path = PROJECT_ROOT / "data" / "guides" / "basic_skills.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["entries"][name]


async def test_a_guide_is_walked_through_to_the_end_one_step_at_a_time():
    guide = shipped_guide("password")
    entity = [{"entity": "guide", "value": "password"}]
    messages, slots = await run(ActionBasicSkills(), tracker("ask_basic_skills", entities=entity))
    assert messages[0]["text"].startswith(guide["title"])
    assert messages[1]["text"] == f"Étape 1 sur {len(guide['steps'])} : {guide['steps'][0]}"
    assert messages[1]["buttons"] == STEP_BUTTONS
    assert slots == {"guide": "password", "guide_step": 0, "last_topic": None}
    for index in range(1, len(guide["steps"])):
        intent = "guide_done" if index % 2 else "guide_next"
        messages, slots = await run(
            ActionGuideStep(), tracker(intent, {"guide": "password", **slots})
        )
        [step] = messages
        expected = f"Étape {index + 1} sur {len(guide['steps'])} : {guide['steps'][index]}"
        assert step["text"] == ("Bravo ! " if intent == "guide_done" else "") + expected
        assert slots == {"guide_step": index}
    messages, slots = await run(
        ActionGuideStep(), tracker("guide_done", {"guide": "password", "guide_step": index})
    )
    assert "vous avez terminé le guide" in messages[0]["text"]
    assert "password" not in str(messages[0]["buttons"])
    assert slots == {"guide": None, "guide_step": None}


async def test_next_outside_a_guide_offers_the_list():
    messages, _ = await run(ActionGuideStep(), tracker("guide_next"))
    assert messages[0]["response"] == "utter_choose_guide"


async def test_stuck_offers_a_mediator_and_a_place(monkeypatch, tmp_path):
    messages, _ = await run(
        ActionGuideStuck(), tracker("guide_stuck", {"guide": "scan", "guide_step": 1})
    )
    [offer] = messages
    assert "Scanner un document" in offer["text"]
    payloads = [b["payload"] for b in offer["buttons"]]
    assert payloads == ["/find_digital_place", "/request_human", "/guide_next"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", folder, ignore=shutil.ignore_patterns("communes.csv"))
    shutil.copy(FIXTURES / "communes.csv", folder / "communes.csv")
    monkeypatch.setenv("DATA_DIR", str(folder))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'assistant.db'}")
    upgrade(f"sqlite:///{tmp_path / 'assistant.db'}")
    return folder


async def test_stuck_with_a_known_commune_shows_the_nearest_place(data_dir):
    messages, _ = await run(
        ActionGuideStuck(), tracker("guide_stuck", {"guide": "email", "commune": "Brest"})
    )
    assert (
        "Le lieu d'aide le plus proche de chez vous :\n"
        "Médiathèques de Saint-Martin et de Saint-Marc (à 500 m)" in (messages[0]["text"])
    )


async def test_broken_guides_give_a_polite_answer(data_dir):
    (data_dir / "guides" / "basic_skills.yml").write_text("entries: [", encoding="utf-8")
    messages, _ = await run(ActionBasicSkills(), tracker("ask_basic_skills"))
    assert "conseiller numérique" in messages[0]["text"]


def said(text: str, intent: str = "ask_basic_skills") -> Tracker:
    t = tracker(intent)
    t.latest_message["text"] = text
    return t


@pytest.mark.parametrize(
    ("text", "guide"),
    [
        ("comment on met un fichier dans un mail", "attachment"),
        ("comment faire pour choisir un bon mot de passe", "password"),
        ("jai recu un sms bizarre pour un colis", "phishing"),
        ("comment scaner un papier avec mon telephone", "scan"),
        ("je veux faire une visio avec mes petits enfants", "video_call"),
        ("creer une adresse mail", "email"),
    ],
)
async def test_a_guide_named_in_the_message_starts_at_once(text, guide):
    messages, slots = await run(ActionBasicSkills(), said(text))
    assert slots["guide"] == guide
    assert messages[1]["text"].startswith("Étape 1 sur")


async def test_a_recipe_is_out_of_scope_not_the_guide_list():
    messages, _ = await run(ActionBasicSkills(), said("comment faire une blanquette de veau"))
    assert messages == [{**messages[0], "response": "utter_out_of_scope"}]
