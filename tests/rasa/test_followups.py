"""Follow-ups: context read from the events, hours of a day, picking a listed place, typed
button titles (pure functions, and the actions with ``Tracker.from_dict``)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context, geo
from actions.datetime_fr import parse_moment
from actions.followups import (
    ActionFollowUp,
    ActionPlaceHours,
    ActionSelectItem,
    choose_place,
    commune_choice,
    hours_answer,
)
from actions.place_search import place_by_id
from actions.social import ActionSocialWorker
from common import hours
from common.hours import PARIS
from common.ordinal import first_ordinal
from rasa_ext.button_choice import chosen_payload, latest_buttons

HORAIRES = "Mo-Fr 09:00-12:00,13:30-17:30; Sa 09:00-12:00; PH off"


def user(text: str, intent: str, entities: list[dict] | None = None) -> dict:
    parse = {"intent": {"name": intent}, "entities": entities or [], "text": text}
    return {"event": "user", "text": text, "parse_data": parse}


def slot(name: str, value) -> dict:  # type: ignore[no-untyped-def]
    return {"event": "slot", "name": name, "value": value}


def tracker(
    events: list[dict],
    text: str,
    intent: str,
    entities: list[dict] | None = None,
    confidence: float = 1.0,
):  # type: ignore[no-untyped-def]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return Tracker.from_dict({
        "sender_id": "t", "slots": slots, "events": [*events, user(text, intent, entities)],
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": confidence},
                           "entities": entities or []},
        "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen",
    })  # fmt: skip


async def run(action, t) -> tuple[str, list[dict], list]:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    text = "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)
    return text, dispatcher.messages, events


# ------------------------------------------------------------------ context


async def searched(text: str, commune: str) -> list[dict]:
    """The events of a real places search for ``commune``: the person's message, then
    the slots the action set."""
    from actions.places import ActionFindDigitalPlace

    entities = [{"entity": "commune", "value": commune}]
    _, _, events = await run(
        ActionFindDigitalPlace(), tracker([], text, "find_digital_place", entities)
    )
    return [user(text, "find_digital_place", entities), *({**e, "event": "slot"} for e in events)]


def places_listed(ids: list[str]) -> list[dict]:
    return [
        user("un espace numérique à Quimper", "find_digital_place"),
        slot("listed_places", ids),
        slot("last_topic", "places"),
    ]


def test_a_topic_stays_current_through_follow_ups_only():
    events = [*places_listed(["a", "b"]), user("merci", "thank"), user("samedi ?", "ask_hours")]
    assert context.current_topic(events) == "places"
    assert context.current_places(events) == ["a", "b"]
    moved_on = [*events, user("comment envoyer une pièce jointe", "ask_basic_skills")]
    assert context.current_topic(moved_on) is None
    assert context.current_places(moved_on) == []


def test_a_topic_expires_after_many_follow_ups():
    events = places_listed(["a"]) + [user("et ?", "inform")] * (context.MAX_FOLLOW_UPS + 1)
    assert context.current_topic(events) is None


def test_the_next_list_replaces_the_previous_one():
    events = places_listed(["a", "b"]) + places_listed(["c"])
    assert context.current_places(events) == ["c"]


def test_a_reset_topic_is_not_current():
    events = [
        *places_listed(["a"]),
        user("un mail ?", "ask_basic_skills"),
        slot("last_topic", None),
    ]
    assert context.current_topic([*events, user("Brest", "inform")]) is None


@pytest.mark.parametrize(
    ("text", "ordinal"),
    [("le premier", "1"), ("la deuxième", "2"), ("le 2e svp", "2"), ("numéro 3", "3"),
     ("le dernier", "last"), ("2", "2"), ("bonjour", None), ("à 11h", None),
     ("numéro deux", "2"), ("mon mari est décédé le mois dernier", None),
     ("je n'ai jamais touché à un ordinateur", None)],
)  # fmt: skip
def test_ordinals_in_text(text, ordinal):
    assert first_ordinal(text) == ordinal


def test_picking_by_ordinal_and_by_name():
    items = ["Brest", "Morlaix", "Quimper"]
    assert context.pick_by_ordinal(items, "2") == "Morlaix"
    assert context.pick_by_ordinal(items, "last") == "Quimper"
    assert context.pick_by_ordinal(items, "4") is None
    names = [("France services Brest",), ("Médiathèque de Morlaix",), ("EPN Quimper",)]
    assert context.pick_by_name(items, "celui de morlaix", names) == "Morlaix"
    assert context.pick_by_name(items, "la mediateque de morlai", names) == "Morlaix"
    assert context.pick_by_name(items, "celui d'à côté", names) is None


def test_keywords_choose_an_entry_with_typos_and_no_accents():
    entries = {
        "attachment": {"keywords": ["pièce jointe", "fichier dans un mail"]},
        "password": {"keywords": ["mot de passe"]},
    }
    assert context.best_keyword_match("comment envoyer une piéce jointes", entries) == "attachment"
    assert context.best_keyword_match("mot de pass oublié", entries) == "password"
    assert context.best_keyword_match("bonjour", entries) is None


# ------------------------------------------------------------------ days and hours


def test_moments_in_short_questions():
    saturday = date(2026, 12, 5)
    assert parse_moment("samedi ?", saturday).day == saturday
    assert parse_moment("samedi prochain", saturday).day == date(2026, 12, 12)
    tomorrow_morning = parse_moment("demain matin ?", saturday)
    assert (tomorrow_morning.day, tomorrow_morning.part_of_day) == (date(2026, 12, 6), "matin")
    assert parse_moment("vers 15h", saturday).start == time(15, 0)
    assert parse_moment("à quelle heure ça ferme ?", saturday).is_empty()


def test_hours_of_a_day_with_public_holidays():
    today = date(2026, 12, 1)
    assert hours.describe_day(HORAIRES, date(2026, 12, 5), today) == "samedi : ouvert de 9 h à 12 h"
    assert hours.describe_day(HORAIRES, date(2026, 12, 6), today) == "dimanche : fermé"
    christmas = hours.describe_day(HORAIRES, date(2026, 12, 25), today)
    assert christmas == "le vendredi 25 décembre : fermé (jour férié)"
    assert hours.open_spans("n'importe quoi", today) is None


def test_a_week_of_hours_hides_a_holiday():
    week = hours.describe_week(HORAIRES, date(2026, 12, 23))
    assert week[4] == "vendredi : de 9 h à 12 h et de 13 h 30 à 17 h 30"  # 25/12 is a holiday
    assert week[6] == "dimanche : fermé"


def test_hours_answer_numbers_the_places():
    place = place_by_id(context_place_id())
    assert place is not None
    now = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    text = hours_answer([place, place], parse_moment("demain matin", now.date()), now)
    assert text.startswith("Demain (mercredi) (le matin) :")
    assert "1. " in text and "2. " in text


def context_place_id() -> str:
    from actions.place_store import places_with_seed

    return next(p.id for p in places_with_seed() if p.horaires and hours.is_valid(p.horaires))


def test_a_shared_postcode_asks_which_commune():
    communes = geo.communes().by_postcode("29800")
    message = commune_choice("29800", communes)
    assert "plusieurs communes" in message["text"]
    assert message["buttons"][0] == {
        "title": "Landerneau",
        "payload": '/inform{"commune":"Landerneau"}',
    }
    assert len(message["buttons"]) == 6


# ------------------------------------------------------------------ actions


async def test_a_commune_reruns_the_current_topic_and_a_day_gives_hours():

    history = await searched("un espace numérique à Quimper", "Quimper")
    text, _, again = await run(
        ActionFollowUp(),
        tracker(
            history, "et à Concarneau ?", "inform", [{"entity": "commune", "value": "Concarneau"}]
        ),
    )
    assert "Concarneau" in text
    assert any(e["name"] == "listed_places" for e in again)
    text, _, _ = await run(ActionPlaceHours(), tracker(history, "samedi ?", "ask_hours"))
    assert "1. " in text and ("ouvert" in text or "fermé" in text)
    text, messages, _ = await run(
        ActionSelectItem(),
        tracker(history, "le 2e", "select_item", [{"entity": "ordinal", "value": "2"}]),
    )
    assert "Horaires de la semaine" in text or "Pour y aller" in text
    assert "Pour y aller" in messages[-1]["text"]


async def test_a_commune_without_topic_offers_what_to_do():
    text, messages, _ = await run(
        ActionFollowUp(), tracker([], "Brest", "inform", [{"entity": "commune", "value": "Brest"}])
    )
    assert "vous êtes à Brest" in text
    assert '/find_digital_place{"commune":"Brest"}' in [
        b["payload"] for b in messages[0]["buttons"]
    ]


async def test_a_bare_answer_without_anything_is_acknowledged():
    _, messages, _ = await run(ActionFollowUp(), tracker([], "ok", "inform"))
    assert messages[0]["response"] == "utter_inform_ack"


async def test_an_insult_read_as_an_answer_is_out_of_scope():
    _, messages, _ = await run(ActionFollowUp(), tracker([], "connard", "inform", confidence=0.9))
    assert [m.get("response") for m in messages] == ["utter_out_of_scope"]


async def test_an_unsure_answer_without_anything_is_not_acknowledged():
    _, messages, _ = await run(ActionFollowUp(), tracker([], "zorglub", "inform", confidence=0.4))
    assert [m.get("response") for m in messages] == ["utter_fallback_rephrase"]


async def test_social_worker_asks_the_commune_then_gives_the_nearest_desk():
    text, _, _events = await run(
        ActionSocialWorker(),
        tracker([], "je voudrais voir une assistante sociale", "ask_social_worker"),
    )
    assert "Dans quelle commune" in text and "02 61 91 00 00" in text
    history = [user("assistante sociale", "ask_social_worker"), slot("last_topic", "social")]
    text, _, _ = await run(
        ActionFollowUp(),
        tracker(
            history, "j'habite à Plouédern", "inform", [{"entity": "commune", "value": "Plouédern"}]
        ),
    )
    assert "CDAS de Landerneau" in text and "02 61 91 01 70" in text
    assert "Sans internet" in text


@pytest.mark.parametrize(
    ("text", "intent", "code", "topic"),
    [
        ("ya un epn vers 29150 ?", "find_digital_place", "29150", "places"),
        ("assistante sociale au 29300", "ask_social_worker", "29300", "social"),
    ],
)
async def test_a_shared_postcode_in_the_request_asks_which_commune(text, intent, code, topic):
    from actions.places import ActionFindDigitalPlace

    action = ActionFindDigitalPlace() if intent == "find_digital_place" else ActionSocialWorker()
    said, messages, events = await run(
        action, tracker([], text, intent, [{"entity": "postcode", "value": code}])
    )
    assert f"Le code postal {code} correspond à plusieurs communes" in said
    assert len(messages[0]["buttons"]) >= 2
    assert [e["value"] for e in events if e["name"] == "last_topic"] == [topic]


async def test_after_places_a_misunderstood_message_with_a_commune_searches_there():
    from actions.reroute import reroute

    history = await searched("un lieu numérique à Brest", "Brest")
    later = tracker(history, "ah non pardon c'est pour ma mère à Morlaix", "nlu_fallback",
                    [{"entity": "commune", "value": "Morlaix"}])  # fmt: skip
    dispatcher = CollectingDispatcher()
    assert await reroute(dispatcher, later, {}) is not None
    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    assert "Morlaix" in said and "APA" not in said


async def test_after_places_a_story_naming_last_month_picks_no_place():
    """« le mois dernier », « un ordinateur » in a story are no ranks in the list."""
    from actions.reroute import reroute

    story = (
        "Bonjour, mon mari est décédé le mois dernier et je ne sais pas quelles démarches "
        "faire, je n'ai jamais touché à un ordinateur"
    )
    later = tracker(places_listed(["a", "b", "c"]), story, "nlu_fallback")
    dispatcher = CollectingDispatcher()
    assert await reroute(dispatcher, later, {}) is None
    assert dispatcher.messages == []


async def test_the_way_to_the_place_picked_before():
    """« le 2e », then « comment y aller ? » (read as a guide question): that place's way."""
    from actions.reroute import reroute

    history = await searched("un espace numérique à Quimper", "Quimper")
    listed = list(history)
    second = [{"entity": "ordinal", "value": "2"}]
    picked_text, _, picked = await run(
        ActionSelectItem(), tracker(history, "le 2e", "select_item", second)
    )
    history += [user("le 2e", "select_item", second), *(dict(e, event="slot") for e in picked)]
    dispatcher = CollectingDispatcher()
    assert await reroute(dispatcher, tracker(history, "comment y aller", "ask_basic_skills"), {})
    way = dispatcher.messages[-1]["text"]
    assert way.startswith("Pour y aller : ") and way.split("\n")[0] in picked_text

    # Nothing picked yet: which one?
    dispatcher = CollectingDispatcher()
    assert await reroute(dispatcher, tracker(listed, "c'est où ?", "nlu_fallback"), {})
    assert dispatcher.messages[0]["text"].startswith("Lequel de ces lieux ?")

    # Read as a question of hours, « comment je m'y rends » is still the way there.
    text, _, _ = await run(
        ActionPlaceHours(), tracker(history, "comment je m'y rends", "ask_hours")
    )
    assert "\nPour y aller : " in text and text.split("\n")[0] in picked_text
    # Read as a yes (« c'est », as in « c'est bon »), « c'est où exactement » too.
    text, _, _ = await run(ActionFollowUp(), tracker(history, "c'est où exactement", "affirm"))
    assert "\nPour y aller : " in text and text.split("\n")[0] in picked_text
    # A question of hours stays one.
    text, _, _ = await run(
        ActionPlaceHours(), tracker(history, "on peut y aller samedi ?", "ask_hours")
    )
    assert "Pour y aller" not in text and "samedi" in text.lower()


async def test_a_plain_yes_after_a_list_is_acknowledged():
    from tests.nlu_data import examples

    yeses = examples("train")["affirm"]
    assert len(yeses) > 50
    history = await searched("un espace numérique à Quimper", "Quimper")
    answers = {y: (await run(ActionFollowUp(), tracker(history, y, "affirm")))[0] for y in yeses}
    assert {y: a for y, a in answers.items() if a != "utter_affirm_ack"} == {}
    text, _, _ = await run(ActionFollowUp(), tracker([], "non merci", "deny"))
    assert text == "utter_deny_ack"


async def test_select_without_a_list_says_so():
    text, _, _ = await run(ActionSelectItem(), tracker([], "le premier", "select_item"))
    assert "pas de liste" in text


def test_choose_place_by_commune_name():
    from actions.place_store import places_with_seed

    places = places_with_seed()[:3]
    assert choose_place(places, None, "le 1", None) is places[0]
    assert choose_place(places, "last", "", None) is places[-1]


# ------------------------------------------------------------------ typed button titles


BUTTONS = [
    {"title": "Envoyer une pièce jointe", "payload": '/ask_basic_skills{"guide":"attachment"}'},
    {"title": "Choisir un mot de passe", "payload": '/ask_basic_skills{"guide":"password"}'},
]


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("envoyer une piece jointe", BUTTONS[0]["payload"]),
        ("CHOISIR UN MOT DE PASSE !", BUTTONS[1]["payload"]),
        ("le 2e", BUTTONS[1]["payload"]),
        ("la deuxième", BUTTONS[1]["payload"]),
        ("1", BUTTONS[0]["payload"]),
        ("le dernier", BUTTONS[1]["payload"]),
        ("une pièce jointe", None),
        ("le 3e", None),
    ],
)
def test_a_typed_title_or_rank_is_the_button(text, payload):
    assert chosen_payload(text, BUTTONS, allow_rank=True) == payload


def test_ranks_are_left_to_select_item_after_a_list_of_places():
    assert chosen_payload("le 2e", BUTTONS, allow_rank=False) is None
    assert chosen_payload("Choisir un mot de passe", BUTTONS, allow_rank=False) is not None


def test_latest_buttons_come_from_the_last_answer_only():
    old = BotUttered("menu", {"buttons": [{"title": "Vieux", "payload": "/greet"}]})
    events = [
        UserUttered("bonjour"), old, ActionExecuted("action_listen"),
        UserUttered("apprendre"), BotUttered("Quel geste ?", {"buttons": BUTTONS}),
        SlotSet("listed_places", None), ActionExecuted("action_listen"),
    ]  # fmt: skip
    tracker = DialogueStateTracker.from_events("t", events)
    assert latest_buttons(tracker) == (BUTTONS, False)
    listed = DialogueStateTracker.from_events("t", [*events[:-2], SlotSet("listed_places", ["a"])])
    assert latest_buttons(listed)[1] is True


async def test_after_places_the_weather_of_another_commune_stays_out_of_scope():
    from actions.reroute import ActionOutOfScope

    history = await searched("un espace numérique à Quimper", "Quimper")
    for intent in ("out_of_scope", "nlu_fallback"):
        later = tracker(history, "et la météo à Brest ?", intent,
                        [{"entity": "commune", "value": "Brest"}])  # fmt: skip
        _, messages, _ = await run(ActionOutOfScope(), later)
        assert messages[0].get("response") == "utter_out_of_scope", intent


@pytest.mark.parametrize(
    ("text", "intent", "told"),
    [
        ("je veux refaire mon passeport", "out_of_scope", ["mairie", "34 00"]),
        ("comment faire ma carte grise", "out_of_scope", ["ants.gouv.fr", "34 00"]),
        ("jdoi refaire mon permi de conduire", "nlu_fallback", ["ANTS", "34 00"]),
        ("je dois refaire mon permis", "out_of_scope", ["ANTS", "34 00"]),
        ("ma carte vitale est perdu", "out_of_scope", ["ameli.fr", "36 46"]),
        ("la carte vital de mon fils est perdue", "nlu_fallback", ["Assurance Maladie", "36 46"]),
        ("comment on fait pour refaire sa carte vitale", "ask_procedure", ["ameli.fr", "36 46"]),
    ],
)
async def test_another_administrations_procedure_names_who_and_france_services(text, intent, told):  # type: ignore[no-untyped-def]
    """Not « je ne peux pas vous aider »: who handles it, and the help without internet."""
    from actions.fallback import ActionFallback
    from actions.knowledge import ActionProcedure
    from actions.reroute import ActionOutOfScope

    actions = {"out_of_scope": ActionOutOfScope, "ask_procedure": ActionProcedure}
    action = actions.get(intent, ActionFallback)()
    said, messages, _ = await run(action, tracker([], text, intent, confidence=0.5))
    assert [m.get("response") for m in messages] == [None]
    for words in [*told, "pas du Département", "France Services"]:
        assert words in said, (words, said)
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/find_digital_place", "/request_human"]


async def test_a_building_permit_is_the_communes():
    from actions.reroute import ActionOutOfScope

    text = "un permis de construire pour un garage"
    said, _, _ = await run(ActionOutOfScope(), tracker([], text, "out_of_scope"))
    assert "mairie de la commune du terrain" in said and "ANTS" not in said


async def test_other_subjects_stay_out_of_scope():
    from actions.reroute import ActionOutOfScope

    for text in ("comment faire une blanquette de veau", "qui a gagné roland garros"):
        _, messages, _ = await run(ActionOutOfScope(), tracker([], text, "out_of_scope"))
        assert [m.get("response") for m in messages] == ["utter_out_of_scope"], text
