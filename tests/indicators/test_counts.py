"""Seeded conversations with known outcomes give exact indicator values."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from integrations.admin.inbox import InboxRow
from integrations.indicators.models import DailyRow
from integrations.indicators.refresh import refresh
from integrations.indicators.sections import (
    SECTIONS,
    Filters,
    Section,
    build_all,
    dicts_section,
    register,
    totals,
)
from tests.indicators.conftest import NOW, SCENARIO, Seeded, seed

MARCH = Filters(date(2026, 3, 1), date(2026, 3, 31))
BREST_METROPOLE = "242900314"


def tables(engine: Engine, filters: Filters) -> dict[str, list[list]]:
    with engine.connect() as connection:
        return {
            t.id: [list(r) for r in t.rows] for _, ts in build_all(connection, filters) for t in ts
        }


def march_totals(engine: Engine, filters: Filters = MARCH) -> dict[str, int]:
    with engine.connect() as connection:
        return totals(connection, filters)


async def test_each_outcome_is_counted_as_defined(seeded: Engine) -> None:
    await asyncio.to_thread(refresh, seeded, NOW)
    assert march_totals(seeded) == {
        "conversations": 11,
        "messages": 26,  # two per intent: 13 intents (a2 and a6 have two)
        "user_messages": 13,
        "resolved": 6,  # a1, a8, a9…a12 (a5 and a6 had negative feedback)
        "mediator": 1,  # a2
        "tickets": 1,  # a4
        "abandoned": 1,  # a3
        "fallbacks": 1,  # a6
        "negative": 2,  # a5 (thumbs-down), a6 (« non »)
        "survey_yes": 1,  # a8
        "survey_no": 1,  # a6
    }
    found = tables(seeded, MARCH)
    assert found["issues"][:4] == [
        ["Résolues par l'assistant", 6, 54.5],
        ["Transmises à un médiateur", 1, 9.1],
        ["Laissées en demande de rappel", 1, 9.1],
        ["Abandonnées en attente", 1, 9.1],
    ]
    assert found["delais"] == [
        ["Attente d'un médiateur", 1, 2.0, 2.0],
        ["Clôture d'un ticket", 1, 60.0, 60.0],
    ]
    assert found["qualite"] == [
        ["Messages non compris (repli)", 7.7, 13],
        ["Conversations avec un avis négatif", 18.2, 11],
        ["Réponses jugées utiles (questionnaire)", 50.0, 2],
    ]
    assert found["lieux"] == [["lieu-1", 2], ["lieu-2", 1]]
    assert found["volumes-canal"] == [["Telegram", 1, 2], ["Site web", 10, 24]]
    assert ["Brest Métropole", "Finistère", 8, 6, 1] in found["territoires"]
    assert ["CU Le Mans Métropole", "Sarthe", 1, 0, 0] in found["territoires"]
    assert ["Non précisé", "Non précisé", 1, 0, 0] in found["territoires"]
    assert found["themes"][:2] == [
        ["Le Pass numérique", 5],  # a2 (its first topic), a9…a12
        ["Trouver un lieu d'aide au numérique", 2],
    ]
    assert found["sans-reponse"] == [["message 0 de user", 1]]


async def test_filters_narrow_every_count(seeded: Engine) -> None:
    await asyncio.to_thread(refresh, seeded, NOW)
    brest = Filters(MARCH.start, MARCH.end, epci=BREST_METROPOLE)
    assert march_totals(seeded, brest)["conversations"] == 8
    telegram = Filters(MARCH.start, MARCH.end, canal="telegram")
    assert march_totals(seeded, telegram)["abandoned"] == 1
    assert march_totals(seeded, telegram)["conversations"] == 1
    topic = Filters(MARCH.start, MARCH.end, theme="find_digital_place")
    assert march_totals(seeded, topic)["conversations"] == 2
    weekly = tables(seeded, Filters(MARCH.start, MARCH.end, step="mois"))
    assert weekly["volumes-periode"] == [["2026-03", 11, 26]]


async def test_a_conversation_under_way_is_neither_resolved_nor_abandoned(seeded: Engine) -> None:
    await asyncio.to_thread(refresh, seeded, NOW)
    april = Filters(date(2026, 4, 1), date(2026, 4, 30))
    assert march_totals(seeded, april)["conversations"] == 1
    assert march_totals(seeded, april)["resolved"] == 0
    # An hour later it has settled: the next (incremental) refresh counts it resolved.
    days = await asyncio.to_thread(refresh, seeded, NOW + timedelta(minutes=61))
    assert days == [date(2026, 4, 2)]
    assert march_totals(seeded, april)["resolved"] == 1


async def test_refresh_is_incremental(seeded: Engine, database_url: str) -> None:
    first = await asyncio.to_thread(refresh, seeded, NOW)
    assert first[0] == date(2026, 3, 10) and first[-1] == date(2026, 4, 2)
    # Nothing happened: only the day still settling is looked at again.
    assert await asyncio.to_thread(refresh, seeded, NOW + timedelta(minutes=5)) == [
        date(2026, 4, 2)
    ]
    # A new conversation on 20 March: that day only, the other days untouched.
    late = NOW + timedelta(hours=3)
    new = Seeded("matrix:b1", "Quimper", ("ask_fibre",), created=date_at(2026, 3, 20))
    await asyncio.to_thread(seed, seeded, database_url, [new])
    with seeded.begin() as connection:  # its last activity is now
        connection.exec_driver_sql(
            "UPDATE conversations SET updated_at = ? WHERE key = 'matrix:b1'", (late.isoformat(),)
        )
    days = await asyncio.to_thread(refresh, seeded, late)
    assert date(2026, 3, 20) in days and date(2026, 3, 10) not in days
    assert march_totals(seeded)["conversations"] == 12
    with seeded.connect() as connection:
        assert connection.execute(select(func.count()).select_from(DailyRow)).scalar() >= 5


def date_at(year: int, month: int, day: int):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(year, month, day, 14, 0, tzinfo=UTC)


def test_scenario_is_what_the_comments_say() -> None:
    assert len([c for c in SCENARIO if c.created.month == 3]) == 11


async def test_unanswered_topics_never_show_personal_data(seeded: Engine) -> None:
    # An item kept from before a redaction rule existed: the dashboard redacts it again.
    with seeded.begin() as connection:
        connection.execute(update(InboxRow).values(text="rappelez-moi au 06 12 34 56 78 svp"))
    shown = tables(seeded, MARCH)["sans-reponse"]
    assert len(shown) == 1 and "06 12" not in shown[0][0]
    assert "<téléphone>" in shown[0][0]


def test_a_section_is_one_registry_entry(engine: Engine) -> None:
    """As the mobility section (common/mobility_indicators.py) is added."""
    assert "mobilite" in [s.id for s in SECTIONS]

    def mobility(connection, start, end):  # type: ignore[no-untyped-def]
        return [{"month": f"{start:%Y-%m}", "site_name": "Quimper", "trips_avoided": 3}]

    section = Section(
        "mobilite-exemple",
        "Mobilité des agents",
        dicts_section(
            "Mobilité par mois et par site",
            mobility,
            {"month": "Mois", "site_name": "Site", "trips_avoided": "Trajets évités"},
        ),
    )
    register(section)
    try:
        with pytest.raises(ValueError):
            register(section)
        with engine.connect() as connection:
            built = {s.id: t for s, t in build_all(connection, MARCH)}
        assert [list(r) for r in built["mobilite-exemple"][0].rows] == [["2026-03", "Quimper", 3]]
        assert built["mobilite-exemple"][0].columns == ["Mois", "Site", "Trajets évités"]
    finally:
        SECTIONS.remove(section)


async def test_each_procedure_asked_is_a_topic_of_its_own(
    engine: Engine, database_url: str
) -> None:
    asked = [
        Seeded("web:p1", "Brest", ("ask_procedure",), procedure="apa"),
        Seeded("web:p2", "Brest", ("greet", "ask_procedure"), procedure="apa"),
        Seeded("web:p3", "Brest", ("ask_procedure",), procedure="transport_scolaire"),
        Seeded("web:p4", "Brest", ("ask_procedure",)),  # no procedure named
        Seeded("web:p5", "Brest", ("find_digital_place",), procedure="rsa"),  # not the topic
    ]
    await asyncio.to_thread(seed, engine, database_url, asked)
    await asyncio.to_thread(refresh, engine, NOW)
    assert tables(engine, MARCH)["themes"] == [
        ["Une démarche administrative : APA", 2],
        ["Une démarche administrative", 1],
        ["Une démarche administrative : transport scolaire", 1],
        ["Trouver un lieu d'aide au numérique", 1],
    ]
    # Filtering on the topic keeps its procedures.
    procedures = Filters(MARCH.start, MARCH.end, theme="ask_procedure")
    assert march_totals(engine, procedures)["conversations"] == 4
