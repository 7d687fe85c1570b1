"""Seeded conversations with known outcomes, on the real database and Rasa's real
tracker store (its events written by Rasa's own code, tests/rasa/seed.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from common.db import make_engine
from common.migrate import upgrade
from integrations.admin.inbox import Inbox, InboxHit
from integrations.indicators.models import SurveyAnswer
from integrations.indicators.refresh import refresh
from integrations.indicators.survey import record_answer
from integrations.settings import Settings
from integrations.store import Conversation, Handoff, Message, Ticket
from tests import rasa_env
from tests.gateway.conftest import (  # noqa: F401  (fixtures shared with tests/gateway)
    base_settings,
    gateway_client,
    staff_user,
)

# Every seeded conversation is in March 2026 (Paris); the refresh runs on 2 April.
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
PASSWORD = "mot-de-passe-solide"


@dataclass
class Seeded:
    """One conversation to seed: what happened in it."""

    key: str
    commune: str | None = None
    intents: tuple[str, ...] = ("greet",)
    created: datetime = MARCH
    handoff: str | None = None  # "taken" (after 120 s) | "cancelled" | "message"
    ticket_closed_after_s: float | None = None
    thumbs_down: bool = False
    survey: bool | None = None
    places: list[str] = field(default_factory=list)
    procedure: str | None = None  # the procedure slot (ask_procedure)

    @property
    def channel(self) -> str:
        return self.key.split(":", 1)[0]


def seed(engine: Engine, database_url: str, conversations: list[Seeded]) -> None:
    """Store each conversation: one user and one bot message per intent, its tracker
    events (intents, the ``commune`` and ``listed_places`` slots), handoff, ticket,
    thumbs-down (through the inbox) and survey answer (through the survey)."""
    rasa_env.call("tracker_table", database_url)
    for c in conversations:
        at = c.created
        with engine.begin() as connection:
            conversation_id = connection.execute(
                insert(Conversation)
                .values(
                    key=c.key,
                    channel=c.channel,
                    chat_id=c.key.split(":", 1)[1],
                    user_id=c.key.split(":", 1)[1],
                    role="citizen",
                    locale="fr",
                    owner="bot",
                    created_at=at,
                    updated_at=at + timedelta(minutes=5),
                )
                .returning(Conversation.id)
            ).scalar_one()
            bot_ids = []
            for n, _ in enumerate(c.intents):
                for author, direction in (("user", "in"), ("bot", "out")):
                    bot_ids.append(
                        connection.execute(
                            insert(Message)
                            .values(
                                conversation_id=conversation_id,
                                direction=direction,
                                author=author,
                                channel=c.channel,
                                text=f"message {n} de {author}",
                                created_at=at + timedelta(seconds=10 * n),
                            )
                            .returning(Message.id)
                        ).scalar_one()
                    )
            if c.handoff:
                connection.execute(
                    insert(Handoff).values(
                        conversation_id=conversation_id,
                        kind="message" if c.handoff == "message" else "live",
                        reason="request_human",
                        status="ended",
                        outcome={"taken": "handed_back", "cancelled": "cancelled"}.get(
                            c.handoff, "ticket"
                        ),
                        requested_at=at + timedelta(minutes=1),
                        taken_at=at + timedelta(minutes=3) if c.handoff == "taken" else None,
                        ended_at=at + timedelta(minutes=4),
                    )
                )
            if c.ticket_closed_after_s is not None:
                connection.execute(
                    insert(Ticket).values(
                        conversation_id=conversation_id,
                        channel=c.channel,
                        contact="06 00 00 00 00",
                        text="rappelez-moi",
                        status="done",
                        created_at=at + timedelta(minutes=4),
                        done_at=at + timedelta(minutes=4, seconds=c.ticket_closed_after_s),
                        done_by="annick",
                    )
                )
        bot_message = bot_ids[1]
        events: list[dict] = []
        for n, intent in enumerate(c.intents):
            events.append(
                {
                    "event": "user",
                    "text": f"message {n} de user",
                    "timestamp": (at + timedelta(seconds=10 * n)).timestamp(),
                    "parse_data": {
                        "intent": {"name": intent, "confidence": 0.9},
                        "entities": [],
                    },
                }
            )
        stamp = (at + timedelta(seconds=30)).timestamp()
        if c.commune:
            events.append(
                {"event": "slot", "name": "commune", "value": c.commune, "timestamp": stamp}
            )
        if c.places:
            events.append(
                {"event": "slot", "name": "listed_places", "value": c.places, "timestamp": stamp}
            )
        if c.procedure:
            events.append(
                {"event": "slot", "name": "procedure", "value": c.procedure, "timestamp": stamp}
            )
        rasa_env.call("tracker_events", database_url, c.key, events)
        if c.thumbs_down:
            Inbox(engine).user_feedback(c.key, bot_message)
        if c.survey is not None:
            assert record_answer(engine, c.key, bot_message, c.survey)
        # Feedback given during the conversation (the real code stamped it with today).
        with engine.begin() as connection:
            connection.execute(
                update(SurveyAnswer)
                .where(SurveyAnswer.message_id == bot_message)
                .values(created_at=at + timedelta(minutes=2))
            )
            connection.execute(
                update(InboxHit)
                .where(InboxHit.ref.in_([f"message:{i}" for i in bot_ids]))
                .values(at=at + timedelta(minutes=2))
            )


# The scenario (March 2026), with what each conversation is expected to count as.
SCENARIO = [
    # Brest, web: resolved, two places suggested.
    Seeded("web:a1", "Brest", ("find_digital_place",), places=["lieu-1", "lieu-2"]),
    # Brest, web: a mediator took it after 120 s.
    Seeded("web:a2", "Brest", ("ask_pass_numerique", "request_human"), handoff="taken"),
    # Le Mans, telegram: asked for a mediator, cancelled while waiting: abandoned.
    Seeded("telegram:a3", "Le Mans", ("request_human",), handoff="cancelled"),
    # Quimper, web: nobody available, left a ticket closed after one hour.
    Seeded("web:a4", "Quimper", ("ask_contact",), handoff="message", ticket_closed_after_s=3600),
    # No commune, web: a thumbs-down on the answer (negative, not resolved).
    Seeded("web:a5", None, ("ask_fibre",), thumbs_down=True),
    # Brest, web: one message not understood, « non » to the survey (negative).
    Seeded("web:a6", "Brest", ("greet", "nlu_fallback"), survey=False),
    # Brest, web: five more resolved conversations, one more suggestion of lieu-1.
    Seeded("web:a8", "Brest", ("find_digital_place",), places=["lieu-1"], survey=True),
    *(Seeded(f"web:a{n}", "Brest", ("ask_pass_numerique",)) for n in range(9, 13)),
    # Started ten minutes before the refresh: still under way, counted in April.
    Seeded("web:a7", "Brest", ("greet",), created=NOW - timedelta(minutes=10)),
]


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'indicators.db'}"
    upgrade(url)
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


@pytest.fixture
async def seeded(engine: Engine, database_url: str) -> Engine:
    await asyncio.to_thread(seed, engine, database_url, SCENARIO)
    return engine


def conversation_id(engine: Engine, key: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(Conversation.id).where(Conversation.key == key)
        ).scalar_one()


@pytest.fixture
async def settings(base_settings: Settings) -> Settings:  # noqa: F811
    """The gateway's database with the scenario, refreshed; three staff accounts."""
    engine = make_engine(base_settings.database_url)
    try:
        await asyncio.to_thread(seed, engine, base_settings.database_url, SCENARIO)
        await asyncio.to_thread(refresh, engine, NOW)
    finally:
        engine.dispose()
    for name, role in (("elu", "pilotage"), ("camille", "admin"), ("annick", "mediator")):
        await asyncio.to_thread(staff_user, base_settings, name, PASSWORD, role)
    return base_settings
