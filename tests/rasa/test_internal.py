"""The agents' assistant on the action side (issue 18): internal content for staff only,
searched by the words agents write; trainings against a frozen clock; orientation;
room how-tos and fault reports. Tracker.from_dict + CollectingDispatcher, real SQLite."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.booking as booking_actions
from actions import booking_texts, internal, room_help
from actions.booking_store import UTC
from actions.internal import (
    STAFF_ONLY,
    ActionInternalInfo,
    ActionTrainings,
    internal_entries,
    search,
)
from actions.internal_rooms import FAULT_KEY, ActionRoomFault, ActionRoomHowto
from actions.knowledge import ActionDigitalAdvisor, review_items
from actions.orientation import ActionOrientPerson
from common.config import PROJECT_ROOT, data_dir
from common.migrate import upgrade
from tests.rasa.test_booking_actions import AGENT as MATRIX_AGENT  # the directory's Matrix agent

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 10:00 in Paris
WEB_AGENT = {"channel": "web", "user_id": "agent.sans.annuaire", "role": "agent", "locale": "fr"}
WEB_CITIZEN = {"channel": "web", "role": "citizen", "locale": "fr"}
TELEGRAM_STRANGER = {"channel": "telegram", "user_id": "999", "role": "citizen", "locale": "fr"}
CITIZENS = [WEB_CITIZEN, TELEGRAM_STRANGER]
# Words only internal content carries.
INTERNAL_WORDS = (
    "VPN Département",
    "webmail.departement",
    "Fiche :",
    "Inscription :",
    "Où l'envoyer",
)


@pytest.fixture(autouse=True)
def frozen(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'actions.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade(url)
    monkeypatch.setattr(booking_actions, "now", lambda: NOW)
    monkeypatch.setattr(internal, "today", lambda: date(2026, 12, 1))


def tracker(text: str, intent: str, metadata: dict, entities: list | None = None) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": f"{metadata['channel']}:t",
            "slots": {},
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_message": {
                "text": text,
                "intent": {"name": intent},
                "entities": entities or [],
                "metadata": metadata,
            },
            "events": [],
        }
    )


async def run(action, t: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, t, {})
    return dispatcher.messages


def text_of(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("jarrive pa a me conecter au vpn depui chez moi", "knowledge:vpn"),
        ("c koi le lien du webmail", "knowledge:webmail"),
        ("mot de pass windows oublié", "knowledge:password"),
        ("tel du support info", "knowledge:helpdesk"),
        ("comment faire un ordre de mision", "knowledge:mission_order"),
        ("rembourser mes frais de deplacement", "knowledge:expenses"),
        ("poser des congés", "knowledge:leave"),
        ("qui s'occupe des routes", "services:routes"),
        ("le numéro de la DRH", "services:drh"),
        ("ma fiche de paie est fausse", "services:drh"),
    ],
)
def test_entries_are_found_by_the_words_agents_write(text, entry):
    entries, _ = internal_entries()
    assert search(text, entries) == [entry]


async def test_an_agent_gets_the_entry_with_its_owner_and_date():
    answer = text_of(
        await run(ActionInternalInfo(), tracker("vpn hs", "ask_internal_info", MATRIX_AGENT))
    )
    assert "Accès à distance (VPN)" in answer
    assert "Fiche : Direction du numérique, mise à jour le 24 novembre 2026." in answer
    assert "Contenu d'exemple" in answer  # the sample is labelled as a template


async def test_a_signed_in_web_account_is_staff_and_a_directory_card_has_its_phone():
    messages = await run(
        ActionInternalInfo(), tracker("qui gère les routes", "ask_internal_info", WEB_AGENT)
    )
    answer = text_of(messages)
    assert "Direction des routes" in answer and "Téléphone : 02 98 00 30 00" in answer


async def test_an_unclear_question_offers_the_topics_as_buttons():
    [message] = await run(
        ActionInternalInfo(), tracker("info interne", "ask_internal_info", MATRIX_AGENT)
    )
    payloads = [b["payload"] for b in message["buttons"]]
    assert '/ask_internal_info{"internal_topic":"knowledge:vpn"}' in payloads
    [chosen] = await run(
        ActionInternalInfo(),
        tracker(
            payloads[0],
            "ask_internal_info",
            MATRIX_AGENT,
            [{"entity": "internal_topic", "value": "knowledge:vpn"}],
        ),
    )
    assert "Accès à distance (VPN)" in chosen["text"]


@pytest.mark.parametrize("metadata", CITIZENS)
@pytest.mark.parametrize(
    ("action", "text", "intent"),
    [
        (ActionInternalInfo(), "comment me connecter au vpn", "ask_internal_info"),
        (ActionInternalInfo(), "knowledge:vpn", "ask_internal_info"),
        (ActionRoomHowto(), "mode d'emploi de la salle Odet", "ask_room_howto"),
        (ActionRoomFault(), "la salle Odet ne marche pas", "report_room_fault"),
    ],
)
async def test_citizens_get_the_polite_staff_only_answer(metadata, action, text, intent):
    entities = [{"entity": "internal_topic", "value": "knowledge:vpn"}]
    messages = await run(action, tracker(text, intent, metadata, entities))
    assert [m["text"] for m in messages] == [STAFF_ONLY]
    assert not any(m.get("custom") for m in messages)


@pytest.mark.parametrize("metadata", CITIZENS)
async def test_citizens_asking_for_a_training_get_the_digital_advisors(metadata):
    text = "je voudrais une formation pour apprendre l'ordinateur"
    messages = await run(ActionTrainings(), tracker(text, "ask_training", metadata))
    advisors = await run(ActionDigitalAdvisor(), tracker(text, "ask_training", metadata))
    assert messages == advisors
    assert "conseiller" in text_of(messages).lower()
    assert STAFF_ONLY not in text_of(messages)
    text = "une formation pour apprendre à envoyer une pièce jointe"
    messages = await run(ActionTrainings(), tracker(text, "ask_training", metadata))
    assert "Envoyer une pièce jointe" in text_of(messages)


async def test_forged_agent_metadata_on_telegram_is_not_staff():
    forged = {**TELEGRAM_STRANGER, "role": "agent"}
    messages = await run(ActionInternalInfo(), tracker("vpn", "ask_internal_info", forged))
    assert text_of(messages) == STAFF_ONLY


# ------------------------------------------------------------------ trainings


async def test_trainings_by_theme_and_place_from_the_frozen_clock():
    answer = text_of(
        await run(
            ActionTrainings(),
            tracker(
                "formation médiation à Quimper",
                "ask_training",
                MATRIX_AGENT,
                [{"entity": "commune", "value": "Quimper"}],
            ),
        )
    )
    assert "14 janvier 2027, 15 janvier 2027 : Accompagner les usagers" in answer
    assert "accompagner les seniors" in answer
    assert "Brest" not in answer  # the Brest session is elsewhere
    assert "Inscription : Service formation" in answer

    visio = text_of(
        await run(
            ActionTrainings(), tracker("des formations en visio ?", "ask_training", MATRIX_AGENT)
        )
    )
    assert "en visio" in visio and "Aidants Connect" in visio and "Morlaix" not in visio


async def test_past_sessions_are_no_longer_offered(monkeypatch):
    monkeypatch.setattr(internal, "today", lambda: date(2027, 3, 10))
    answer = text_of(
        await run(ActionTrainings(), tracker("prochaines formations", "ask_training", MATRIX_AGENT))
    )
    assert "janvier 2027" not in answer and "23 mars 2027" in answer
    monkeypatch.setattr(internal, "today", lambda: date(2030, 1, 1))
    answer = text_of(
        await run(ActionTrainings(), tracker("prochaines formations", "ask_training", MATRIX_AGENT))
    )
    assert answer.startswith("Aucune session de formation n'est prévue")


async def test_a_place_without_session_says_so_and_gives_the_others():
    t = tracker(
        "formation à Carhaix",
        "ask_training",
        MATRIX_AGENT,
        [{"entity": "commune", "value": "Carhaix-Plouguer"}],
    )
    answer = text_of(await run(ActionTrainings(), t))
    assert answer.startswith("Pas de session prévue à Carhaix-Plouguer")
    assert "Accompagner les usagers" in answer


# ------------------------------------------------------------------ orientation


async def test_an_agent_orienting_a_person_gets_the_professional_version():
    t = tracker(
        "une usagère de Morlaix me demande l'APA",
        "orient_person",
        MATRIX_AGENT,
        [{"entity": "procedure", "value": "apa"}, {"entity": "commune", "value": "Morlaix"}],
    )
    answer = text_of(await run(ActionOrientPerson(), t))
    assert "Où l'envoyer :" in answer and "Quel guichet :" in answer
    assert "Documents à lui demander :" in answer and "dernier avis d'imposition" in answer
    assert "Mandat Aidants Connect :" in answer
    assert "CDAS de la personne (Morlaix)" in answer
    assert "Lieux d'aide aux démarches près de Morlaix" in answer


async def test_an_agent_without_the_procedure_name_gets_it_from_the_words():
    t = tracker(
        "un monsieur veut de l'aide pour sa déclaration d'impots", "orient_person", WEB_AGENT
    )
    answer = text_of(await run(ActionOrientPerson(), t))
    assert "Pour orienter la personne — Les impôts" in answer
    assert "Dites-moi la commune de la personne" in answer


@pytest.mark.parametrize("metadata", CITIZENS)
async def test_a_citizen_orienting_someone_gets_the_public_version(metadata):
    t = tracker(
        "une dame veut l'apa", "orient_person", metadata, [{"entity": "procedure", "value": "apa"}]
    )
    answer = text_of(await run(ActionOrientPerson(), t))
    assert "L'APA (allocation personnalisée d'autonomie)" in answer
    assert not any(word in answer for word in INTERNAL_WORDS)


# ------------------------------------------------------------------ rooms


def test_every_room_has_a_howto_and_every_site_a_contact():
    rooms = yaml.safe_load((PROJECT_ROOT / "data" / "rooms.yml").read_text(encoding="utf-8"))
    for site in rooms["sites"]:
        assert room_help.site_contact(site["name"]), site["name"]
        for room in site["rooms"]:
            howto = room_help.room_howto(room["id"])
            assert howto and room["name"] in howto and "Partager l'écran" in howto
    assert room_help.room_howto("nowhere-room") is None


def test_the_booking_confirmation_shows_the_rooms_howto():
    booking = (
        booking_actions.store()
        .book(
            "a.martin",
            "brest-iroise",
            NOW + timedelta(days=1),
            NOW + timedelta(days=1, hours=1),
            4,
            "https://v.example/x",
            NOW,
        )
        .booking
    )
    text = booking_texts.booked(booking, "https://a.example/bookings/x.ics")
    assert text.startswith("C'est réservé : « Salle Iroise »")
    assert "Mode d'emploi de « Salle Iroise »" in text and "tablette murale" in text


@pytest.mark.parametrize(
    ("text", "room"),
    [
        ("la salle Odet ne marche pas", "quimper-odet"),
        ("salle iroise hs", "brest-iroise"),
        ("panne salle laita", "quimperle-laita"),
    ],
)
def test_rooms_are_found_in_words(text, room):
    assert room_help.room_in_words(text).code == room


async def test_a_room_howto_on_request():
    [message] = await run(
        ActionRoomHowto(), tracker("mode d'emploi salle dossen", "ask_room_howto", MATRIX_AGENT)
    )
    assert message["text"].startswith("Mode d'emploi de « Salle Dossen »")


async def test_a_fault_report_carries_the_room_the_booking_and_the_reporter():
    booking = (
        booking_actions.store()
        .book(
            "a.martin",
            "quimper-odet",
            NOW - timedelta(minutes=15),
            NOW + timedelta(minutes=45),
            3,
            "https://v.example/y",
            NOW - timedelta(hours=1),
        )
        .booking
    )
    # No room named: the agent's booking under way tells which one.
    messages = await run(
        ActionRoomFault(), tracker("la salle ne marche pas", "report_room_fault", MATRIX_AGENT)
    )
    report = messages[0]["custom"][FAULT_KEY]
    assert report["room"] == "quimper-odet" and report["room_name"] == "Salle Odet"
    assert report["booking"].startswith(f"{booking.ref} — mardi 1er décembre 2026 de 9 h 45")
    assert report["reporter"] == "Anne Martin (a.martin@departement.example)"
    assert report["contact"].startswith("Accueil logistique de l'Hôtel du Département")
    assert report["message"] == "la salle ne marche pas"
    assert "Mode d'emploi de « Salle Odet »" in messages[1]["text"]


async def test_a_fault_without_a_room_asks_which_one():
    t = tracker(
        "la salle de Quimper ne marche pas",
        "report_room_fault",
        WEB_AGENT,
        [{"entity": "site", "value": "Quimper"}],
    )
    [message] = await run(ActionRoomFault(), t)
    assert message["text"] == "De quelle salle s'agit-il ?"
    assert [b["payload"] for b in message["buttons"]] == [
        '/report_room_fault{"room":"quimper-odet"}',
        '/report_room_fault{"room":"quimper-steir"}',
        '/report_room_fault{"room":"quimper-jet"}',
    ]


def test_internal_entries_have_owner_review_date_and_source():
    problems = [
        i for i in review_items(data_dir(), 1200, NOW.date()) if i.file.startswith("internal/")
    ]
    assert problems == []
