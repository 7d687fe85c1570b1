"""Orienting a person: an agent asks on behalf of someone ("une usagère me demande l'APA").

A council agent gets the professional version of the procedure (``audience.agent`` in
``data/knowledge/procedures.yml``): where to send the person, which desk, the documents
to ask for, whether an Aidants Connect mandate fits, and the places near the person's
commune that help with online procedures. Anybody else gets the citizens' answer
(``action_procedure``): the professional notes are never shown to a citizen.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context, desks, geo, knowledge, place_search
from actions.internal import staff
from common.content import ContentError
from common.hours import PARIS

logger = logging.getLogger(__name__)

AIDANTS_CONNECT = (
    "Aidants Connect : un aidant professionnel habilité (France Services, CDAS, "
    "conseiller numérique) fait la démarche en ligne à la place de la personne, avec un "
    "mandat signé via FranceConnect (un an au plus) ; la famille et les bénévoles ne "
    "peuvent pas être aidants habilités."
)
GENERAL = (
    "Pour orienter une personne dans ses démarches en ligne : un espace France Services "
    "ou un lieu d'aide au numérique l'accompagne ; si elle ne peut pas faire seule, un "
    "aidant habilité Aidants Connect peut faire la démarche pour elle ; pour une aide "
    "sociale (RSA, APA, handicap), le CDAS de sa commune."
)
ASK_COMMUNE = (
    "Dites-moi la commune de la personne : je vous donnerai son CDAS et les lieux d'aide "
    "aux démarches près de chez elle."
)


def professional_text(entry: dict[str, Any]) -> str:
    """The agent's version of a procedure: where to send, which desk, documents, mandate."""
    notes = (entry.get("audience") or {}).get("agent") or {}
    title = entry.get("short") or str(entry.get("title") or "la démarche").split(" (")[0]
    lines = [f"Pour orienter la personne — {title}"]
    if notes.get("send_to"):
        lines.append(f"Où l'envoyer : {notes['send_to']}")
    if notes.get("desk"):
        lines.append(f"Quel guichet : {notes['desk']}")
    documents = [f"- {d}" for d in entry.get("documents") or []]
    if documents:
        lines += ["Documents à lui demander :", *documents]
    if notes.get("aidants_connect"):
        lines.append(f"Mandat Aidants Connect : {notes['aidants_connect']}")
    if entry.get("owner"):
        lines.append(f"Fiche : {entry['owner']}.")
    return "\n".join(lines)


def near_person(entry: dict[str, Any], commune_name: str | None) -> list[dict[str, Any]]:
    """The person's CDAS (council procedures) and the helping places near their commune;
    the places that offer Aidants Connect say so."""
    index = geo.communes()
    commune = index.get(commune_name) if commune_name else None
    if commune is None:
        return [{"text": ASK_COMMUNE}]
    now = datetime.now(PARIS)
    messages = []
    if entry.get("desk") == "cdas":
        desk = desks.nearest_desk(commune, index, desks.load_desks())
        if desk is not None:
            messages.append(
                {
                    "text": f"CDAS de la personne ({commune.nom}) : {desk['name']}\n"
                    f"{desks.desk_text(desk, now)}"
                }
            )
    cards = []
    for place, km in knowledge.helping_places(commune, index, limit=3):
        card = place_search.describe_place(place, km, now)
        if "Aidants Connect" in place.labels:
            card += "\nAidants Connect : oui"
        cards.append(card)
    if cards:
        intro = f"Lieux d'aide aux démarches près de {commune.nom} :"
        messages.append({"text": "\n\n".join([intro, *cards])})
    return messages


class ActionOrientPerson(Action):
    """An agent orienting a person: the professional version; a citizen: the public one."""

    def name(self) -> str:
        return "action_orient_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            agent = staff(tracker)
        except Exception:  # the directory is down: no internal content on a doubt
            logger.exception("agent directory unavailable")
            agent = None
        if agent is None:
            return await knowledge.ActionProcedure().run(dispatcher, tracker, domain)
        wanted = next(tracker.get_latest_entity_values("procedure"), None)
        commune = next(tracker.get_latest_entity_values("commune"), None)
        text = tracker.latest_message.get("text") or ""
        try:
            procedures = knowledge.entries(knowledge.PROCEDURES_FILE)
            name = knowledge.find_procedure(procedures, wanted, "" if wanted else text)
            if name is None:
                messages = [{"text": f"{GENERAL}\n{AIDANTS_CONNECT}"}]
                messages += await asyncio.to_thread(near_person, {}, commune)
            else:
                entry = procedures[name]
                messages = [{"text": professional_text(entry)}]
                messages += await asyncio.to_thread(near_person, entry, commune)
                messages.append({"text": AIDANTS_CONNECT})
        except (ContentError, KeyError, TypeError, AttributeError, OSError):
            logger.exception("procedure knowledge unusable")
            dispatcher.utter_message(text=knowledge.UNAVAILABLE)
            return []
        for message in messages:
            dispatcher.utter_message(**message)
        events: list[EventType] = [SlotSet("procedure", name)] if name else []
        return [*events, SlotSet(context.LAST_TOPIC, "procedure" if name else None)]
