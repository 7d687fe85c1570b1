"""The dashboard's and the open data's routes: who may read what, small cells, the schema,
the CSV export, the survey."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from integrations.indicators.models import SurveyAnswer
from integrations.settings import Settings
from integrations.store import Conversation, Message
from tests.gateway.conftest import GatewayClient, console_login
from tests.gateway.web_client import new_conversation
from tests.indicators.conftest import PASSWORD

BREST_METROPOLE = "242900314"


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_pilotage_reads_the_dashboard_and_its_csv(
    gateway_client: GatewayClient,
    settings: Settings,
) -> None:
    client = await gateway_client(settings)
    await console_login(client, "elu", PASSWORD)
    query = f"?du=2026-03-01&au=2026-03-31&epci={BREST_METROPOLE}"
    page = await client.get(f"/console/indicators/{query}")
    assert page.status == 200
    html = await page.text()
    assert "Résolues par l&#39;assistant" in html and "Brest Métropole" in html
    export = await client.get(f"/console/indicators/export.csv{query}")
    assert export.status == 200 and export.content_type == "text/csv"
    lines = read_csv(await export.text())
    issues = {
        r["ligne"]: r["valeur"]
        for r in lines
        if r["section"] == "Issue des conversations" and r["colonne"] == "Conversations"
    }
    assert issues["Résolues par l'assistant"] == "6"
    assert issues["Transmises à un médiateur"] == "1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/console/"),
        ("GET", "/console/tickets"),
        ("GET", "/console/closed"),
        ("GET", "/console/admin/"),
        ("GET", "/console/admin/models"),
        ("GET", "/console/admin/privacy"),
        ("POST", "/console/inbox/flag"),
        ("POST", "/console/admin/train"),
        ("POST", "/console/admin/rollback"),
    ],
)
async def test_pilotage_can_do_nothing_else(
    gateway_client: GatewayClient,
    settings: Settings,
    method: str,
    path: str,
) -> None:
    client = await gateway_client(settings)
    csrf = await console_login(client, "elu", PASSWORD)
    response = await client.request(
        method, path, data={"csrf": csrf, "message_id": "1"}, allow_redirects=False
    )
    assert response.status == 403, (path, response.status)


async def test_roles_and_anonymous_access(
    gateway_client: GatewayClient,
    settings: Settings,
) -> None:
    client = await gateway_client(settings)
    response = await client.get("/console/indicators/", allow_redirects=False)
    assert response.status == 302 and "/console/login" in response.headers["Location"]
    assert (await client.get("/console/indicators/export.csv", allow_redirects=False)).status == 302
    assert (await client.get("/open-data/indicators.csv")).status == 200
    assert (await client.get("/open-data/indicators.schema.json")).status == 200
    await console_login(client, "annick", PASSWORD)
    assert (await client.get("/console/indicators/")).status == 403
    admin = await gateway_client(settings)
    await console_login(admin, "camille", PASSWORD)
    assert (await admin.get("/console/indicators/")).status == 200


async def test_a_login_of_pilotage_lands_on_the_dashboard(
    gateway_client: GatewayClient,
    settings: Settings,
) -> None:
    from tests.gateway.conftest import login_form_token

    client = await gateway_client(settings)
    response = await client.post(
        "/console/login",
        data={"username": "elu", "password": PASSWORD, "csrf": await login_form_token(client)},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/console/indicators/"


@pytest.mark.parametrize(
    "query",
    [
        "du=hier",
        "du=2026-03-10&au=2026-03-01",
        "canal=fax",
        "epci=123",
        "pas=heure",
        "du=2020-01-01&au=2026-01-01",
        "theme=%3Cscript%3E",
    ],
)
async def test_a_wrong_filter_is_a_400_saying_which(
    gateway_client: GatewayClient,
    settings: Settings,
    query: str,
) -> None:
    client = await gateway_client(settings)
    await console_login(client, "elu", PASSWORD)
    response = await client.get(f"/console/indicators/?{query}")
    assert response.status == 400
    assert "Filtre invalide" in await response.text()


async def test_open_data_suppresses_small_cells(
    gateway_client: GatewayClient,
    settings: Settings,
) -> None:
    client = await gateway_client(settings)
    response = await client.get("/open-data/indicators.csv")
    assert response.content_type == "text/csv"
    rows = read_csv(await response.text())
    by_key = {(r["periode"], r["territoire_code"], r["canal"]): r for r in rows}
    brest = by_key[("2026-03", BREST_METROPOLE, "web")]
    assert brest["territoire_niveau"] == "epci"
    assert brest["territoire_nom"] == "Brest Métropole"
    assert brest["conversations"] == "8" and brest["resolues_par_assistant"] == "6"
    # 1 mediator, 1 negative, 1 fallback: below 5, published empty.
    assert brest["transmises_mediateur"] == brest["satisfaction_negative"] == ""
    assert brest["messages_non_compris"] == ""
    everything = by_key[("2026-03", "tous", "web")]
    assert everything["conversations"] == "10" and everything["tickets"] == ""
    finistere = by_key[("2026-03", "29", "web")]
    assert finistere["conversations"] == "9" and finistere["territoire_nom"] == "Finistère"
    # Le Mans on telegram: a single conversation, every count empty.
    le_mans = by_key[("2026-03", "247200132", "telegram")]
    assert le_mans["conversations"] == "" and le_mans["abandons_attente"] == ""
    # No free text, no identifier: only these columns.
    assert list(rows[0]) == [
        "periode", "territoire_niveau", "territoire_code", "territoire_nom", "canal",
        "conversations", "messages", "resolues_par_assistant", "transmises_mediateur",
        "tickets", "abandons_attente", "satisfaction_negative", "messages_non_compris",
    ]  # fmt: skip
    for row in rows:
        for name in list(row)[5:]:
            assert row[name] == "" or int(row[name]) >= 5


async def test_the_threshold_is_a_setting(
    gateway_client: GatewayClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INDICATORS_SMALL_CELL", "1")
    client = await gateway_client(settings)
    rows = read_csv(await (await client.get("/open-data/indicators.csv")).text())
    le_mans = next(r for r in rows if r["territoire_code"] == "247200132")
    assert le_mans["conversations"] == "1" and le_mans["abandons_attente"] == "1"
    schema = await (await client.get("/open-data/indicators.schema.json")).json()
    assert next(f for f in schema["fields"] if f["name"] == "tickets")["constraints"] == {
        "minimum": 1
    }


async def test_open_data_validates_against_its_schema(
    gateway_client: GatewayClient,
    settings: Settings,
    tmp_path: Path,
) -> None:
    from frictionless import Resource, Schema, validate

    client = await gateway_client(settings)
    schema_body = await (await client.get("/open-data/indicators.schema.json")).text()
    csv_body = await (await client.get("/open-data/indicators.csv")).text()
    (tmp_path / "indicators.schema.json").write_text(schema_body, encoding="utf-8")
    (tmp_path / "indicators.csv").write_text(csv_body, encoding="utf-8")
    schema = Schema.from_descriptor("indicators.schema.json", basepath=str(tmp_path))
    assert all(field.description for field in schema.fields)
    report = validate(
        Resource(path="indicators.csv", basepath=str(tmp_path), schema=schema, format="csv")
    )
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(csv_body.strip().splitlines()) - 1 >= 7


async def test_the_survey_is_off_by_default(
    gateway_client: GatewayClient,
    base_settings: Settings,
) -> None:
    client = await gateway_client(base_settings)
    assert await (await client.get("/widget/survey")).json() == {"enabled": False}
    conversation = await new_conversation(client)
    response = await client.post(
        "/webhooks/rest/survey",
        json={"sender": conversation.sender, "message_id": 1, "helpful": True},
        headers=conversation.headers,
    )
    assert response.status == 404


async def test_survey_answers_are_stored_once_per_answer(
    gateway_client: GatewayClient,
    base_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SURVEY_ENABLED", "true")
    client = await gateway_client(base_settings)
    assert await (await client.get("/widget/survey")).json() == {"enabled": True}
    conversation = await new_conversation(client)
    other = await new_conversation(client)
    engine = client.app[__import__("integrations.keys").keys.STORE].engine

    def bot_answer() -> int:
        with engine.begin() as connection:
            found = connection.execute(
                select(Conversation.id).where(Conversation.key == conversation.rasa_key)
            ).scalar_one_or_none()
            if found is None:
                found = connection.execute(
                    insert(Conversation)
                    .values(
                        key=conversation.rasa_key,
                        channel="web",
                        chat_id=conversation.sender,
                        user_id=conversation.sender,
                        role="citizen",
                    )
                    .returning(Conversation.id)
                ).scalar_one()
            return connection.execute(
                insert(Message)
                .values(conversation_id=found, direction="out", author="bot", channel="web",
                        text="Voici les lieux proches.")
                .returning(Message.id)
            ).scalar_one()  # fmt: skip

    message_id = await asyncio.to_thread(bot_answer)

    async def answer(who, helpful):  # type: ignore[no-untyped-def]
        return await client.post(
            "/webhooks/rest/survey",
            json={"sender": who.sender, "message_id": message_id, "helpful": helpful},
            headers=who.headers,
        )

    assert (await answer(conversation, "oui")).status == 400
    assert (await answer(other, True)).status == 404  # not that conversation's answer
    assert (await answer(conversation, True)).status == 204
    assert (await answer(conversation, False)).status == 204  # changes its mind
    with engine.connect() as connection:
        stored = connection.execute(select(SurveyAnswer.helpful)).scalars().all()
    assert stored == [False]
    unauthorised = await client.post(
        "/webhooks/rest/survey",
        json={"sender": conversation.sender, "message_id": message_id, "helpful": True},
    )
    assert unauthorised.status in (401, 403)


def test_settings_are_documented() -> None:
    from common.config import PROJECT_ROOT

    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    for name in ("INDICATORS_SMALL_CELL", "INDICATORS_REFRESH_S", "SURVEY_ENABLED"):
        assert name in example


_ = dataclasses
