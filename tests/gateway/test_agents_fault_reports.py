"""Fault reports on the gateway side (integrations/fault_reports.py), without Rasa: the
bot message with the custom payload becomes a ticket and its confirmation; a malformed
payload is never shown; a database that refuses gives a polite French message."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from integrations import keys
from integrations.fault_reports import NOT_FILED, file_reports
from integrations.messages import Incoming, Reply, Role
from integrations.settings import Settings
from tests.gateway.conftest import GatewayClient

REPORT = {
    "room": "quimper-odet",
    "room_name": "Salle Odet",
    "site": "Hôtel du Département, Quimper",
    "contact": "Accueil logistique : 02 98 00 50 01",
    "booking": "AbCd1234 — mardi 1er décembre 2026 de 9 h 45 à 10 h 45",
    "reporter": "Anne Martin (a.martin@departement.example)",
    "message": "la salle Odet ne marche pas",
}


async def conversation_of(client):  # type: ignore[no-untyped-def]
    message = Incoming(
        "telegram", "100000001", "100000001", "la salle Odet ne marche pas", Role.AGENT
    )
    conversation, _ = await asyncio.to_thread(client.app[keys.STORE].record_incoming, message)
    return conversation


async def test_a_report_becomes_a_ticket_and_its_confirmation(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    gateway = client.app[keys.GATEWAY]
    conversation = await conversation_of(client)
    howto = Reply(text="Mode d'emploi de « Salle Odet »")
    shown = await file_reports(
        gateway, conversation, [Reply(custom={"fault_report": REPORT}), howto]
    )
    [ticket] = client.app[keys.HANDOFF].store.tickets()
    assert shown[0].custom is None
    assert shown[0].text == (
        f"Panne signalée (signalement n° {ticket.id}) : Salle Odet, Hôtel du Département, "
        "Quimper. Le contact du site est prévenu : Accueil logistique : 02 98 00 50 01."
    )
    assert shown[1] is howto
    assert ticket.contact == "Accueil logistique : 02 98 00 50 01"
    assert ticket.conversation_id == conversation.id and ticket.channel == "telegram"
    assert ticket.text.splitlines() == [
        "Panne de salle visio : Salle Odet (quimper-odet), Hôtel du Département, Quimper",
        "Réservation : AbCd1234 — mardi 1er décembre 2026 de 9 h 45 à 10 h 45",
        "Signalée par : Anne Martin (a.martin@departement.example)",
        "Message : « la salle Odet ne marche pas »",
    ]
    # Other answers pass untouched.
    other = [Reply(text="bonjour"), Reply(custom={"handoff": {"reason": "x"}})]
    assert await file_reports(gateway, conversation, other) == other


async def test_a_report_answered_again_is_filed_once(
    gateway_client: GatewayClient, base_settings: Settings
):
    """The gateway stopped after filing, the message was sent again, Rasa's record gave
    the same answer: the same ticket is confirmed, none is added."""
    client = await gateway_client(base_settings)
    gateway = client.app[keys.GATEWAY]
    conversation = await conversation_of(client)
    answer = [Reply(custom={"fault_report": REPORT})]
    first = await file_reports(gateway, conversation, answer, message_id=41)
    again = await file_reports(gateway, conversation, answer, message_id=41)
    [ticket] = client.app[keys.HANDOFF].store.tickets()
    assert first[0].text == again[0].text
    assert f"signalement n° {ticket.id}" in again[0].text
    # The answer to another message is another report.
    other = await file_reports(gateway, conversation, answer, message_id=42)
    tickets = client.app[keys.HANDOFF].store.tickets()
    assert len(tickets) == 2 and f"signalement n° {tickets[1].id}" in other[0].text


async def test_a_malformed_report_is_filed_never_shown(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    conversation = await conversation_of(client)
    shown = await file_reports(
        client.app[keys.GATEWAY], conversation, [Reply(custom={"fault_report": ["x" * 9000]})]
    )
    assert "fault_report" not in json.dumps([r.as_rest("") for r in shown])
    [ticket] = client.app[keys.HANDOFF].store.tickets()
    assert ticket.contact.startswith("Logistique du site")


async def test_a_refusing_database_gives_a_polite_message(
    gateway_client: GatewayClient, base_settings: Settings
):
    client = await gateway_client(base_settings)
    conversation = await conversation_of(client)
    with client.app[keys.STORE].engine.begin() as connection:
        connection.execute(text("DROP TABLE tickets"))
    shown = await file_reports(
        client.app[keys.GATEWAY], conversation, [Reply(custom={"fault_report": REPORT})]
    )
    assert [r.text for r in shown] == [NOT_FILED] and shown[0].custom is None
