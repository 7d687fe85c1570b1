"""Each kind of personal data ends after its own period (integrations/retention.py),
on SQLite and on PostgreSQL, with rows aged by setting their timestamps."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from integrations import keys
from integrations.admin.audit import AuditLog, AuditRow
from integrations.admin.inbox import Inbox, InboxHit, InboxRow
from integrations.handoff.store import HandoffStore, Mediator
from integrations.messages import Incoming, Role
from integrations.retention import purge
from integrations.settings import RetentionPeriods, RetentionSettings, Settings
from integrations.store import Store, Ticket
from tests.gateway.conftest import GatewayClient, wait_until
from tests.rasa_env import EVENTS

NOW = datetime.now(UTC)
PERIODS = RetentionPeriods(messages=30, tracker=60, tickets=90, inbox=365, audit=180)


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def say(engine: Engine, chat: str, age: int) -> int:
    ref, _ = Store(engine).record_incoming(
        Incoming("web", chat, chat, f"bonjour de {chat}", Role.CITIZEN, received_at=days_ago(age))
    )
    return ref.id


def tracker_event(engine: Engine, sender: str, age: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(EVENTS).values(
                sender_id=sender, type_name="user", timestamp=days_ago(age).timestamp(), data="{}"
            )
        )


def ticket(engine: Engine, conversation_id: int, contact: str, created: int, done: int | None):
    handoffs = HandoffStore(engine)
    ticket_id = handoffs.add_ticket(conversation_id, "web", contact, "rappelez-moi")
    if done is not None:
        handoffs.close_ticket(ticket_id, Mediator(1, "Annick"))
    with engine.begin() as connection:
        connection.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(
                created_at=days_ago(created),
                done_at=days_ago(done) if done is not None else None,
            )
        )


def inbox_item(engine: Engine, conversation_key: str, message_id: int, age: int) -> None:
    inbox = Inbox(engine)
    item = inbox.flag_user_message(message_id)
    with engine.begin() as connection:
        connection.execute(
            update(InboxRow).where(InboxRow.id == item.id).values(last_seen=days_ago(age))
        )


def audit_entry(engine: Engine, text: str, age: int) -> None:
    AuditLog(engine).record("admin", "annotate.intent", item=1, text=text, intent="greet")
    with engine.begin() as connection:
        last = connection.execute(select(AuditRow.id).order_by(AuditRow.id.desc())).scalar()
        connection.execute(update(AuditRow).where(AuditRow.id == last).values(at=days_ago(age)))


def test_every_data_type_is_purged_after_its_own_period(engine: Engine) -> None:
    old_chat = say(engine, "ancien", 31)
    recent_chat = say(engine, "recent", 29)
    tracker_event(engine, "web:ancien", 61)
    tracker_event(engine, "web:ancien", 45)  # older than the messages' period, not the tracker's
    ticket(engine, recent_chat, "06 11 11 11 11", created=120, done=100)  # closed long ago
    ticket(engine, recent_chat, "06 22 22 22 22", created=95, done=None)  # open, too old
    ticket(engine, recent_chat, "06 33 33 33 33", created=120, done=10)  # closed recently
    ticket(engine, recent_chat, "06 44 44 44 44", created=10, done=None)  # open, recent
    store = Store(engine)
    old_message = store.messages("web:recent")[0].id
    inbox_item(engine, "web:recent", old_message, age=400)
    audit_entry(engine, "bonjour de ancien", age=200)
    audit_entry(engine, "bonjour de recent", age=20)

    purged = purge(engine, PERIODS, now=NOW)

    assert purged.messages == 1 and purged.tracker_events == 1
    assert purged.tickets == 2 and purged.inbox_items == 1 and purged.audit_texts == 1
    assert store.conversation("web:ancien") is None and old_chat
    assert [m.text for m in store.messages("web:recent")] == ["bonjour de recent"]
    with engine.connect() as connection:
        assert connection.execute(select(EVENTS.c.timestamp)).scalars().all() == [
            pytest.approx(days_ago(45).timestamp())
        ]
        contacts = connection.execute(select(Ticket.contact).order_by(Ticket.id)).scalars().all()
        assert contacts == ["06 33 33 33 33", "06 44 44 44 44"]
        assert connection.execute(select(InboxRow.id)).all() == []
        assert connection.execute(select(InboxHit.id)).all() == []
    entries = AuditLog(engine).latest()
    recent, old = entries
    assert recent.detail["text"] == "bonjour de recent"
    # Who, when and what kind stay; the quoted message goes.
    assert (old.actor, old.action) == ("admin", "annotate.intent")
    assert "text" not in old.detail and old.detail["intent"] == "greet"
    assert old.detail["text_removed"] is True

    # Nothing left to do: a second run changes nothing (the audit cursor moved on).
    assert purge(engine, PERIODS, now=NOW).total == 0


def test_the_periods_come_from_settings_with_the_gateway_period_as_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_RETENTION_DAYS", "45")
    for name in ("MESSAGES", "TRACKER", "TICKETS", "INBOX", "AUDIT"):
        monkeypatch.delenv(f"RETENTION_{name}_DAYS", raising=False)
    assert Settings.from_env().retention_periods == RetentionPeriods(45, 45, 90, 365, 365)

    monkeypatch.setenv("RETENTION_TRACKER_DAYS", "7")
    monkeypatch.setenv("RETENTION_TICKETS_DAYS", "30")
    monkeypatch.setenv("RETENTION_AUDIT_DAYS", "730")
    assert Settings.from_env().retention_periods == RetentionPeriods(45, 7, 30, 365, 730)

    from common.config import ConfigError

    monkeypatch.setenv("RETENTION_INBOX_DAYS", "0")
    with pytest.raises(ConfigError, match="RETENTION_INBOX_DAYS"):
        Settings.from_env()


async def test_the_running_gateway_purges_old_tickets_by_itself(
    gateway_client: GatewayClient, base_settings: Settings, database_url: str, engine: Engine
) -> None:
    chat = say(engine, "rappel", 1)
    ticket(engine, chat, "06 55 55 55 55", created=40, done=None)
    ticket(engine, chat, "06 66 66 66 66", created=5, done=None)
    settings = dataclasses.replace(
        base_settings, database_url=database_url, retention=RetentionSettings(tickets_days=30)
    )

    client = await gateway_client(settings)
    handoffs = HandoffStore(client.app[keys.STORE].engine)
    await wait_until(lambda: len(handoffs.tickets()) == 1, within=10, what="old ticket purged")
    assert [t.contact for t in handoffs.tickets()] == ["06 66 66 66 66"]
