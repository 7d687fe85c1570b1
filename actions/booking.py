"""Booking for agents — visioconference rooms and pool vehicles: form, proposal,
confirmation, list, cancel, move; the visio room offered instead of a long trip; visio
meetings shared by several sites.

Flow (rules in ``bot/rules/booking.yml``)::

    book_room ─► action_booking_identify ─┬─ not an agent ─► utter_booking_agents_only
                                          └─ agent ─► booking_form (site, date, time, duration,
                                                      attendees; validate_booking_form)
                                                      └─► action_booking_propose
                       free room ─► booking_confirm_form (booking_confirmed: yes / no, asked
                                    again when unclear) ─► action_booking_answer ─► saved
                                    (visio link, .ics) or taken meanwhile ─► alternatives
                       taken ─► up to 3 alternatives as buttons ─► choose_option
                                    ─► action_booking_choose ─► booking_confirm_form
    book_vehicle ─► the same, with booking_resource = "vehicle": the agent's home site is
                                    the pick-up site, a place named is the destination
    (room or vehicle far from the agent's home site) ─► the proposal also shows the trip's
                                    cost and a visio room at home for the same slot
                                    (« visio » or its button chooses it; recorded)
    book_shared_visio ─► action_booking_shared ─► booking_confirm_form ─► every site's room
                                    in one transaction, one visio link, or nothing
    list_bookings ─► action_booking_list
    cancel_booking ─► action_booking_cancel_start ─► (choose_option) ─► booking_confirm_form
    change_booking ─► action_booking_move_start ─► new time in the same sentence ("décale à
                                    16h") or asked (booking_step=new_time, inform
                                    ─► action_booking_move_propose) ─► booking_confirm_form

Only agents of the directory book, and every query is filtered on the agent's id:
nobody sees, cancels or moves another agent's booking.

A ``choose_option`` payload is only a request: the options this conversation offered
are kept in the ``booking_offered`` slot, and at confirmation the option is checked
again (offered, in the future, within the site's hours, large enough; free is the
database's ``UNIQUE`` slot rows). A forged option is refused and nothing is saved.

Every action does its database work in a worker thread (:class:`BookingAction`), never
on the action server's event loop. The French sentences are in ``actions.booking_texts``,
the calendar in ``actions.booking_calendar``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import booking_texts as say
from actions.agents import channel_identity
from actions.booking_calendar import ics_url
from actions.booking_rules import Problem, check_attendees, check_option, check_when
from actions.booking_sites import closest_sites, nearest_sites
from actions.booking_store import (
    Agent,
    Booking,
    BookingStore,
    Option,
    Site,
    get_store,
    parse_token,
)
from actions.datetime_fr import (
    UTC,
    BookingRequest,
    format_span,
    parse_request,
    to_paris,
    to_utc,
)
from actions.geo import communes
from actions.mobility import Trip, trip
from actions.visio import VisioError, provider_from_env
from common.config import ConfigError, database_url
from common.text import fold

logger = logging.getLogger(__name__)

FORM_SLOTS = ("site", "booking_date", "booking_time", "booking_duration", "booking_attendees")
# The questions booking_form asks (Rasa's form sends them, not our code). Named here so
# that tools/validate excuses them like other responses sent outside stories and rules.
# The site question is an action (buttons from the rooms data): action_ask_site.
FORM_QUESTIONS = {
    "booking_date": "utter_ask_booking_date",
    "booking_time": "utter_ask_booking_time",
    "booking_duration": "utter_ask_booking_duration",
    "booking_attendees": "utter_ask_booking_attendees",
}
STEP_CONFIRM, STEP_NEW_TIME = "confirm", "new_time"
BOOK, CANCEL, MOVE, SHARED = "book", "cancel", "move", "shared"
ROOM, VEHICLE = "room", "vehicle"
# "au départ de Brest", "depuis Morlaix": the pick-up site of a vehicle, not where it goes.
DEPARTURE = re.compile(r"(?:depuis|au depart d[eu']?|depart d[eu']?|a prendre a)\s*$")
MAX_LISTED = 5
ORDINALS = {
    "premier": 0,
    "premiere": 0,
    "1": 0,
    "1er": 0,
    "1re": 0,
    "un": 0,
    "une": 0,
    "deuxieme": 1,
    "second": 1,
    "seconde": 1,
    "2": 1,
    "2e": 1,
    "deux": 1,
    "troisieme": 2,
    "3": 2,
    "3e": 2,
    "trois": 2,
    "quatrieme": 3,
    "4": 3,
    "4e": 3,
    "quatre": 3,
    "cinquieme": 4,
    "5": 4,
    "5e": 4,
    "cinq": 4,
    "dernier": -1,
    "derniere": -1,
}
# Yes and no as agents type them (folded, whole words), and as emoji.
YES = (
    "oui",
    "ouais",
    "ouai",
    "ouii",
    "oue",
    "vi",
    "wi",
    "ui",
    "ok",
    "okay",
    "oke",
    "dac",
    "d'acc",
    "d'accord",
    "daccord",
    "yes",
    "yep",
    "parfait",
    "confirme",
    "je confirme",
    "c bon",
    "c'est bon",
    "cest bon",
    "ca marche",
    "ca me va",
    "go",
    "vas y",
    "valide",
    "bien sur",
    "tout a fait",
    "exactement",
)
NO = (
    "non",
    "nan",
    "nn",
    "no",
    "nope",
    "laisse tomber",
    "laissez tomber",
    "pas la peine",
    "surtout pas",
    "oublie",
    "oubliez",
    "stop",
)
YES_EMOJI, NO_EMOJI = ("👍", "👌", "✅", "🆗"), ("👎", "❌", "🚫")
# "suivant": the week after the day just noted ("jeudi prochain" → the Thursday after).
LATER_WORDS = r"^\s*(?:non\W+)?(?:le |celui |l'|la semaine )?(?:suivant|d'apres|autre|apres)\W*$"
# "celle de jeudi", "ma réservation du 12/12": which booking, not its new time.
WHICH_DAY = re.compile(
    r"\b(?:celle|celui|resa|reservation|salle|reunion|visio|creneau)\s+(?:de|du|d')\s*"
    r"((?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s*)?"
    r"(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}\s+[a-z]+|1er\s+[a-z]+)?|demain|aujourd'? ?hui"
    r"|ce matin|cet apres midi|apres demain)"
)


def now() -> datetime:
    """The current instant (UTC); tests replace this function to freeze the clock."""
    return datetime.now(UTC)


def store() -> BookingStore:
    return get_store(database_url())


def yes_or_no(text: str, intent: str | None) -> bool | None:
    """True for a yes, False for a no, None when unclear (both, or neither)."""
    if text.startswith("/"):
        return {"affirm": True, "deny": False}.get(intent or "")
    folded = " " + " ".join(re.findall(r"[\w']+", fold(text).replace("’", "'"))) + " "
    yes = any(f" {w} " in folded for w in YES) or any(e in text for e in YES_EMOJI)
    no = any(f" {w} " in folded for w in NO) or any(e in text for e in NO_EMOJI)
    return yes if yes != no else None


def current_agent(tracker: Tracker) -> Agent | None:
    identity = channel_identity(tracker)
    if identity is None:
        return None
    return store().agent_for(*identity)


def ordinal_choice(text: str) -> int | None:
    """ "la deuxième", "le 2", "je prends la première" → 1, 1, 0."""
    for word in re.findall(r"\w+", fold(text)):
        if word in ORDINALS:
            return ORDINALS[word]
    return None


def reset_events() -> list[EventType]:
    return [
        SlotSet(name, None)
        for name in (
            *FORM_SLOTS,
            "booking_step",
            "booking_action",
            "booking_option",
            "booking_ref",
            "booking_choices",
            "booking_offered",
            "booking_question",
            "booking_confirmed",
            "booking_resource",
            "booking_destination",
            "booking_trip",
        )
    ]


def _latest_entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _form_values(tracker: Tracker) -> tuple[date | None, time | None, int | None, int | None]:
    raw_day, raw_time = tracker.get_slot("booking_date"), tracker.get_slot("booking_time")
    duration, attendees = (
        tracker.get_slot("booking_duration"),
        tracker.get_slot("booking_attendees"),
    )
    return (
        date.fromisoformat(raw_day) if raw_day else None,
        time.fromisoformat(raw_time) if raw_time else None,
        int(duration) if duration is not None else None,
        int(attendees) if attendees is not None else None,
    )


def confirm_events(question: str, action: str, option: Option | None = None) -> list[EventType]:
    """Hand over to booking_confirm_form, which asks ``question`` until yes or no."""
    events: list[EventType] = [
        SlotSet("booking_step", STEP_CONFIRM),
        SlotSet("booking_action", action),
        SlotSet("booking_question", question),
        SlotSet("booking_confirmed", None),
    ]
    if option is not None:
        events.append(SlotSet("booking_option", option.token()))
    return events


class BookingAction(Action, ABC):
    """An action whose (synchronous, database) work runs in a worker thread."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await asyncio.to_thread(self.work, dispatcher, tracker)

    @abstractmethod
    def work(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]: ...


class AgentAction(BookingAction, ABC):
    """An action for agents only: anyone else gets the polite "staff only" answer."""

    def work(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        agent = current_agent(tracker)
        if agent is None:
            dispatcher.utter_message(response="utter_booking_agents_only")
            return reset_events()
        return self.work_for_agent(dispatcher, tracker, agent)

    @abstractmethod
    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]: ...


class ActionBookingIdentify(BookingAction):
    """Check the directory; for an agent, start a fresh request (keeping what this message says)."""

    def name(self) -> str:
        return "action_booking_identify"

    def work(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        try:
            agent = current_agent(tracker)
        except SQLAlchemyError:
            logger.exception("agent directory unavailable")
            dispatcher.utter_message(text=say.UNAVAILABLE)
            return [SlotSet("booking_agent", False)]
        events: list[EventType] = [SlotSet("booking_agent", agent is not None)]
        events += [e for e in reset_events() if e["name"] != "site"]
        if _intent(tracker) == "book_vehicle":
            events.append(SlotSet("booking_resource", VEHICLE))
            events.append(SlotSet("booking_attendees", 1.0))  # the driver; "pour 3" says more
            if agent is not None:
                departure, destination = vehicle_places(tracker, agent)
                events.append(SlotSet("site", departure))
                events.append(SlotSet("booking_destination", destination))
            return events
        events.append(SlotSet("booking_resource", ROOM))
        if _latest_entity(tracker, "site") is None:
            events.append(SlotSet("site", None))
        return events


def _places(tracker: Tracker) -> list[tuple[str, str]]:
    """The places of the latest message, in order, with the text before each: one per
    span of text (the site's name when the gazetteer read a site and a commune there)."""
    text = fold(_text(tracker)).replace("’", "'")
    spans: dict[Any, tuple[str, str]] = {}
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") not in ("site", "commune") or not entity.get("value"):
            continue
        start = entity.get("start")
        span = start if isinstance(start, int) else str(entity["value"])
        if span in spans and entity["entity"] != "site":
            continue
        before = text[:start] if isinstance(start, int) else ""
        spans[span] = (str(entity["value"]), before)
    found: list[tuple[str, str]] = []
    for value, before in sorted(spans.values(), key=lambda vb: len(vb[1])):
        if value not in [v for v, _ in found]:
            found.append((value, before))
    return found


def vehicle_places(tracker: Tracker, agent: Agent) -> tuple[str | None, str | None]:
    """Where a vehicle is picked up and where it goes, from the latest message.

    The pick-up site is the agent's home site unless the message says otherwise ("au
    départ de Brest", or two places: "à Quimper pour aller à Brest"); a place named is
    the destination.
    """
    departure, destination = agent.home_site, None
    places = _places(tracker)
    for value, before in places:
        if DEPARTURE.search(before.rstrip()) or (len(places) > 1 and value == places[0][0]):
            departure = value
        else:
            destination = value
    return departure, destination


class ActionAskSite(BookingAction):
    """The form's site question, with a button per site of the rooms data."""

    def name(self) -> str:
        return "action_ask_site"

    def work(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        vehicle = tracker.get_slot("booking_resource") == VEHICLE
        try:
            sites = [s for s in store().sites() if s.vehicles or not vehicle]
        except SQLAlchemyError:
            logger.exception("rooms unavailable")
            sites = []
        question = say.ASK_VEHICLE_SITE if vehicle else say.ASK_SITE
        dispatcher.utter_message(text=question, buttons=say.site_buttons(sites))
        return []


@dataclass
class _Reply:
    """What validate_booking_form says and sets; ``heard`` once the message was understood."""

    updates: dict[str, Any]
    heard: bool = False
    messages: list[tuple[str, list[dict[str, str]]]] = field(default_factory=list)

    def say(self, text: str, buttons: list[dict[str, str]] | None = None) -> None:
        self.messages.append((text, buttons or []))
        self.heard = True


class ValidateBookingForm(BookingAction):
    """Read every booking detail from each message, in any order, and check them together."""

    def name(self) -> str:
        return "validate_booking_form"

    def work(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        text = _text(tracker)
        clock = now()
        parsed = parse_request(text, clock, requested) if not text.startswith("/") else None
        reply = _Reply(_parsed_updates(parsed or BookingRequest()))
        reply.heard = bool(reply.updates)
        if parsed is not None:
            self._doubtful_day(tracker, text, parsed, reply)
        site_given = "site" in tracker.slots_to_validate()
        if not reply.heard and not site_given and _intent(tracker) in {"deny", "request_human"}:
            return []  # let the rules stop the form
        site_name = tracker.get_slot("site")
        commune = _latest_entity(tracker, "commune")
        try:
            if tracker.get_slot("booking_resource") == VEHICLE:
                site_name, commune = self._vehicle_places(tracker, site_name, requested, reply)
            site = self._site(text, requested, site_given, reply, site_name, commune)
        except SQLAlchemyError:
            logger.exception("rooms unavailable")
            reply.say(say.UNAVAILABLE)
            site = None
        if not reply.heard and not site_given:
            if requested is None:
                return []  # nothing to check at activation
            dispatcher.utter_message(response="utter_booking_not_understood")
            return [SlotSet(requested, None)]
        problem = _check(tracker, reply.updates, site, clock)
        if problem:
            buttons = say.day_buttons(problem.choices)
            reply.say(say.next_open_days(problem.message) if buttons else problem.message, buttons)
            reply.updates[problem.slot] = None
        if requested and not reply.updates:
            reply.updates[requested] = None  # asked again (the form needs a slot event)
        for message, buttons in reply.messages:
            dispatcher.utter_message(text=message, buttons=buttons)
        return [SlotSet(slot, value) for slot, value in reply.updates.items()]

    @staticmethod
    def _doubtful_day(tracker: Tracker, text: str, parsed: BookingRequest, reply: _Reply) -> None:
        """A day that passed this year, "jeudi prochain", and the one-word correction."""
        noted = tracker.get_slot("booking_date")
        if noted and re.search(LATER_WORDS, fold(text)):
            later = date.fromisoformat(noted) + timedelta(weeks=1)
            reply.updates["booking_date"] = later.isoformat()
            reply.say(say.day_noted(later))
        if parsed.passed_day is not None:
            next_year = _next_year(parsed.passed_day)
            reply.say(
                say.passed_day(parsed.passed_day, next_year),
                say.day_buttons([next_year] if next_year else []),
            )
        if parsed.day is not None and parsed.later_day is not None:
            reply.say(
                say.later_day_note(parsed.day, parsed.later_day),
                [say.later_day_button(parsed.later_day)],
            )

    @staticmethod
    def _vehicle_places(
        tracker: Tracker, site_name: str | None, requested: str | None, reply: _Reply
    ) -> tuple[str | None, str | None]:
        """For a vehicle, a place named is where it goes; the pick-up site stays the one
        noted (the agent's home site) unless the message names one — or answers the
        pick-up site question."""
        if not _places(tracker) or requested == "site":
            return site_name, None
        agent = current_agent(tracker)
        noted = tracker.get_slot("booking_destination")
        departure, destination = vehicle_places(tracker, agent or Agent("", "", "", None))
        if destination and destination != noted:
            reply.updates["booking_destination"] = destination
            reply.heard = True
        if departure is None:  # no home site known: the form asks for the pick-up site
            return None, None
        reply.updates["site"] = departure
        return departure, None

    @staticmethod
    def _site(
        text: str,
        requested: str | None,
        site_given: bool,
        reply: _Reply,
        site_name: str | None,
        commune: str | None,
    ) -> Site | None:
        """The site meant, or None with the closest names / nearest sites suggested."""
        named = site_name or (commune if requested in (None, "site") else None)
        if named:
            site = store().site(named)
            if site is not None:
                if site_given or site.name != site_name:
                    reply.updates["site"] = site.name
                    reply.heard = True
                return site
            sites = store().sites()
            nearest = nearest_sites(named, sites, communes())
            shown = [s for s, _ in nearest] or sites
            reply.say(say.unknown_site(named, nearest), say.site_buttons(shown))
            reply.updates["site"] = None
            return None
        if requested == "site" and not reply.heard and not text.startswith("/"):
            close = closest_sites(text, store().sites())
            if close:
                names = [s.name for s in close]
                reply.say(say.did_you_mean(text.strip(), names), say.site_buttons(close))
                reply.updates["site"] = None
        return None


def _parsed_updates(parsed: BookingRequest) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if parsed.day is not None:
        updates["booking_date"] = parsed.day.isoformat()
    if parsed.start is not None:
        updates["booking_time"] = parsed.start.strftime("%H:%M")
    if parsed.duration_minutes is not None:
        updates["booking_duration"] = float(parsed.duration_minutes)
    if parsed.attendees is not None:
        updates["booking_attendees"] = float(parsed.attendees)
    return updates


def _next_year(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return None


def _check(
    tracker: Tracker, updates: dict[str, Any], site: Site | None, clock: datetime
) -> Problem | None:
    merged = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS} | updates
    day = date.fromisoformat(merged["booking_date"]) if merged["booking_date"] else None
    start = time.fromisoformat(merged["booking_time"]) if merged["booking_time"] else None
    duration, attendees = merged["booking_duration"], merged["booking_attendees"]
    kind = tracker.get_slot("booking_resource") or ROOM
    return check_when(
        day,
        start,
        int(duration) if duration is not None else None,
        clock,
        site.opening_hours if site else None,
        site.name if site else None,
    ) or check_attendees(
        int(attendees) if attendees is not None else None,
        site.max_capacity_of(kind) if site else None,
        site.name if site else None,
        kind,
    )


class ActionBookingPropose(AgentAction):
    """The form is complete: propose the free room (vehicle), or up to three alternatives;
    for a meeting far from the agent's home site, a visio room at home too."""

    def name(self) -> str:
        return "action_booking_propose"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        day, start, duration, attendees = _form_values(tracker)
        site_name = tracker.get_slot("site")
        if None in (day, start, duration, attendees) or not site_name:
            return reset_events()
        start_utc = to_utc(day, start)
        end_utc = start_utc + timedelta(minutes=duration)
        kind = tracker.get_slot("booking_resource") or ROOM
        destination = tracker.get_slot("booking_destination") or ""
        try:
            site = store().site(site_name)
            if site is None:
                dispatcher.utter_message(text=say.unknown_site(site_name, []))
                return reset_events()
            option = store().free_room(site, start_utc, end_utc, attendees, kind)
            if option is None:
                alternatives = store().alternatives(
                    site, start_utc, end_utc, attendees, now(), kind=kind
                )
                return offer_alternatives(dispatcher, alternatives, BOOK, site, kind)
            overlaps = store().overlapping(agent.id, start_utc, end_utc, kind=kind)
            instead = visio_instead(agent, site, option, destination, attendees)
        except SQLAlchemyError:
            logger.exception("availability unavailable")
            dispatcher.utter_message(text=say.UNAVAILABLE)
            return reset_events()
        question = say.proposal(option, site, attendees, overlaps, destination)
        offered_tokens = [option.token()]
        events: list[EventType] = []
        if instead is not None:
            found_trip, visio, home, present = instead
            question += say.visio_instead(found_trip, visio, home)
            offered_tokens.append(visio.token())
            events.append(
                SlotSet(
                    "booking_trip",
                    {**found_trip.as_slot(), "visio": visio.token(), "present": present},
                )
            )
        return [
            *confirm_events(question, BOOK, option),
            SlotSet("booking_offered", offered_tokens),
            *events,
        ]


def visio_instead(
    agent: Agent, site: Site, option: Option, destination: str, attendees: int
) -> tuple[Trip, Option, Site, int] | None:
    """The trip a booking implies and the visio room at the agent's home site for the same
    slot, when the meeting is far enough and such a room is free; else ``None``.

    A room booked at another site: the agent would drive there (energy unknown). A
    vehicle: it goes to ``destination``, with its own energy; its passengers could all
    join from the home site's room.
    """
    home = store().site(agent.home_site) if agent.home_site else None
    if home is None:
        return None
    if option.kind == VEHICLE:
        vehicle = site.room(option.room_id)
        energy, where, present = getattr(vehicle, "energy", None), destination, attendees
    else:
        energy, where, present = None, site.name, 1
    found = trip(home, where, energy, store().sites(), communes())
    if found is None:
        return None
    visio = store().free_room(home, option.start_utc, option.end_utc, present)
    return (found, visio, home, present) if visio is not None else None


def offer_alternatives(
    dispatcher: CollectingDispatcher,
    alternatives: list[Option] | tuple[Option, ...],
    action: str,
    site: Site | None,
    kind: str = ROOM,
) -> list[EventType]:
    if not alternatives:
        dispatcher.utter_message(text=say.taken(site, False, kind))
        return reset_events()
    dispatcher.utter_message(
        text=say.taken(site, True), buttons=say.alternative_buttons(alternatives)
    )
    return [
        SlotSet("booking_step", None),
        SlotSet("booking_action", action),
        SlotSet("booking_choices", [o.token() for o in alternatives]),
        SlotSet("booking_offered", [o.token() for o in alternatives]),
    ]


def ask_confirmation(
    option: Option,
    action: str,
    attendees: int | None,
    agent: Agent,
    booking: Booking | None = None,
) -> list[EventType]:
    overlaps = store().overlapping(
        agent.id, option.start_utc, option.end_utc, booking.id if booking else None, option.kind
    )
    question = say.choice_question(option, action, attendees, booking, overlaps)
    return confirm_events(question, action, option)


def offered(tracker: Tracker) -> list[str]:
    """The options (tokens) this conversation offered: the proposal and the alternatives."""
    value = tracker.get_slot("booking_offered")
    return [str(v) for v in value] if isinstance(value, list) else []


def refusal(
    tracker: Tracker,
    token: str,
    site: Site | None,
    start_utc: datetime,
    end_utc: datetime,
    attendees: int | None,
    action: str,
) -> str | None:
    """Why the option about to be saved must not be, whatever the client sent; or None."""
    if token not in offered(tracker):
        return say.not_offered(action)
    room_id = token.split("|", 1)[0]
    room = site.room(room_id) if site is not None else None
    if site is None or room is None:
        problem: str | None = "Je ne connais pas cette salle sur ce site."
    else:
        problem = check_option(
            start_utc,
            end_utc,
            now(),
            site.opening_hours,
            site.name,
            room.name,
            room.capacity,
            attendees,
        )
    return None if problem is None else say.nothing_saved(problem, action)


def choose(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
    """A button (or "la deuxième") picked an alternative slot or one of the agent's bookings."""
    action = tracker.get_slot("booking_action")
    if action == MOVE and tracker.get_slot("booking_step") == STEP_NEW_TIME:
        return propose_move(dispatcher, tracker, agent, _text(tracker))
    choice = _latest_entity(tracker, "option")
    choices = tracker.get_slot("booking_choices") or []
    if choice is None:
        index = ordinal_choice(_text(tracker))
        if index is not None and -len(choices) <= index < len(choices):
            choice = choices[index]
    if choice is None or action not in (BOOK, CANCEL, MOVE):
        dispatcher.utter_message(response="utter_booking_choice_unknown")
        return []
    return choose_token(dispatcher, tracker, agent, action, str(choice))


def choose_token(
    dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent, action: str, choice: str
) -> list[EventType]:
    """One of the agent's bookings ("booking:v3"), or an offered slot ("room|time")."""
    if str(choice).startswith("booking:"):
        booking = store().get(agent.id, str(choice).split(":", 1)[1])
        if booking is None or booking.status != "confirmed":
            dispatcher.utter_message(response="utter_booking_not_found")
            return reset_events()
        return choose_booking(dispatcher, agent, booking, action, _moment_slots(tracker))
    token = parse_token(str(choice))
    if token is None:
        dispatcher.utter_message(response="utter_booking_choice_unknown")
        return []
    if str(choice) not in offered(tracker):
        dispatcher.utter_message(text=say.not_offered(action))
        return []
    room_id, start_utc = token
    attendees = tracker.get_slot("booking_attendees")
    booking, home, offered_trip = None, None, {}
    if action == MOVE:
        booking = store().get(agent.id, tracker.get_slot("booking_ref") or "")
        if booking is None:
            dispatcher.utter_message(response="utter_booking_not_found")
            return reset_events()
        length = booking.end_utc - booking.start_utc
        site = store().site(booking.site)
    else:
        length = timedelta(minutes=float(tracker.get_slot("booking_duration") or 60))
        # The form's site; the agent's home site for the visio room offered instead of a trip.
        offered_trip = tracker.get_slot("booking_trip") or {}
        home = offered_trip.get("home") if offered_trip.get("visio") == choice else None
        site = store().site(home or tracker.get_slot("site") or "")
    room = site.room(room_id) if site else None
    if room is None or (booking is not None and room.kind != booking.kind):
        dispatcher.utter_message(response="utter_booking_choice_unknown")
        return []
    option = Option(room.id, room.name, site.name, start_utc, start_utc + length, room.kind)
    count = int(attendees) if attendees else (booking.attendees if booking else None)
    events: list[EventType] = []
    if action == BOOK and home:
        count = int(offered_trip.get("present") or 1)  # who would have travelled
        events.append(SlotSet("booking_attendees", float(count)))
    if action == BOOK:
        events.append(SlotSet("site", site.name))
    return [*ask_confirmation(option, action, count, agent, booking), *events]


class ActionBookingChoose(AgentAction):
    def name(self) -> str:
        return "action_booking_choose"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        return choose(dispatcher, tracker, agent)


def _moment_slots(tracker: Tracker) -> BookingRequest:
    """The new moment of a move said with the request, kept in the form's slots."""
    day, start, _, _ = _form_values(tracker)
    return BookingRequest(day=day, start=start)


def choose_booking(
    dispatcher: CollectingDispatcher,
    agent: Agent,
    booking: Booking,
    action: str,
    moment: BookingRequest,
) -> list[EventType]:
    """One of the agent's bookings is meant: confirm its cancellation, or move it (to
    ``moment`` when the request said when)."""
    if action == CANCEL:
        return [
            *confirm_events(say.cancel_question(booking), CANCEL),
            SlotSet("booking_ref", booking.key),
        ]
    events: list[EventType] = [
        SlotSet("booking_step", STEP_NEW_TIME),
        SlotSet("booking_action", MOVE),
        SlotSet("booking_ref", booking.key),
    ]
    if moment.start is not None:  # said with the request ("décale ma réunion de jeudi à 16h")
        return [*events, *move_to(dispatcher, agent, booking, moment, stay_on_failure=False)]
    dispatcher.utter_message(text=say.ask_new_time(booking))
    return events


class ActionBookingAnswer(AgentAction):
    """The confirmation form's yes or no: save, cancel or move — or do nothing."""

    def name(self) -> str:
        return "action_booking_answer"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        action = tracker.get_slot("booking_action")
        if tracker.get_slot("booking_confirmed") is not True:
            dispatcher.utter_message(response="utter_booking_nothing_done")
            return reset_events()
        try:
            if action == BOOK:
                return self.book(dispatcher, tracker, agent)
            if action == CANCEL:
                return self.cancel(dispatcher, tracker, agent)
            if action == MOVE:
                return self.move(dispatcher, tracker, agent)
            if action == SHARED:
                return self.shared(dispatcher, tracker, agent)
        except (SQLAlchemyError, VisioError, ConfigError):
            logger.exception("booking action %s failed", action)
            dispatcher.utter_message(text=say.UNAVAILABLE)
            return reset_events()
        dispatcher.utter_message(response="utter_booking_nothing_done")
        return reset_events()

    @staticmethod
    def book(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
        chosen = tracker.get_slot("booking_option") or ""
        token = parse_token(chosen)
        duration = tracker.get_slot("booking_duration")
        attendees = tracker.get_slot("booking_attendees")
        if token is None or duration is None or attendees is None:
            dispatcher.utter_message(response="utter_booking_nothing_done")
            return reset_events()
        room_id, start_utc = token
        end_utc = start_utc + timedelta(minutes=float(duration))
        kind = store().kind_of(room_id).name
        # A room is booked at the site asked for. A car is taken where it is parked: the
        # site slot may hold its destination again (Rasa's forms re-read the place named
        # in the request when the confirmation starts).
        site = (
            store().site_of(room_id)
            if kind == VEHICLE
            else store().site(tracker.get_slot("site") or "")
        )
        problem = refusal(tracker, chosen, site, start_utc, end_utc, int(attendees), BOOK)
        if problem:
            dispatcher.utter_message(text=problem)
            return reset_events()
        clock = now()
        visio = "" if kind == VEHICLE else provider_from_env().create("Réunion", start_utc, end_utc)
        destination = tracker.get_slot("booking_destination") or ""
        outcome = store().book(
            agent.id, room_id, start_utc, end_utc, int(attendees), visio, clock, destination
        )
        if outcome.booking is None:
            return offer_alternatives(dispatcher, outcome.alternatives, BOOK, site, kind)
        offered_trip = tracker.get_slot("booking_trip")
        if isinstance(offered_trip, dict) and offered_trip.get("visio"):
            choice = "visio" if offered_trip["visio"] == chosen else "trip"
            store().record_choice(agent.id, outcome.booking, offered_trip, choice, clock)
        dispatcher.utter_message(text=say.booked(outcome.booking, ics_url(outcome.booking)))
        return reset_events()

    @staticmethod
    def shared(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
        """Every site's room of a shared meeting in one transaction, or none."""
        chosen = (tracker.get_slot("booking_option") or "").split()
        tokens = [parse_token(c) for c in chosen]
        duration = tracker.get_slot("booking_duration")
        if not chosen or None in tokens or duration is None:
            dispatcher.utter_message(response="utter_booking_nothing_done")
            return reset_events()
        start_utc = tokens[0][1]
        end_utc = start_utc + timedelta(minutes=float(duration))
        for token, parsed in zip(chosen, tokens, strict=True):
            problem = refusal(
                tracker, token, store().site_of(parsed[0]), parsed[1], end_utc, 1, BOOK
            )
            if problem or parsed[1] != start_utc:
                dispatcher.utter_message(text=problem or say.not_offered(BOOK))
                return reset_events()
        visio = provider_from_env().create("Réunion partagée", start_utc, end_utc)
        room_ids = [parsed[0] for parsed in tokens]
        bookings, taken = store().book_group(agent.id, room_ids, start_utc, end_utc, visio, now())
        if not bookings:
            sites = [s.name for s in map(store().site_of, taken) if s is not None]
            dispatcher.utter_message(text=say.shared_taken(sites, format_span(start_utc, end_utc)))
            return reset_events()
        dispatcher.utter_message(text=say.shared_booked(bookings, [ics_url(b) for b in bookings]))
        return reset_events()

    @staticmethod
    def cancel(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
        booking = store().get(agent.id, tracker.get_slot("booking_ref") or "")
        if booking is None or not store().cancel(agent.id, booking.key, now()):
            dispatcher.utter_message(response="utter_booking_not_found")
            return reset_events()
        dispatcher.utter_message(text=say.cancelled(booking, ics_url(booking)))
        return reset_events()

    @staticmethod
    def move(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
        chosen = tracker.get_slot("booking_option") or ""
        token = parse_token(chosen)
        booking = store().get(agent.id, tracker.get_slot("booking_ref") or "")
        if token is None or booking is None:
            dispatcher.utter_message(response="utter_booking_not_found")
            return reset_events()
        room_id, start_utc = token
        end_utc = start_utc + (booking.end_utc - booking.start_utc)
        site = store().site(booking.site)
        problem = refusal(tracker, chosen, site, start_utc, end_utc, booking.attendees, MOVE)
        if problem:
            dispatcher.utter_message(text=problem)
            return reset_events()
        outcome = store().move(agent.id, booking.key, room_id, start_utc, end_utc, now())
        if outcome.booking is None:
            if not outcome.alternatives and store().get(agent.id, booking.key) is None:
                dispatcher.utter_message(response="utter_booking_not_found")
                return reset_events()
            events = offer_alternatives(dispatcher, outcome.alternatives, MOVE, site)
            return [*events, SlotSet("booking_ref", booking.key)]
        dispatcher.utter_message(text=say.moved(outcome.booking, ics_url(outcome.booking)))
        return reset_events()


class ValidateBookingConfirmForm(AgentAction):
    """booking_confirm_form: a yes or a no, however typed; anything else asks again.

    A choice among the buttons shown before (an alternative) is taken here too, and the
    new question asked. A request for a person is left to the rules.
    """

    def name(self) -> str:
        return "validate_booking_confirm_form"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") is None:
            return []  # activation: the question is not asked yet
        intent = _intent(tracker)
        if intent == "request_human":
            return []
        if intent == "choose_option" or _latest_entity(tracker, "option"):
            return [*choose(dispatcher, tracker, agent), SlotSet("booking_confirmed", None)]
        visio = _visio_offered(tracker)
        if visio and re.search(r"\bvisio\b", fold(_text(tracker))):
            return [
                *choose_token(dispatcher, tracker, agent, BOOK, visio),
                SlotSet("booking_confirmed", None),
            ]
        answer = yes_or_no(_text(tracker), intent)
        if answer is None:
            dispatcher.utter_message(text=say.ANSWER_YES_OR_NO)
        return [SlotSet("booking_confirmed", answer)]


class ActionAskBookingConfirmed(BookingAction):
    """booking_confirm_form's question: the proposal being confirmed, with yes / no buttons."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    def work(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        question = tracker.get_slot("booking_question") or "Je confirme ?"
        buttons = say.CONFIRM_BUTTONS
        if _visio_offered(tracker):
            buttons = [buttons[0], say.visio_button(tracker.get_slot("booking_trip")), buttons[1]]
        dispatcher.utter_message(text=question, buttons=buttons)
        return []


def _visio_offered(tracker: Tracker) -> str | None:
    """The visio room offered instead of a trip, while the trip is what is asked."""
    offered_trip = tracker.get_slot("booking_trip")
    if tracker.get_slot("booking_action") != BOOK or not isinstance(offered_trip, dict):
        return None
    visio = offered_trip.get("visio")
    return visio if visio and visio != tracker.get_slot("booking_option") else None


class ActionBookingList(AgentAction):
    def name(self) -> str:
        return "action_booking_list"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        bookings = store().upcoming(agent.id, now())
        if not bookings:
            dispatcher.utter_message(response="utter_booking_none")
            return []
        lines = [say.listed_booking(b) for b in bookings]
        dispatcher.utter_message(
            text="Vos réservations à venir :\n" + "\n".join(lines),
            buttons=[
                {"title": "Annuler une réservation", "payload": "/cancel_booking"},
                {"title": "Changer l'heure", "payload": "/change_booking"},
            ],
        )
        return []


def split_request(text: str, clock: datetime, action: str) -> tuple[date | None, BookingRequest]:
    """Which booking a cancel or move names (its day), and, for a move, the new moment.

    "annule celle de jeudi" → (jeudi, –); "décale à 16h" → (None, 16 h);
    "décale ma réservation de jeudi à 16h" → (jeudi, 16 h); "mets-la à 10h demain" →
    (None, demain 10 h).
    """
    if text.startswith("/"):
        return None, BookingRequest()
    if action == CANCEL:
        return parse_request(text, clock).day, BookingRequest()
    folded = fold(text).replace("’", "'").replace("-", " ")
    which = WHICH_DAY.search(folded)
    if which is None:
        return None, parse_request(text, clock, "booking_time")
    day = parse_request(which.group(1), clock).day
    rest = folded[: which.start(1)] + " " + folded[which.end(1) :]
    return day, parse_request(rest, clock, "booking_time")


class _StartOnBooking(AgentAction):
    """Shared by cancel and move: find which of the agent's bookings is meant."""

    action = ""

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        clock = now()
        bookings = store().upcoming(agent.id, clock)
        if not bookings:
            dispatcher.utter_message(response="utter_booking_none")
            return reset_events()
        day, moment = split_request(_text(tracker), clock, self.action)
        site = _latest_entity(tracker, "site")
        candidates = [
            b
            for b in bookings
            if (site is None or b.site == site)
            and (day is None or to_paris(b.start_utc).date() == day)
        ] or bookings
        start: list[EventType] = [*reset_events(), SlotSet("booking_action", self.action)]
        if moment.start is not None:  # the new time of a move, kept until the booking is known
            start.append(SlotSet("booking_time", moment.start.strftime("%H:%M")))
            if moment.day is not None:
                start.append(SlotSet("booking_date", moment.day.isoformat()))
        if len(candidates) == 1:
            return [*start, *choose_booking(dispatcher, agent, candidates[0], self.action, moment)]
        shown = candidates[:MAX_LISTED]
        dispatcher.utter_message(
            text=say.which_booking(self.action), buttons=say.booking_buttons(shown)
        )
        return [*start, SlotSet("booking_choices", [f"booking:{b.key}" for b in shown])]


class ActionBookingCancelStart(_StartOnBooking):
    action = CANCEL

    def name(self) -> str:
        return "action_booking_cancel_start"


class ActionBookingMoveStart(_StartOnBooking):
    action = MOVE

    def name(self) -> str:
        return "action_booking_move_start"


def propose_move(
    dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent, text: str
) -> list[EventType]:
    """The answer to "à quelle heure ?" for a booking being moved."""
    booking = store().get(agent.id, tracker.get_slot("booking_ref") or "")
    if booking is None:
        dispatcher.utter_message(response="utter_booking_not_found")
        return reset_events()
    moment = parse_request(text, now(), "booking_time")
    return move_to(dispatcher, agent, booking, moment, stay_on_failure=True)


def move_to(
    dispatcher: CollectingDispatcher,
    agent: Agent,
    booking: Booking,
    moment: BookingRequest,
    stay_on_failure: bool,
) -> list[EventType]:
    """Propose ``booking`` at the new ``moment`` (same room if free), or alternatives.

    When the moment is unreadable or refused, the question is asked again
    (``stay_on_failure``: the agent is already answering it) or asked for the first time.
    """
    again: list[EventType] = [] if stay_on_failure else [SlotSet("booking_step", STEP_NEW_TIME)]
    if moment.start is None:
        dispatcher.utter_message(text=say.ASK_NEW_TIME)
        return again
    clock = now()
    day = moment.day or to_paris(booking.start_utc).date()
    duration = moment.duration_minutes or int(
        (booking.end_utc - booking.start_utc).total_seconds() // 60
    )
    site = store().site(booking.site)
    if site is None:
        dispatcher.utter_message(response="utter_booking_not_found")
        return reset_events()
    problem = check_when(day, moment.start, duration, clock, site.opening_hours, site.name)
    if problem:
        buttons = say.day_buttons(problem.choices)
        dispatcher.utter_message(text=problem.message + " Quelle autre heure ?", buttons=buttons)
        return again
    start_utc = to_utc(day, moment.start)
    end_utc = start_utc + timedelta(minutes=duration)
    same = Option(booking.room_id, booking.room_name, site.name, start_utc, end_utc, booking.kind)
    if store().is_free(booking.room_id, start_utc, end_utc, ignore_booking=booking.id):
        return [
            *ask_confirmation(same, MOVE, booking.attendees, agent, booking),
            SlotSet("booking_offered", [same.token()]),
        ]
    alternatives = store().alternatives(
        site,
        start_utc,
        end_utc,
        booking.attendees,
        clock,
        preferred_room=booking.room_id,
        ignore_booking=booking.id,
    )
    events = offer_alternatives(dispatcher, alternatives, MOVE, site)
    return [*events, SlotSet("booking_ref", booking.key)]


class ActionBookingMovePropose(AgentAction):
    def name(self) -> str:
        return "action_booking_move_propose"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        return propose_move(dispatcher, tracker, agent, _text(tracker))


class ActionBookingShared(AgentAction):
    """One visio meeting, a room on each site named ("entre Brest, Quimper et Morlaix
    jeudi à 14h pendant 1h"): proposed when every site has a free room, then booked all
    at once with one visio link (``BookingStore.book_group``), or not at all."""

    def name(self) -> str:
        return "action_booking_shared"

    def work_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        clock = now()
        request = parse_request(_text(tracker), clock)
        sites: list[Site] = []
        for value, _ in _places(tracker):
            site = store().site(value)
            if site is not None and site not in sites:
                sites.append(site)
        if len(sites) < 2 or None in (request.day, request.start, request.duration_minutes):
            dispatcher.utter_message(text=say.SHARED_HOW)
            return reset_events()
        start_utc = to_utc(request.day, request.start)
        end_utc = start_utc + timedelta(minutes=request.duration_minutes)
        options, full = [], []
        for site in sites:
            problem = check_when(
                request.day,
                request.start,
                request.duration_minutes,
                clock,
                site.opening_hours,
                site.name,
            )
            if problem:
                dispatcher.utter_message(text=say.nothing_saved(problem.message, BOOK))
                return reset_events()
            option = store().free_room(site, start_utc, end_utc, 1)
            if option is None:
                full.append(site.name)
            else:
                options.append(option)
        if full:
            dispatcher.utter_message(text=say.shared_taken(full, format_span(start_utc, end_utc)))
            return reset_events()
        tokens = [o.token() for o in options]
        return [
            *reset_events(),
            *confirm_events(say.shared_question(options), SHARED),
            SlotSet("booking_option", " ".join(tokens)),
            SlotSet("booking_offered", tokens),
            SlotSet("booking_duration", float(request.duration_minutes)),
        ]
