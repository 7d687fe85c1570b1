from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback, consecutive_fallbacks, likely_topics

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.4},
    {"name": "greet", "confidence": 0.3},
    {"name": "ask_fibre", "confidence": 0.2},
    {"name": "ask_procedure", "confidence": 0.1},
    {"name": "find_digital_place", "confidence": 0.05},
    {"name": "ask_equipment", "confidence": 0.01},
]


def user(intent: str) -> dict:
    return {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}


def tracker(events: list[dict]) -> Tracker:
    latest = {"intent": {"name": "nlu_fallback"}, "intent_ranking": RANKING, "text": "blabla"}
    return Tracker.from_dict(
        {
            "sender_id": "t",
            "slots": {},
            "latest_message": latest,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def test_consecutive_fallbacks_counts_only_the_latest_run():
    events = [
        user("nlu_fallback"),
        {"event": "bot"},
        user("greet"),
        user("nlu_fallback"),
        {"event": "action"},
        user("nlu_fallback"),
    ]
    assert consecutive_fallbacks(events) == 2
    assert consecutive_fallbacks([user("greet")]) == 0
    assert consecutive_fallbacks([]) == 0


def test_likely_topics_skips_unlabelled_intents_and_keeps_order():
    labels = {
        "ask_fibre": "Fibre",
        "ask_procedure": "Démarche",
        "find_digital_place": "Lieu",
        "ask_equipment": "Matériel",
    }
    assert likely_topics(RANKING, labels) == [
        ("ask_fibre", "Fibre"),
        ("ask_procedure", "Démarche"),
        ("find_digital_place", "Lieu"),
    ]
    assert likely_topics(RANKING, {}) == []


async def test_first_miss_asks_to_rephrase_with_topic_buttons():
    dispatcher = CollectingDispatcher()
    events = await ActionFallback().run(
        dispatcher, tracker([user("greet"), user("nlu_fallback")]), {}
    )
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_fallback_rephrase_topics"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/ask_fibre", "/ask_procedure", "/find_digital_place"]
    assert all(b["title"] for b in message["buttons"])


async def test_second_miss_in_a_row_offers_a_mediator():
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(
        dispatcher, tracker([user("nlu_fallback"), user("nlu_fallback")]), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_fallback_offer_human"]


async def test_missing_topic_file_still_asks_to_rephrase(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, tracker([user("nlu_fallback")]), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_fallback_rephrase"]
