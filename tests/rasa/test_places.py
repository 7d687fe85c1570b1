"""Nearest digital-help places, opening hours with a frozen clock, and the places action."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import geo, place_search
from actions.place_import import import_path
from actions.place_store import all_places, engine
from actions.places import UNAVAILABLE, ActionFindDigitalPlace
from common import hours
from common.config import PROJECT_ROOT
from common.migrate import upgrade

FIXTURES = Path(__file__).parent / "fixtures" / "places"
PARIS = hours.PARIS
WEEKLY = "Mo-Fr 09:00-12:00,14:00-17:00; PH off"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


# ------------------------------------------------------------------ opening hours


def test_open_now_says_until_when():
    assert hours.describe(WEEKLY, at("2026-11-24 10:30")) == "Ouvert en ce moment, jusqu'à 12 h."


def test_closed_in_the_evening_opens_tomorrow_at_nine():
    assert hours.describe(WEEKLY, at("2026-11-24 18:00")) == (
        "Fermé en ce moment. Ouvre demain à 9 h."
    )


def test_lunch_break_reopens_the_same_afternoon():
    assert hours.describe(WEEKLY, at("2026-11-24 12:30")) == (
        "Fermé en ce moment. Ouvre aujourd'hui à 14 h."
    )


def test_weekend_reopens_on_monday():
    assert (
        hours.describe(WEEKLY, at("2026-11-28 11:00")) == "Fermé en ce moment. Ouvre lundi à 9 h."
    )


def test_closed_on_french_public_holidays_when_the_data_says_ph_off():
    # 11 November (Armistice) is a Wednesday in 2026; Christmas is a Friday.
    assert hours.describe(WEEKLY, at("2026-11-11 10:00")) == (
        "Fermé aujourd'hui (jour férié). Ouvre demain à 9 h."
    )
    assert hours.describe(WEEKLY, at("2026-12-25 10:00")) == (
        "Fermé aujourd'hui (jour férié). Ouvre lundi à 9 h."
    )


def test_without_ph_off_a_public_holiday_is_an_ordinary_day():
    assert hours.availability("Mo-Fr 09:00-12:00", at("2026-12-25 10:00")).open_now


def test_a_far_reopening_gives_the_date():
    assert hours.describe("Jan 20-Dec 31 Mo 09:00-12:00", at("2026-01-01 10:00")) == (
        "Fermé aujourd'hui (jour férié). Ouvre le lundi 26 janvier à 9 h."
    )


def test_missing_or_invalid_hours_are_said_plainly():
    for value in (None, "", "lundi 9h-12h"):
        assert hours.describe(value, at("2026-11-24 10:00")).startswith("Horaires non renseignés")


def test_naive_times_are_taken_as_paris_time():
    assert hours.availability(WEEKLY, datetime(2026, 11, 24, 10, 0)).open_now


# ------------------------------------------------------------------ distances


def test_haversine_brest_quimper():
    assert geo.haversine_km(48.39, -4.486, 47.996, -4.102) == pytest.approx(52, abs=2)


def test_distances_in_french():
    assert geo.french_distance(0.42) == "à 400 m"
    assert geo.french_distance(2.36) == "à 2,4 km"
    assert geo.french_distance(37.6) == "à 38 km"


@pytest.fixture
def index() -> geo.CommuneIndex:
    return geo.communes(FIXTURES / "communes.csv")


@pytest.fixture
def places(tmp_path, index):
    url = f"sqlite:///{tmp_path / 'places.db'}"
    upgrade(url)
    db = engine(url)
    import_path(FIXTURES / "valid.csv", db, index=index)
    return all_places(db)


def test_nearest_places_are_ordered_by_distance(index, places):
    found = place_search.nearest(places, index.get("Brest"), index)
    assert found.by_distance
    names = [p.nom for p, _ in found.places]
    distances = [km for _, km in found.places]
    assert len(names) == 3 and distances == sorted(distances)
    assert names == ["Lieu test Brest", "Lieu test Quimper", "Lieu test Le Mans"]
    assert place_search.nearest(places, index.get("Le Mans"), index).places[0][0].nom == (
        "Lieu test Le Mans"
    )


def test_without_coordinates_places_of_the_postal_code_then_departement(index, places):
    same_postcode = place_search.nearest(places, index.get("Sansgeo"), index)
    assert not same_postcode.by_distance and same_postcode.scope == "code postal"
    assert {p.code_postal for p, _ in same_postcode.places} == {"29200"}
    departement = place_search.nearest(places, index.get("Sansgeo-Sarthe"), index)
    assert departement.scope == "département"
    assert {p.departement for p, _ in departement.places} == {"72"}


def test_commune_names_are_matched_loosely_and_misspellings_get_suggestions(index):
    assert index.get("carhaix plouguer").nom == "Carhaix-Plouguer"
    assert index.get("29019").nom == "Brest"
    assert place_search.suggestions("je cherche un lieu à Brset", index, False) == ["Brest"]
    assert place_search.suggestions("Quimpre", index, True) == ["Quimper"]
    assert place_search.suggestions("je cherche un lieu pour internet", index, False) == []


def test_the_place_card_has_every_piece(index, places):
    brest = next(p for p in places if p.id == "t-brest")
    card = place_search.describe_place(brest, 1.23, at("2026-11-24 10:00"))
    assert card.splitlines() == [
        "Lieu test Brest (à 1,2 km)",
        "1 rue de Siam, 29200 Brest",
        "Téléphone : 02 61 91 03 01",
        "Services : aide aux démarches administratives, accès internet et matériel informatique.",
        "Ouvert en ce moment, jusqu'à 12 h.",
        "Accueil adapté : surdité. Fiche d'accessibilité : https://acceslibre.beta.gouv.fr/app/exemple/",
        "Informations de 2026 : appelez avant de vous déplacer.",
    ]
    lemans = next(p for p in places if p.id == "t-lemans")
    card = place_search.describe_place(lemans, None, at("2026-11-24 10:00"))
    assert "Accessibilité : non renseignée." in card and "Horaires non renseignés." in card


# ------------------------------------------------------------------ the action


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """The shipped data, with two test communes without coordinates added to the table."""
    folder = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", folder)
    without_position = [
        line
        for line in (FIXTURES / "communes.csv").read_text(encoding="utf-8").splitlines()
        if line.startswith(("29999,", "72998,"))
    ]
    with (folder / "communes.csv").open("a", encoding="utf-8") as table:
        table.write("\n".join(without_position) + "\n")
    monkeypatch.setenv("DATA_DIR", str(folder))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'assistant.db'}")
    upgrade(f"sqlite:///{tmp_path / 'assistant.db'}")
    return folder


def tracker(text: str, entities: list[dict] | None = None, slots: dict | None = None) -> Tracker:
    return Tracker.from_dict({
        "sender_id": "t", "slots": slots or {}, "events": [], "paused": False,
        "latest_message": {"text": text, "intent": {"name": "find_digital_place"},
                           "entities": entities or []},
        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    })  # fmt: skip


async def run(t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await ActionFindDigitalPlace().run(dispatcher, t, {})
    return dispatcher.messages, events


async def test_no_commune_asks_for_it(data_dir):
    messages, events = await run(tracker("je cherche un endroit pour être aidé"))
    assert messages[0]["response"] == "utter_ask_place_commune"
    assert {
        "event": "slot",
        "timestamp": None,
        "name": "place_step",
        "value": "ask_commune",
    } in events


def slot(events: list[dict], name: str):
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == name)


async def test_the_three_nearest_places_fill_an_empty_database_from_the_real_data(data_dir):
    commune = [{"entity": "commune", "value": "Carhaix-Plouguer"}]
    messages, events = await run(tracker("un lieu à carhaix", commune))
    assert messages[0]["text"] == (
        "Voici les 3 lieux d'aide au numérique les plus proches de Carhaix-Plouguer :"
    )
    cards = [m["text"] for m in messages[1:4]]
    assert cards[0].startswith("France services Poher communauté (à 100 m)")
    assert "Labels : France Services, Conseillers numériques." in cards[0]
    assert "Informations de 2024 (ANCT) : appelez avant de vous déplacer." in cards[0]
    assert all("appelez avant de vous déplacer" in c for c in cards)
    assert messages[-1]["response"] == "utter_place_more_help"
    assert {"event": "slot", "timestamp": None, "name": "place_step", "value": None} in events
    assert slot(events, "listed_places") == [
        "fs-1239", "cnfs-638884bb0830e306f21eeb6d", "cnfs-63887e210830e306f21eea8c"
    ]  # fmt: skip
    assert slot(events, "last_topic") == "places"
    assert slot(events, "commune") == "Carhaix-Plouguer"
    assert place_search.place_by_id("fs-1239").nom == "France services Poher communauté"
    # A source row merged into the place finds the place too.
    assert place_search.place_by_id("cnfs-62b1d97edd51e705b18078f1").id == "fs-1239"
    assert place_search.place_by_id("nope") is None


async def test_a_need_in_the_message_keeps_the_places_offering_it(data_dir):
    commune = [{"entity": "commune", "value": "Mamers"}]
    messages, events = await run(tracker("où imprimer un papier près de Mamers", commune))
    assert messages[0]["text"] == (
        "Voici les 3 lieux les plus proches de Mamers où imprimer ou scanner un document :"
    )
    assert all("accès internet et matériel informatique" in m["text"] for m in messages[1:4])
    assert len(slot(events, "listed_places")) == 3


async def test_the_need_of_the_first_message_is_kept_when_we_asked_the_commune(data_dir):
    first = {"event": "user", "text": "je veux apprendre la tablette",
             "parse_data": {"intent": {"name": "find_digital_place"}}}  # fmt: skip
    answer = {"event": "user", "text": "Sablé-sur-Sarthe", "parse_data": {"intent": {}}}
    t = tracker(
        "Sablé-sur-Sarthe",
        [{"entity": "commune", "value": "Sablé-sur-Sarthe"}],
        {"place_step": "ask_commune"},
    )
    t.events.extend([first, answer])
    messages, _ = await run(t)
    assert messages[0]["text"].startswith(
        "Voici les 3 lieux les plus proches de Sablé-sur-Sarthe où apprendre à se servir"
    )


async def test_the_answer_to_our_question_uses_the_commune_slot_of_the_button(data_dir):
    messages, _ = await run(
        tracker(
            "Quimper", [{"entity": "commune", "value": "Quimper"}], {"place_step": "ask_commune"}
        )
    )
    assert "plus proches de Quimper" in messages[0]["text"]


async def test_a_misspelt_commune_gets_suggestions_as_buttons(data_dir):
    messages, events = await run(tracker("Morlai", slots={"place_step": "ask_commune"}))
    assert messages[0]["buttons"] == [
        {"title": "Morlaix", "payload": '/inform{"commune":"Morlaix"}'}
    ]
    assert events[0]["value"] == "ask_commune"


async def test_an_unknown_commune_is_asked_again(data_dir):
    messages, _ = await run(tracker("Zzyzx", slots={"place_step": "ask_commune"}))
    assert messages[0]["response"] == "utter_place_commune_unknown"


async def test_a_commune_without_coordinates_is_said(data_dir):
    messages, _ = await run(tracker("Sansgeo", [{"entity": "commune", "value": "Sansgeo"}]))
    assert "Je ne peux pas calculer les distances depuis Sansgeo" in messages[0]["text"]


async def test_a_database_failure_gives_a_polite_answer(data_dir, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocker / 'sub' / 'db.sqlite'}")
    messages, _ = await run(tracker("à Brest", [{"entity": "commune", "value": "Brest"}]))
    assert messages == [{**messages[0], "text": UNAVAILABLE}]
