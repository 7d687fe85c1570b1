"""Emergency numbers first, whatever the assistant understood (integrations/emergency.py,
data/emergencies.yml): the notices, then through the gateway with the real model."""

from __future__ import annotations

import pytest

from integrations.emergency import notices
from tests.gateway.conftest import GatewayClient


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("mon mari me frappe", ["3919", "17"]),
        ("Ma voisine est BATTUE par son mari, qui appeler ?", ["3919"]),
        ("mon copain me frape qd il a bu", ["3919"]),
        ("jdors dans la rue depuis 2 semaines", ["115"]),
        ("je suis SDF, où dormir ce soir ?", ["115"]),
        ("mes enfants et moi on dort dans la voiture", ["115"]),
        ("je pense que l'enfant des voisins est maltraité", ["119"]),
        ("j'ai plus envie de vivre", ["3114"]),
        ("mon mari me frappe et je suis à la rue avec les petits", ["3919", "115"]),
    ],
)
def test_a_situation_of_danger_gets_its_numbers_however_it_is_written(text, numbers):
    said = " ".join(r.text for r in notices(text))
    for number in numbers:
        assert number in said, (text, said)
    assert all(str(r.author) == "system" for r in notices(text))


@pytest.mark.parametrize(
    "text",
    [
        "la batterie de mon téléphone est morte",
        "on va me couper l'électricité",
        "je voudrais voir une assistante sociale",
        "comment on frappe un texte à l'ordinateur",
        "la rue de la mairie est fermée",
        "bonjour",
    ],
)
def test_ordinary_messages_get_no_emergency_notice(text):
    assert notices(text) == []


@pytest.mark.stack
async def test_the_numbers_come_first_then_the_bots_answer(
    gateway_client: GatewayClient, stack_settings
):
    client = await gateway_client(stack_settings)
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": "danger", "message": "mon mari me frappe"}
    )
    assert response.status == 200
    replies = await response.json()
    assert "3919" in replies[0]["text"] and replies[0]["author"] == "system"
    assert len(replies) > 1  # the bot's answer follows (the social desk, or its question)
    assert all("3919" not in r.get("text", "") for r in replies[1:])
