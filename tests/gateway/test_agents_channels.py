"""The agents' assistant end to end (issue 18), with the real model and action server:
an agent on Telegram (fake Bot API), on Matrix (real Synapse) and on the web signed in
gets internal content; the same questions as a citizen get the staff-only answer; a
room's fault report becomes a ticket of the mediators' console, payload never shown."""

from __future__ import annotations

import html
import json

import pytest

from integrations import keys
from integrations.channels.telegram import SECRET_HEADER
from integrations.settings import Settings
from tests import rasa_env
from tests.gateway.conftest import (
    TELEGRAM_SECRET,
    GatewayClient,
    console_login,
    staff_user,
    texts,
    wait_until,
    with_matrix,
    with_telegram,
)
from tests.gateway.fake_telegram import FakeBotApi, text_update
from tests.gateway.matrix_user import MatrixUser
from tests.gateway.web_client import new_conversation, say
from tools.stack import Stack

pytestmark = [pytest.mark.stack]

TELEGRAM_AGENT = 100000001  # Anne Martin in data/agents.yml
TELEGRAM_CITIZEN = 4343
STAFF_ONLY = "réservée aux agents du Département"
VPN = "Accès à distance (VPN)"
# What only internal answers say.
INTERNAL_WORDS = ("VPN Département", "Fiche :", "Mode d'emploi", "Où l'envoyer", "Panne signalée")


def telegram_poster(client, fake_telegram: FakeBotApi):  # type: ignore[no-untyped-def]
    updates = iter(range(1, 1000))
    headers = {SECRET_HEADER: TELEGRAM_SECRET}

    async def say_on_telegram(user: int, text: str, wanted: str) -> str:
        seen = len(fake_telegram.sent())
        response = await client.post(
            "/webhooks/telegram", json=text_update(next(updates), user, text), headers=headers
        )
        assert response.status == 200

        def found() -> list[dict]:
            return [m for m in fake_telegram.sent()[seen:] if wanted in m.get("text", "")]

        await wait_until(lambda: bool(found()), within=60, what=wanted)
        return html.unescape("\n".join(m.get("text", "") for m in fake_telegram.sent()[seen:]))

    return say_on_telegram


async def test_agent_and_citizen_on_telegram_and_a_fault_report_in_the_console(
    gateway_client: GatewayClient, stack_settings: Settings, fake_telegram: FakeBotApi
):
    staff_user(stack_settings, "martine", "mot-de-passe-martine", "mediator", "Martine")
    client = await gateway_client(with_telegram(stack_settings, fake_telegram.api_url))  # type: ignore[attr-defined]
    await wait_until(lambda: client.app[keys.TELEGRAM].state == "ok", what="Telegram ready")
    tell = telegram_poster(client, fake_telegram)

    answer = await tell(TELEGRAM_AGENT, "comment me connecter au vpn depuis chez moi", VPN)
    assert "Fiche : Direction du numérique, mise à jour le" in answer
    answer = await tell(TELEGRAM_AGENT, "la salle Odet ne marche pas", "Panne signalée")
    assert "Salle Odet, Hôtel du Département, Quimper" in answer
    assert "Mode d'emploi de « Salle Odet »" in answer
    sent = json.dumps(fake_telegram.sent(), ensure_ascii=False)
    assert "fault_report" not in sent and "custom" not in sent

    for question in ("comment me connecter au vpn depuis chez moi", "la salle Odet ne marche pas"):
        answer = await tell(TELEGRAM_CITIZEN, question, STAFF_ONLY)
        assert not any(word in answer for word in INTERNAL_WORDS), answer

    # The ticket reaches the mediators' console, with the room and who reported it.
    await console_login(client, "martine", "mot-de-passe-martine")
    page = html.unescape(await (await client.get("/console/tickets")).text())
    assert "Panne de salle visio : Salle Odet (quimper-odet)" in page
    assert "Signalée par : Anne Martin (a.martin@departement.example)" in page
    assert "Accueil logistique de l'Hôtel du Département" in page  # the site's contact
    stored = client.app[keys.STORE].messages(f"telegram:{TELEGRAM_AGENT}")
    assert not any("fault_report" in json.dumps(m.payload or {}) for m in stored)


async def test_a_signed_in_agent_on_the_web_and_an_anonymous_visitor(
    gateway_client: GatewayClient, stack_settings: Settings, rasa_stack: Stack
):
    staff_user(stack_settings, "a.martin", "mot-de-passe-anne", "agent", "Anne")
    client = await gateway_client(stack_settings)
    visitor = await new_conversation(client)  # before signing in: a citizen's conversation
    await console_login(client, "a.martin", "mot-de-passe-anne")
    mine = await new_conversation(client, agent=True)

    answer = texts(await say(client, mine, "j'ai oublié mon mot de passe windows"))
    assert "Mot de passe de session oublié ou expiré" in answer and "Fiche :" in answer
    answer = texts(await say(client, mine, "une usagère de Morlaix me demande l'APA"))
    assert "Où l'envoyer :" in answer and "Mandat Aidants Connect" in answer
    assert "Lieux d'aide aux démarches près de Morlaix" in answer
    replies = await say(client, mine, "l'écran de la salle Iroise est en panne")
    assert "Panne signalée" in texts(replies) and not any("custom" in r for r in replies)
    [ticket] = client.app[keys.HANDOFF].store.tickets()
    assert "Salle Iroise (brest-iroise), Maison du Département, Brest" in ticket.text

    # The anonymous visitor's conversation stays a citizen's, cookie or not.
    client.session.cookie_jar.clear()
    for question in (
        "j'ai oublié mon mot de passe windows",
        "l'écran de la salle Iroise est en panne",
    ):
        answer = texts(await say(client, visitor, question))
        assert STAFF_ONLY in answer and not any(w in answer for w in INTERNAL_WORDS), answer
    answer = texts(await say(client, visitor, "une usagère de Morlaix me demande l'APA"))
    assert "Où l'envoyer" not in answer and "APA" in answer  # the citizens' version
    assert len(client.app[keys.HANDOFF].store.tickets()) == 1


@pytest.fixture
async def gwen(synapse, rasa_stack: Stack):  # type: ignore[no-untyped-def]
    """A Matrix account of this module, linked to an agent of the directory."""
    user_id = synapse.register("gwen", "pw-gwen")
    rasa_env.call("link_agent", rasa_stack.database_url, "matrix", user_id, "m.kerouac")
    user = MatrixUser(synapse.url, user_id, "pw-gwen")
    await user.login()
    yield user
    await user.close()


@pytest.fixture
async def intrus(synapse):  # type: ignore[no-untyped-def]
    """A Matrix account nobody put in the agent directory: a citizen."""
    user = MatrixUser(synapse.url, synapse.users["intrus"], "pw-intrus")
    await user.login()
    yield user
    await user.close()


@pytest.mark.matrix
async def test_agent_and_citizen_on_matrix(
    gateway_client: GatewayClient,
    stack_settings: Settings,
    synapse,
    gwen: MatrixUser,
    intrus: MatrixUser,
    tmp_path,
):
    client = await gateway_client(with_matrix(stack_settings, synapse, tmp_path / "m"))
    await wait_until(lambda: client.app[keys.MATRIX].state == "ok", what="Matrix synced")
    bot = synapse.users["assistant"]

    async def talker(user: MatrixUser):  # type: ignore[no-untyped-def]
        room = await user.create_room(invite=[bot])
        await user.wait_membership(room, bot, "join")

        async def tell(text: str, wanted: str) -> str:
            seen = len(user.messages_from(room, bot))
            await user.say(room, text)
            await user.wait_text(room, bot, wanted, seen)
            return "\n".join(user.messages_from(room, bot)[seen:])  # every message since

        return tell

    agent, citizen = await talker(gwen), await talker(intrus)
    # The catalogue, whatever today's date: its registration contact is given.
    answer = await agent("prochaines formations", "formation@departement.example")
    assert "Fiche :" in answer or "Aucune session" in answer
    answer = await agent("qui s'occupe des routes au département", "Direction des routes")
    assert "02 98 00 30 00" in answer
    answer = await citizen("qui s'occupe des routes au département", STAFF_ONLY)
    assert "02 98 00 30 00" not in answer
    # A citizen's « formations » are the conseillers numériques, never the agents' catalogue.
    answer = await citizen("prochaines formations", "conseillers numériques")
    assert "formation@departement.example" not in answer and STAFF_ONLY not in answer
