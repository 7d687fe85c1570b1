import shutil

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.contact import UNAVAILABLE, ActionContact, contact_text
from common.config import PROJECT_ROOT
from common.content import load_yaml


def tracker(entities: list[dict], slots: dict | None = None) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "t",
            "slots": slots or {},
            "latest_message": {"intent": {"name": "ask_contact"}, "entities": entities},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def test_desk_of_the_users_commune_is_given():
    text = contact_text(load_yaml("council.yml"), "carhaix plouguer")
    assert "CDAS de Carhaix" in text
    assert "02 61 91 01 60" in text


def test_without_commune_the_main_desk_and_switchboard_are_given():
    council = load_yaml("council.yml")
    text = contact_text(council, None)
    assert council["switchboard"]["phone"] in text
    assert council["main_desk"]["address"] in text
    assert "dites-moi votre commune" in text


async def test_action_uses_the_commune_entity():
    dispatcher = CollectingDispatcher()
    await ActionContact().run(dispatcher, tracker([{"entity": "commune", "value": "Morlaix"}]), {})
    assert "CDAS de Morlaix" in dispatcher.messages[0]["text"]


async def test_action_falls_back_to_the_commune_slot():
    dispatcher = CollectingDispatcher()
    await ActionContact().run(dispatcher, tracker([], {"commune": "Quimperlé"}), {})
    assert "CDAS de Quimperlé" in dispatcher.messages[0]["text"]


async def test_broken_content_gives_a_polite_french_answer(tmp_path, monkeypatch):
    shutil.copy(PROJECT_ROOT / "data" / "topics.yml", tmp_path)
    (tmp_path / "council.yml").write_text("name: [unclosed", encoding="utf-8")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    dispatcher = CollectingDispatcher()
    await ActionContact().run(dispatcher, tracker([]), {})
    assert dispatcher.messages[0]["text"] == UNAVAILABLE
