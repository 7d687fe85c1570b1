"""« Je voudrais voir une assistante sociale »: the council's social desk (CDAS) nearest to the
person, with its phone and how to get an appointment without internet (``ask_social_worker``).

Without a commune, the action asks for it and leaves ``last_topic = social``: the next
bare answer ("j'habite à Landerneau", "29800") gives the desk (actions/followups.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context, desks, geo
from actions.knowledge import council_values
from actions.postcodes import commune_choice, shared_postcode
from common.content import ContentError, load_yaml
from common.hours import PARIS

logger = logging.getLogger(__name__)

TOPIC = "social"
HUMAN_BUTTON = {"title": "Parler à un médiateur", "payload": "/request_human"}
ASK_COMMUNE = (
    "Les assistantes et assistants sociaux du Département reçoivent dans les CDAS "
    "(centres départementaux d'action sociale), sur rendez-vous, gratuitement. "
    "Dans quelle commune habitez-vous ? Je vous donnerai le centre le plus proche et son téléphone."
)


def social_messages(
    commune: geo.Commune | None,
    index: geo.CommuneIndex,
    all_desks: list[dict[str, Any]],
    values: dict[str, str],
    now: datetime,
) -> list[dict[str, Any]]:
    """The desk for ``commune`` (or the question for the commune), with the phone way."""
    phone = values["council_phone"]
    if commune is None:
        return [
            {
                "text": f"{ASK_COMMUNE}\nVous pouvez aussi appeler le Département au {phone}, "
                f"{values['council_hours']}."
            }
        ]
    desk = desks.nearest_desk(commune, index, all_desks)
    if desk is None:
        return [
            {
                "text": f"Pour rencontrer un travailleur social près de {commune.nom}, appelez le "
                f"Département au {phone}, {values['council_hours']}, ou le CCAS de votre mairie.",
                "buttons": [HUMAN_BUTTON],
            }
        ]
    intro = (
        f"Pour {commune.nom}, le centre d'action sociale du Département est le {desk['name']}. "
        "Un ou une assistante sociale peut vous recevoir, gratuitement :"
    )
    return [
        {"text": f"{intro}\n{desks.desk_text(desk, now)}"},
        {
            "text": f"Sans internet : appelez le {desk['phone']} ou passez à l'accueil aux heures "
            f"d'ouverture. Le standard du Département répond aussi au {phone}.",
            "buttons": [HUMAN_BUTTON],
        },
    ]


def named_procedure(text: str) -> str | None:
    """A council procedure the message describes (its keywords), if any."""
    from actions.knowledge import PROCEDURES_FILE, entries

    try:
        procedures = entries(PROCEDURES_FILE)
        words = load_yaml("followups.yml") or {}
    except ContentError:
        return None
    social = ((words.get("topics") or {}).get("social") or {}).get("keywords") or []
    if context.matches_keywords(text, [*social, "rendez-vous", "rdv"]):
        return None  # they asked for a social worker: give the desk
    name = context.best_keyword_match(text, procedures)
    return name if name and procedures[name].get("desk") == "cdas" else None


class ActionSocialWorker(Action):
    def name(self) -> str:
        return "action_social_worker"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        postcode = await asyncio.to_thread(shared_postcode, tracker)
        if postcode is not None:  # « assistante sociale au 29300 » : which of its communes?
            dispatcher.utter_message(**commune_choice(*postcode))
            return [SlotSet(context.LAST_TOPIC, TOPIC)]
        wanted = next(tracker.get_latest_entity_values("commune"), None) or context.recent_commune(
            tracker.events
        )
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        procedure = named_procedure(text) if intent == "ask_social_worker" else None
        if procedure:
            # « Mon père ne peut plus vivre seul » is the APA, which the CDAS handles too.
            from actions.knowledge import ActionProcedure

            return await ActionProcedure().run(dispatcher, tracker, domain)
        try:
            index = await asyncio.to_thread(geo.communes)
            all_desks = desks.load_desks()
            commune = index.get(wanted) if wanted else None
            now = datetime.now(PARIS)
            messages = social_messages(commune, index, all_desks, council_values(), now)
        except (ContentError, OSError, KeyError, TypeError):
            logger.exception("social desks unavailable")
            values = council_values()
            messages = [
                {
                    "text": f"Pour rencontrer un travailleur social, appelez le Département au "
                    f"{values['council_phone']}, {values['council_hours']}.",
                    "buttons": [HUMAN_BUTTON],
                }
            ]
            commune = None
        for message in messages:
            dispatcher.utter_message(**message)
        events: list[EventType] = [SlotSet(context.LAST_TOPIC, TOPIC)]
        if commune is not None:
            events.append(SlotSet("commune", commune.nom))
        return events
