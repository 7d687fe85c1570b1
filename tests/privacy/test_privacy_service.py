"""Find, export and erase one person's data (integrations/privacy/), on SQLite and PostgreSQL.

Each test stores two people through the real stores (gateway, handoff, inbox, audit,
Rasa's tracker table, the booking store) and checks that only the one asked about is
found, exported or erased.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from integrations.admin.audit import AuditLog
from integrations.admin.inbox import Inbox, InboxRow
from integrations.handoff.store import HandoffStore, Mediator
from integrations.messages import Incoming, Reply, Role
from integrations.privacy.__main__ import run as cli
from integrations.privacy.service import Person, Privacy, PrivacyError
from integrations.store import HandoffKind, Store, Ticket
from tests import rasa_env
from tests.rasa_env import BOOKING_SLOTS, EVENTS

MARIE = "b7f0c2d1e4a94f7e"  # the web sender of the person asking
OTHER = "0c5d9e8f7a6b4c3d"
PHONE = "06 12 34 56 78"
ROOMS = {
    "sites": [
        {
            "name": "Brest",
            "opening_hours": "Mo-Fr 08:00-18:00",
            "rooms": [{"id": "brest-iroise", "name": "Iroise", "capacity": 8}],
        }
    ]
}
AGENTS = {
    "agents": [
        {
            "id": "a.martin",
            "name": "Anne Martin",
            "email": "a.martin@departement.example",
            "identities": {"telegram": "100000001", "web": "a.martin"},
        },
        {"id": "y.le-gall", "name": "Yann Le Gall", "identities": {"telegram": "100000002"}},
    ]
}


def conversation(engine: Engine, sender: str, first: str) -> tuple[int, int, int]:
    """A web conversation: the person's message, the bot's answer; their three ids."""
    store = Store(engine)
    ref, said = store.record_incoming(Incoming("web", sender, sender, first, Role.CITIZEN))
    (answer,) = store.record_replies(ref.id, [Reply(text="Je n'ai pas compris.")])
    return ref.id, said.id, answer.id


def tracker_events(engine: Engine, sender: str, text: str) -> None:
    with engine.begin() as connection:
        data = json.dumps({"event": "user", "text": text, "parse_data": {}})
        connection.execute(
            insert(EVENTS).values(
                sender_id=f"web:{sender}",
                type_name="user",
                timestamp=datetime.now(UTC).timestamp(),
                data=data,
            )
        )


@pytest.fixture
def people(engine: Engine) -> dict[str, int]:
    """Marie (web) with a handoff, a note, a ticket, inbox hits, feedback, audit entries;
    another citizen who writes the same thing; an agent with a booking."""
    handoffs, inbox, audit = HandoffStore(engine), Inbox(engine), AuditLog(engine)
    annick = Mediator(7, "Annick")
    marie, marie_said, marie_answer = conversation(
        engine, MARIE, f"Bonjour je m'appelle Marie Le Bihan, mon numéro {PHONE}"
    )
    _, again = Store(engine).record_incoming(
        Incoming("web", MARIE, MARIE, "je cherche la caf", Role.CITIZEN)
    )
    tracker_events(engine, MARIE, "je cherche la caf")
    handoffs.request(marie, "request_human", HandoffKind.MESSAGE)
    handoffs.add_note(marie, annick, "Rappeler Mme Le Bihan au 06.12.34.56.78")
    handoffs.add_ticket(marie, "web", "06.12.34.56.78", "rappelez-moi pour la CAF")
    flagged = inbox.flag_user_message(marie_said)
    inbox.user_feedback(f"web:{MARIE}", marie_answer)
    inbox.flag_user_message(again.id)
    audit.record("annick", "inbox.flag", message=marie_said, item=flagged.id)
    audit.record("admin", "annotate.ignore", item=flagged.id, text=flagged.text)

    other, other_said, _ = conversation(engine, OTHER, "je cherche la caf")
    tracker_events(engine, OTHER, "je cherche la caf")
    handoffs.add_ticket(other, "web", "02 98 00 00 00", "rappel SVP")
    shared = inbox.flag_user_message(other_said)
    audit.record("annick", "inbox.flag", message=other_said, item=shared.id)

    url = engine.url.render_as_string(hide_password=False)
    rasa_env.call("seed_bookings", url, ROOMS, AGENTS)
    start = datetime(2030, 1, 8, 9, 0, tzinfo=UTC)
    for agent, day in (("a.martin", 0), ("y.le-gall", 1)):
        begin = start + timedelta(days=day)
        end = begin + timedelta(hours=1)
        rasa_env.call(
            "book", url, agent, "brest-iroise", begin.isoformat(), end.isoformat(), 4,
            "https://v/x", start.isoformat(),
        )  # fmt: skip
    return {"marie": marie, "other": other, "shared_item": shared.id}


def counts_of(engine: Engine, person: Person) -> dict[str, int]:
    return Privacy(engine).find(person, "dpo").counts()


def test_everything_about_a_web_conversation_is_found_and_nothing_else(
    engine: Engine, people: dict[str, int]
) -> None:
    found = Privacy(engine).find(Person.parse("web", MARIE), "dpo")

    assert [c["key"] for c in found.conversations] == [f"web:{MARIE}"]
    assert found.counts() == {
        "conversations": 1,
        "messages": 3,
        "handoffs": 1,
        "notes": 1,
        "tickets": 1,
        "inbox_items": 2,  # her own message, and the one she shares with the other citizen
        "feedback": 1,
        "tracker_events": 1,
        "audit_entries": 2,
        "agents": 0,
        "bookings": 0,
        "vehicle_bookings": 0,
        "mobility_choices": 0,
        "survey_answers": 0,
    }
    assert found.tickets[0]["contact"] == "06.12.34.56.78"
    assert {e["actor"] for e in found.audit_entries} == {"annick", "admin"}


def test_a_phone_number_finds_what_quotes_it_in_any_spelling(
    engine: Engine, people: dict[str, int]
) -> None:
    found = Privacy(engine).find(Person.parse("phone", "+33 6 12 34 56 78"), "dpo")
    assert [c["key"] for c in found.conversations] == [f"web:{MARIE}"]
    assert len(found.tickets) == 1 and len(found.notes) == 1
    # A ticket left from another conversation with the number written another way.
    third, _, _ = conversation(engine, "troisieme-appareil", "bonjour")
    HandoffStore(engine).add_ticket(third, "web", "+33 6 12 34 56 78", "c'est encore moi")
    found = Privacy(engine).find(Person.parse("phone", PHONE), "dpo")
    assert [t["contact"] for t in found.tickets] == ["06.12.34.56.78", "+33 6 12 34 56 78"]
    assert {c["key"] for c in found.conversations} == {f"web:{MARIE}", "web:troisieme-appareil"}
    assert Privacy(engine).find(Person.parse("phone", "0299999999"), "dpo").total == 0


def test_an_agent_is_found_by_channel_id_or_email_with_their_bookings(
    engine: Engine, people: dict[str, int]
) -> None:
    by_telegram = Privacy(engine).find(Person.parse("telegram", "100000001"), "dpo")
    assert [a["id"] for a in by_telegram.agents] == ["a.martin"]
    assert [b["agent_id"] for b in by_telegram.bookings] == ["a.martin"]
    by_email = Privacy(engine).find(Person.parse("email", "A.Martin@departement.example"), "dpo")
    assert [b["id"] for b in by_email.bookings] == [b["id"] for b in by_telegram.bookings]


def test_the_export_is_json_with_every_category(engine: Engine, people: dict[str, int]) -> None:
    data = Privacy(engine).export(Person.parse("web", MARIE), "dpo", datetime.now(UTC))
    text = json.dumps(data, ensure_ascii=False)  # serialisable as is
    assert "Marie Le Bihan" in text and "rappelez-moi pour la CAF" in text
    assert data["identifier"] == {"kind": "web", "value": MARIE}
    assert data["tracker_events"][0]["data"]["text"] == "je cherche la caf"
    assert OTHER not in text


def test_erasure_removes_the_person_and_keeps_the_others(
    engine: Engine, people: dict[str, int]
) -> None:
    marie = Person.parse("web", MARIE)
    erased = Privacy(engine).erase(marie, "dpo")

    assert erased["messages"] == 3 and erased["tickets"] == 1 and erased["tracker_events"] == 1
    assert counts_of(engine, marie) == dict.fromkeys(erased, 0)
    assert Store(engine).conversation(f"web:{MARIE}") is None
    # The other citizen keeps everything; the item they share is recounted, not deleted.
    assert Store(engine).conversation(f"web:{OTHER}") is not None
    with engine.connect() as connection:
        assert connection.execute(select(Ticket.contact)).scalars().all() == ["02 98 00 00 00"]
        left = connection.execute(select(EVENTS.c.sender_id)).scalars().all()
        assert left == [f"web:{OTHER}"]
        items = connection.execute(select(InboxRow.id, InboxRow.count)).all()
        assert [tuple(i) for i in items] == [(people["shared_item"], 1)]
    # Audit entries about her keep who, when and what kind, without their text.
    entries = AuditLog(engine).latest()
    assert [e.action for e in entries][:2] == ["privacy.find", "privacy.erase"]  # newest first
    annotate = next(e for e in entries if e.action == "annotate.ignore")
    assert annotate.actor == "admin" and "text" not in annotate.detail
    # Every operation is logged with the kind of identifier, never the identifier.
    logged = [e for e in entries if e.action.startswith("privacy.")]
    assert {e.detail["kind"] for e in logged} == {"web"}
    assert all(MARIE not in json.dumps(e.detail) for e in entries)


def test_erasing_an_agent_removes_their_bookings_and_slots(
    engine: Engine, people: dict[str, int]
) -> None:
    erased = Privacy(engine).erase(Person.parse("telegram", "100000001"), "dpo")
    assert erased["bookings"] == 1
    with engine.connect() as connection:
        slots = connection.execute(select(func.count(BOOKING_SLOTS.c.id))).scalar_one()
    assert slots == 4  # Yann's hour, four quarters
    assert counts_of(engine, Person.parse("telegram", "100000002"))["bookings"] == 1


def test_an_agent_s_trip_choices_are_found_exported_and_erased(
    engine: Engine, people: dict[str, int]
) -> None:
    at = datetime(2030, 1, 9, 9, 0)
    with engine.begin() as connection:
        for agent in ("a.martin", "y.le-gall"):
            connection.execute(
                text(
                    "insert into mobility_choices (agent_id, home_site, destination, choice,"
                    " km, minutes, co2_kg, energy, booking_ref, meeting_start, created_at)"
                    " values (:agent, 'brest', 'Carhaix', 'visio', 129.0, 111, 13.3,"
                    " 'electric', 'ref', :at, :at)"
                ),
                {"agent": agent, "at": at},
            )
    martin = Person.parse("telegram", "100000001")
    found = Privacy(engine).find(martin, "dpo")
    assert [c["agent_id"] for c in found.mobility_choices] == ["a.martin"]
    assert Privacy(engine).export(martin, "dpo", at)["mobility_choices"][0]["destination"] == (
        "Carhaix"
    )
    assert Privacy(engine).erase(martin, "dpo")["mobility_choices"] == 1
    assert counts_of(engine, martin)["mobility_choices"] == 0
    assert counts_of(engine, Person.parse("telegram", "100000002"))["mobility_choices"] == 1


def test_a_short_channel_id_is_not_looked_for_in_free_text(
    engine: Engine, people: dict[str, int]
) -> None:
    AuditLog(engine).record("admin", "model.train", model=1, reason="essai 1")
    found = Privacy(engine).find(Person.parse("web", "1"), "dpo")
    assert found.total == 0


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("phone", "12", "téléphone"),
        ("email", "pas-une-adresse", "adresse électronique"),
        ("telegram", "@annick", "nombre"),
        ("matrix", "annick", "@nom:serveur"),
        ("fax", "0298", "type d'identifiant"),
        ("web", "   ", "Indiquez"),
    ],
)
def test_bad_identifiers_are_refused_in_french(kind: str, value: str, reason: str) -> None:
    with pytest.raises(PrivacyError, match=reason):
        Person.parse(kind, value)


def test_the_cli_finds_exports_and_erases(
    engine: Engine,
    people: dict[str, int],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli(["find", "--web", MARIE, "--by", "dpo"]) == 0
    assert f"conversation web:{MARIE}" in capsys.readouterr().out

    target = tmp_path / "export.json"
    assert cli(["export", "--phone", PHONE, "--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["counts"]["tickets"] == 1

    # "-": the identifier from standard input, out of the process list.
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{MARIE}\n"))
    assert cli(["find", "--web", "-"]) == 0
    assert f"conversation web:{MARIE}" in capsys.readouterr().out

    monkeypatch.setattr("builtins.input", lambda _prompt: "non")
    assert cli(["erase", "--web", MARIE]) == 1
    assert counts_of(engine, Person.parse("web", MARIE))["messages"] == 3

    assert cli(["erase", "--web", MARIE, "--yes", "--by", "dpo"]) == 0
    assert counts_of(engine, Person.parse("web", MARIE))["messages"] == 0
    assert cli(["find", "--matrix", "pas-un-id"]) == 2
    assert "@nom:serveur" in capsys.readouterr().err
