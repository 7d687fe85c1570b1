"""Short follow-ups read against what was just said (see ``actions/context.py``).

    places near Quimper ──"et à Concarneau ?"──► places near Concarneau      (action_followup)
    fibre in the département ──"je suis à Mamers"──► fibre in Mamers         (action_followup)
    places listed ──"samedi ?" / "ça ferme à quelle heure ?"──► their hours   (action_place_hours)
    places listed ──"le 2e" / "celui de Morlaix"──► that place: details, week, way there
                                                                             (action_select_item)
    "29800" (several communes) ──► « Laquelle ? » with one button per commune

Nothing here is remembered beyond the ``last_topic`` / ``listed_places`` slots, which
``context.current_topic`` ignores once the conversation has moved on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import context, desks, geo, place_search, place_store
from actions.contact import ActionContact
from actions.datetime_fr import Moment, parse_moment
from actions.guides import ActionBasicSkills
from actions.knowledge import ActionFibre, ActionProcedure
from actions.places import ASK_COMMUNE, ActionFindDigitalPlace
from actions.postcodes import commune_choice, shared_postcode
from actions.social import ActionSocialWorker
from common import hours
from common.content import ContentError, load_yaml
from common.hours import PARIS
from common.ordinal import first_ordinal
from common.text import key

logger = logging.getLogger(__name__)

HUMAN_BUTTON = {"title": "Parler à un médiateur", "payload": "/request_human"}
PLACES_BUTTON = {"title": "Un lieu d'aide près de chez moi", "payload": "/find_digital_place"}
WORDS_FILE = "followups.yml"
UNAVAILABLE = (
    "Je ne peux pas consulter les lieux d'aide pour le moment, désolé. "
    "Vous pouvez demander à votre mairie, ou parler à un médiateur."
)
NO_LIST = (
    "De quel lieu parlez-vous ? Dites-moi votre commune : je vous donnerai les lieux "
    "d'aide au numérique les plus proches, avec leurs horaires."
)
# Asking the way to a place (folded, apostrophes as spaces).
WAY_WORDS = (
    "y aller", "y rendre", "y venir", "itineraire", "c est ou", "ou c est", "c ou",
    "c est loin", "aller la bas", "quelle adresse", "son adresse", "leur adresse",
    "y rends", "on y va", "j y vais",
)  # fmt: skip
# A bare yes or no outside any question: read for what it names, else acknowledged.
ACKS = {"affirm": "utter_affirm_ack", "deny": "utter_deny_ack"}
# Under this confidence, an ``inform`` carrying nothing is treated as not understood.
UNSURE = 0.6
PART_SPANS = {"matin": (time(0), time(12)), "midi": (time(11), time(14))}
PART_SPANS.update({"apres midi": (time(12), time(19)), "soir": (time(16), time(23, 59))})
PART_LABEL = {"matin": "le matin", "midi": "à midi", "apres midi": "l'après-midi"}
PART_LABEL["soir"] = "en fin de journée"


# ------------------------------------------------------------------ pure helpers


def topic_in_words(text: str) -> str | None:
    """A topic the message names itself ("espace numérique Châteaulin" -> places)."""
    try:
        topics = (load_yaml(WORDS_FILE) or {}).get("topics") or {}
    except ContentError:
        logger.exception("follow-up keywords unavailable")
        return None
    return context.topic_from_words(text, topics)


def commune_menu(commune: str) -> dict[str, Any]:
    """A commune given out of any topic: what we can do for it."""
    return {
        "text": f"C'est noté, vous êtes à {commune}. Que voulez-vous savoir ?",
        "buttons": [
            {
                "title": "Un lieu d'aide au numérique",
                "payload": f'/find_digital_place{{"commune":"{commune}"}}',
            },
            {
                "title": "Rencontrer un travailleur social",
                "payload": f'/ask_social_worker{{"commune":"{commune}"}}',
            },
            {"title": "La fibre chez moi", "payload": f'/ask_fibre{{"commune":"{commune}"}}'},
            HUMAN_BUTTON,
        ],
    }


def the_day(moment: Moment, today: date) -> date:
    return moment.day or today


def hours_line(place: place_store.Place, moment: Moment, now: datetime) -> str:
    """What one place's hours are for the moment asked."""
    day = the_day(moment, now.date())
    if moment.start is not None:
        at = hours.describe_at(place.horaires, datetime.combine(day, moment.start, tzinfo=PARIS))
        if at is not None:
            return f"{at} ({_day_spans(place.horaires, day)})"
    spans = hours.open_spans(place.horaires, day)
    if spans is None:
        if place.horaires_texte:
            return f"horaires indiqués par le lieu : {' '.join(place.horaires_texte.split())}"
        return "horaires non renseignés, appelez avant de vous déplacer"
    if moment.part_of_day in PART_SPANS and spans:
        low, high = PART_SPANS[moment.part_of_day]
        kept = [(a, b) for a, b in spans if _overlap_minutes(a.time(), b.time(), low, high) >= 60]
        label = PART_LABEL[moment.part_of_day]
        return f"ouvert {label} {hours.french_spans(kept)}" if kept else f"fermé {label}"
    return _day_spans(place.horaires, day)


def _overlap_minutes(a: time, b: time, low: time, high: time) -> int:
    start, end = max(a, low), min(b, high)
    return max(0, (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute))


def _day_spans(horaires: str, day: date) -> str:
    spans = hours.open_spans(horaires, day)
    if spans is None:
        return "horaires non renseignés"
    if not spans:
        noon = datetime.combine(day, time(12), tzinfo=PARIS)
        return "fermé (jour férié)" if hours.is_public_holiday(noon) else "fermé"
    return "ouvert " + hours.french_spans(spans)


def hours_answer(places: list[place_store.Place], moment: Moment, now: datetime) -> str:
    """The hours of the listed places for the day asked (today by default), numbered."""
    day = the_day(moment, now.date())
    label = hours.french_day(day, now.date())
    if label in ("aujourd'hui", "demain"):
        label += f" ({hours.WEEKDAYS[day.weekday()]})"
    when = label[0].upper() + label[1:]
    if moment.start is not None:
        when += f" à {hours.french_time(datetime.combine(day, moment.start))}"
    elif moment.part_of_day in PART_LABEL:
        when += f" ({PART_LABEL[moment.part_of_day]})"
    lines = [f"{when} :"]
    for number, place in enumerate(places, start=1):
        lines.append(f"{number}. {place.nom} : {hours_line(place, moment, now)}.")
    if day == now.date() and moment.start is None:
        lines.append(
            "En ce moment : "
            + "; ".join(f"{p.nom} — {hours.describe(p.horaires, now).rstrip('.')}" for p in places)
            + "."
        )
    lines.append("Les horaires peuvent changer : appelez avant de vous déplacer.")
    return "\n".join(lines)


def map_link(place: place_store.Place) -> str | None:
    if place.latitude is None or place.longitude is None:
        return None
    lat, lon = f"{place.latitude:.5f}", f"{place.longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def place_details(place: place_store.Place, now: datetime) -> list[dict[str, Any]]:
    """One place in full: its card, its hours for the week, how to get there."""
    card = place_search.describe_place(place, None, now)
    week = hours.describe_week(place.horaires, now.date())
    parts = [card]
    if week:
        parts.append("Horaires de la semaine :\n" + "\n".join(f"- {line}" for line in week))
    way = f"Pour y aller : {place.adresse}, {place.code_postal} {place.commune}."
    link = map_link(place)
    if link:
        way += f"\nPlan : {link}"
    if place.telephone:
        way += (
            f"\nSans internet : appelez le {place_search.french_phone(place.telephone)} "
            "pour vérifier les horaires ou prendre rendez-vous."
        )
    return [{"text": "\n\n".join(parts)}, {"text": way, "buttons": [HUMAN_BUTTON]}]


def choose_place(
    places: list[place_store.Place], ordinal: str | None, text: str, commune: str | None
) -> place_store.Place | None:
    """The listed place the person means: by rank, by name, or by its commune."""
    chosen = context.pick_by_ordinal(places, ordinal or first_ordinal(text))
    if chosen is not None:
        return chosen
    chosen = context.pick_by_name(places, text, [(p.nom, p.commune) for p in places])
    if chosen is not None:
        return chosen
    if commune:
        same = [p for p in places if key(p.commune) == key(commune)]
        if len(same) == 1:
            return same[0]
    return None


def asks_the_way(text: str) -> bool:
    """« comment y aller ? », « c'est où ? », « l'adresse », « c'est loin ? »."""
    folded = f" {context.folded(text).replace(chr(39), ' ')} "
    return any(f" {words} " in folded for words in WAY_WORDS)


def picked_before(
    places: list[place_store.Place], events: list[dict[str, Any]]
) -> place_store.Place | None:
    """The place of the list the person picked in an earlier message, if one."""
    picked = context.picked_since_list(context.before_latest(events))
    if picked is None:
        return None
    entities = (picked.get("parse_data") or {}).get("entities") or []
    ordinal = next((e.get("value") for e in entities if e.get("entity") == "ordinal"), None)
    return choose_place(places, ordinal, picked.get("text") or "", None)


# ------------------------------------------------------------------ data access


def desk_hours(commune_name: str, text: str, now: datetime) -> str | None:
    """The hours of the social desk nearest to the commune, for the day asked."""
    index = geo.communes()
    commune = index.get(commune_name)
    desk = desks.nearest_desk(commune, index, desks.load_desks()) if commune else None
    if desk is None or not desk.get("horaires"):
        return None
    moment = parse_moment(text, now.date())
    day = the_day(moment, now.date())
    line = hours.describe_day(desk["horaires"], day, now.date())
    line = line[0].upper() + line[1:]
    return (
        f"{desk['name']} — {line}.\nAccueil : {desk['hours']}.\n"
        f"Téléphone : {desk['phone']} (appelez avant de vous déplacer)."
    )


def places_by_ids(ids: list[str]) -> list[place_store.Place]:
    by_id = {p.id: p for p in place_store.places_with_seed()}
    return [by_id[i] for i in ids if i in by_id]


def nearest_places(commune_name: str) -> list[place_store.Place]:
    index = geo.communes()
    commune = index.get(commune_name)
    if commune is None:
        return []
    found = place_search.nearest(place_store.places_with_seed(), commune, index)
    return [p for p, _km in found.places]


def latest_entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


def utter_all(dispatcher: CollectingDispatcher, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        dispatcher.utter_message(**message)


# ------------------------------------------------------------------ actions


class ActionFollowUp(Action):
    """A bare answer (``inform``) outside any question: read it against the last topic."""

    def name(self) -> str:
        return "action_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic = context.current_topic(context.before_latest(tracker.events))
        postcode = await asyncio.to_thread(shared_postcode, tracker)
        if postcode is not None:
            dispatcher.utter_message(**commune_choice(*postcode))
            return [SlotSet(context.LAST_TOPIC, topic or "places")]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ACKS:
            return await self.correction(topic, ACKS[intent], dispatcher, tracker, domain)
        step = context.slot_context(tracker.events, "place_step")
        if step.current and step.value == ASK_COMMUNE:
            # The answer to « Dans quelle commune habitez-vous ? » (places.py asked it).
            return await self.rerun("places", dispatcher, tracker, domain)
        commune = latest_entity(tracker, "commune")
        text = tracker.latest_message.get("text") or ""
        now = datetime.now(PARIS)
        moment = parse_moment(text, now.date())
        if commune:
            topic = topic or topic_in_words(text)
            if topic:
                return await self.rerun(topic, dispatcher, tracker, domain)
            dispatcher.utter_message(**commune_menu(commune))
            return []
        if topic and not moment.is_empty():
            return await ActionPlaceHours().run(dispatcher, tracker, domain)
        named = topic_in_words(text)
        if named and not topic:  # « une démarche », « apprendre le numérique »
            return await self.rerun(named, dispatcher, tracker, domain)
        from actions.fallback import ActionFallback
        from actions.reroute import out_of_scope_answer

        confidence = (tracker.latest_message.get("intent") or {}).get("confidence") or 0.0
        if confidence < UNSURE or out_of_scope_answer(text) is not None:
            # Nothing noted and the model unsure (« zorglub »), or an insult: « C'est
            # noté » would be wrong; the fallback reroutes, says out of scope, or asks.
            return await ActionFallback().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_inform_ack")
        return []

    @classmethod
    async def correction(
        cls,
        topic: str | None,
        ack: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        """« Non, c'est pour ma mère à Morlaix », « non en fait c'est l'APA »: a correction;
        « c'est où exactement », read as a yes after a list of places: the way there.
        Otherwise the response ``ack``."""
        from actions.reroute import reroute

        if topic and latest_entity(tracker, "commune"):
            return await cls.rerun(topic, dispatcher, tracker, domain)
        events = await reroute(dispatcher, tracker, domain)
        if events is not None:
            return events
        dispatcher.utter_message(response=ack)
        return []

    @staticmethod
    async def rerun(
        topic: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The last topic's answer again, for the commune of the latest message."""
        action: Action = {
            "places": ActionFindDigitalPlace,
            "fibre": ActionFibre,
            "procedure": ActionProcedure,
            "social": ActionSocialWorker,
            "contact": ActionContact,
            "guides": ActionBasicSkills,
        }[topic]()
        events = await action.run(dispatcher, tracker, domain)
        if topic in context.TOPICS and not any(e.get("name") == context.LAST_TOPIC for e in events):
            events.append(SlotSet(context.LAST_TOPIC, topic))
        return events


class ActionPlaceHours(Action):
    """Opening hours of the places just listed (or near the commune named) for a day."""

    def name(self) -> str:
        return "action_place_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        now = datetime.now(PARIS)
        commune = latest_entity(tracker, "commune")
        ids = context.current_places(context.before_latest(tracker.events))
        if ids and not commune and asks_the_way(text):
            from actions.reroute import asks_hours

            if not asks_hours(text):  # « comment y aller ? » read as a question of hours
                return await ActionSelectItem().run(dispatcher, tracker, domain)
        try:
            if commune:
                places = await asyncio.to_thread(nearest_places, commune)
            else:
                places = await asyncio.to_thread(places_by_ids, ids)
        except (OSError, SQLAlchemyError, KeyError, ValueError):
            logger.exception("places unavailable for their hours")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=[HUMAN_BUTTON])
            return []
        if not places:
            topic = context.current_topic(context.before_latest(tracker.events))
            desk_commune = context.recent_commune(tracker.events)
            if topic in ("social", "contact") and desk_commune:
                answer = await asyncio.to_thread(desk_hours, desk_commune, text, now)
                if answer:
                    dispatcher.utter_message(text=answer, buttons=[HUMAN_BUTTON])
                    return [SlotSet(context.LAST_TOPIC, topic)]
            dispatcher.utter_message(text=NO_LIST)
            return [SlotSet(context.LAST_TOPIC, "places")]
        one = choose_place(places, latest_entity(tracker, "ordinal"), text, None)
        shown = [one] if one is not None and len(places) > 1 and not commune else places
        dispatcher.utter_message(text=hours_answer(shown, parse_moment(text, now.date()), now))
        events: list[EventType] = [SlotSet(context.LAST_TOPIC, "places")]
        if commune:
            events += [SlotSet(context.LISTED_PLACES, [p.id for p in places])]
            events += [SlotSet("commune", commune)]
        else:
            events.append(SlotSet(context.LISTED_PLACES, [p.id for p in places]))
        return events


class ActionSelectItem(Action):
    """« Le premier », « le 2e », « celui de Morlaix »: one of the places just listed."""

    def name(self) -> str:
        return "action_select_item"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ids = context.current_places(context.before_latest(tracker.events))
        text = tracker.latest_message.get("text") or ""
        try:
            places = await asyncio.to_thread(places_by_ids, ids) if ids else []
        except (OSError, SQLAlchemyError, KeyError, ValueError):
            logger.exception("places unavailable for a selection")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=[HUMAN_BUTTON])
            return []
        if not places:
            dispatcher.utter_message(
                text="Je n'ai pas de liste en cours. Que cherchez-vous ? Par exemple un lieu "
                "d'aide au numérique près de chez vous, ou une démarche.",
                buttons=[PLACES_BUTTON, HUMAN_BUTTON],
            )
            return []
        chosen = choose_place(
            places, latest_entity(tracker, "ordinal"), text, latest_entity(tracker, "commune")
        )
        if chosen is None and asks_the_way(text):  # « le 2e », then « comment y aller ? »
            chosen = places[0] if len(places) == 1 else picked_before(places, tracker.events)
        if chosen is None:
            names = "\n".join(f"{n}. {p.nom}" for n, p in enumerate(places, start=1))
            dispatcher.utter_message(
                text=f"Lequel de ces lieux ? Répondez par son numéro.\n{names}",
                buttons=[
                    {"title": p.nom, "payload": f'/select_item{{"ordinal":"{n}"}}'}
                    for n, p in enumerate(places, start=1)
                ],
            )
            return [SlotSet(context.LAST_TOPIC, "places"), SlotSet(context.LISTED_PLACES, ids)]
        utter_all(dispatcher, place_details(chosen, datetime.now(PARIS)))
        return [SlotSet(context.LAST_TOPIC, "places"), SlotSet(context.LISTED_PLACES, ids)]
