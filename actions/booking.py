"""Visioconference room booking for agents: form, proposal, confirmation, list, cancel, move.

Flow (rules in ``bot/rules/booking.yml``)::

    book_room ─► action_booking_identify ─┬─ not an agent ─► utter_booking_agents_only
                                          └─ agent ─► booking_form (site, date, time, duration,
                                                      attendees; validate_booking_form)
                                                      └─► action_booking_propose
                       free room ─► "je confirme ?" (booking_step=confirm) ─► affirm/deny
                                    ─► action_booking_answer ─► saved (visio link, .ics) or
                                       taken meanwhile ─► alternatives
                       taken ─► up to 3 alternatives as buttons ─► choose_option
                                    ─► action_booking_choose ─► "je confirme ?"
    list_bookings ─► action_booking_list
    cancel_booking ─► action_booking_cancel_start ─► (choose_option) ─► confirm ─► answer
    change_booking ─► action_booking_move_start ─► (choose_option) ─► new time
                                    (booking_step=new_time, inform) ─► action_booking_move_propose
                                    ─► confirm ─► answer

Only agents of the directory book, and every query is filtered on the agent's id:
nobody sees, cancels or moves another agent's booking.

A ``choose_option`` payload is only a request: the options this conversation offered
are kept in the ``booking_offered`` slot, and at confirmation the option is checked
again (offered, in the future, within the site's hours, large enough; free is the
database's ``UNIQUE`` slot rows). A forged option is refused and nothing is saved.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from datetime import date, datetime, time, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.agents import channel_identity
from actions.booking_rules import check_attendees, check_option, check_when
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
    format_day,
    format_span,
    format_time,
    parse_request,
    to_paris,
    to_utc,
)
from actions.visio import VisioError, provider_from_env
from common.config import ConfigError, database_url, env_str
from common.text import fold

logger = logging.getLogger(__name__)

FORM_SLOTS = ("site", "booking_date", "booking_time", "booking_duration", "booking_attendees")
# The questions booking_form asks (Rasa's form sends them, not our code). Named here so
# that tools/validate excuses them like other responses sent outside stories and rules.
FORM_QUESTIONS = {
    "site": "utter_ask_site",
    "booking_date": "utter_ask_booking_date",
    "booking_time": "utter_ask_booking_time",
    "booking_duration": "utter_ask_booking_duration",
    "booking_attendees": "utter_ask_booking_attendees",
}
STEP_CONFIRM, STEP_NEW_TIME = "confirm", "new_time"
BOOK, CANCEL, MOVE = "book", "cancel", "move"
MAX_LISTED = 5
CONFIRM_BUTTONS = [
    {"title": "Oui, je confirme", "payload": "/affirm"},
    {"title": "Non", "payload": "/deny"},
]
UNAVAILABLE = (
    "Le service de réservation de salles ne répond pas pour le moment, désolé. "
    "Réessayez dans quelques minutes ou contactez la logistique de votre site."
)
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


def now() -> datetime:
    """The current instant (UTC); tests replace this function to freeze the clock."""
    return datetime.now(UTC)


def store() -> BookingStore:
    return get_store(database_url())


def gateway_url() -> str:
    return env_str("GATEWAY_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")


def ics_url(booking: Booking) -> str:
    """The gateway serves ``GET /bookings/{ref}.ics`` (see ``actions.booking.ics_for_ref``)."""
    return f"{gateway_url()}/bookings/{booking.ref}.ics"


def ics_for_ref(ref: str, stamp: datetime | None = None) -> bytes | None:
    """The .ics invitation of a confirmed booking, for the gateway route; ``None`` if unknown."""
    from actions.ics import booking_ics

    booking = store().by_ref(ref)
    if booking is None:
        return None
    return booking_ics(
        uid=f"{booking.ref}@assistant.departement",
        start_utc=booking.start_utc,
        end_utc=booking.end_utc,
        summary=f"Visioconférence – {booking.room_name} ({booking.site})",
        location=f"{booking.room_name}, {booking.site_label}, {booking.address}",
        description=f"Salle {booking.room_name}, {booking.attendees} personnes.\n"
        f"Lien de la visio : {booking.visio_url}",
        url=booking.visio_url,
        stamp=stamp or now(),
    )


def current_agent(tracker: Tracker) -> Agent | None:
    identity = channel_identity(tracker)
    if identity is None:
        return None
    return store().agent_for(*identity)


def booking_line(booking: Booking) -> str:
    return (
        f"{format_span(booking.start_utc, booking.end_utc)} : {booking.room_name} "
        f"à {booking.site} ({booking.attendees} pers.)"
    )


def option_text(option: Option) -> str:
    start = to_paris(option.start_utc)
    return f"{format_day(start.date())} à {format_time(start)}, {option.room_name}"


def alternative_buttons(options: list[Option] | tuple[Option, ...]) -> list[dict[str, str]]:
    return [
        {"title": option_text(o), "payload": f'/choose_option{{"option":"{o.token()}"}}'}
        for o in options
    ]


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
        )
    ]


def _latest_entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


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


class AgentAction(Action, ABC):
    """An action for agents only: anyone else gets the polite "staff only" answer."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        agent = current_agent(tracker)
        if agent is None:
            dispatcher.utter_message(response="utter_booking_agents_only")
            return reset_events()
        return await self.run_for_agent(dispatcher, tracker, agent)

    @abstractmethod
    async def run_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]: ...


class ActionBookingIdentify(Action):
    """Check the directory; for an agent, start a fresh request (keeping what this message says)."""

    def name(self) -> str:
        return "action_booking_identify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            agent = current_agent(tracker)
        except SQLAlchemyError:
            logger.exception("agent directory unavailable")
            dispatcher.utter_message(text=UNAVAILABLE)
            return [SlotSet("booking_agent", False)]
        events: list[EventType] = [SlotSet("booking_agent", agent is not None)]
        events += [e for e in reset_events() if e["name"] != "site"]
        if _latest_entity(tracker, "site") is None:
            events.append(SlotSet("site", None))
        return events


class ValidateBookingForm(Action):
    """Read every booking detail from each message, in any order, and check them together."""

    def name(self) -> str:
        return "validate_booking_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        clock = now()
        parsed = parse_request(text, clock, requested) if not text.startswith("/") else None
        updates: dict[str, Any] = {}
        if parsed is not None:
            if parsed.day is not None:
                updates["booking_date"] = parsed.day.isoformat()
            if parsed.start is not None:
                updates["booking_time"] = parsed.start.strftime("%H:%M")
            if parsed.duration_minutes is not None:
                updates["booking_duration"] = float(parsed.duration_minutes)
            if parsed.attendees is not None:
                updates["booking_attendees"] = float(parsed.attendees)
        site_name = tracker.get_slot("site")
        site_given = "site" in tracker.slots_to_validate()
        if not updates and not site_given:
            if intent in {"deny", "request_human"} or requested is None:
                return []  # let the rules stop the form (or nothing to check at activation)
            dispatcher.utter_message(response="utter_booking_not_understood")
            return [SlotSet(requested, None)]

        try:
            site = store().site(site_name) if site_name else None
        except SQLAlchemyError:
            logger.exception("rooms unavailable")
            dispatcher.utter_message(text=UNAVAILABLE)
            site = None
        if site_name and site is None:
            dispatcher.utter_message(
                text=f"Je ne connais pas de salle de visioconférence à {site_name}."
            )
            updates["site"] = None
        elif site is not None and (site_given or site.name != site_name):
            updates["site"] = site.name

        merged = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS} | updates
        day = date.fromisoformat(merged["booking_date"]) if merged["booking_date"] else None
        start = time.fromisoformat(merged["booking_time"]) if merged["booking_time"] else None
        duration = merged["booking_duration"]
        attendees = merged["booking_attendees"]
        problem = check_when(
            day,
            start,
            int(duration) if duration is not None else None,
            clock,
            site.opening_hours if site else None,
            site.name if site else None,
        ) or check_attendees(
            int(attendees) if attendees is not None else None,
            site.max_capacity if site else None,
            site.name if site else None,
        )
        if problem:
            dispatcher.utter_message(text=problem.message)
            updates[problem.slot] = None
        return [SlotSet(slot, value) for slot, value in updates.items()]


class ActionBookingPropose(Action):
    """The form is complete: propose the free room, or up to three alternatives."""

    def name(self) -> str:
        return "action_booking_propose"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        day, start, duration, attendees = _form_values(tracker)
        site_name = tracker.get_slot("site")
        if None in (day, start, duration, attendees) or not site_name:
            return reset_events()
        start_utc = to_utc(day, start)
        end_utc = start_utc + timedelta(minutes=duration)
        try:
            site = store().site(site_name)
            if site is None:
                dispatcher.utter_message(
                    text=f"Je ne connais pas de salle de visioconférence à {site_name}."
                )
                return reset_events()
            option = store().free_room(site, start_utc, end_utc, attendees)
            alternatives = (
                [] if option else store().alternatives(site, start_utc, end_utc, attendees, now())
            )
        except SQLAlchemyError:
            logger.exception("availability unavailable")
            dispatcher.utter_message(text=UNAVAILABLE)
            return reset_events()
        if option:
            dispatcher.utter_message(
                text=(
                    f"« {option.room_name} » ({site.label}) est libre "
                    f"{format_span(start_utc, end_utc)}, pour {attendees} "
                    f"personne{'s' if attendees > 1 else ''}. Je la réserve ?"
                ),
                buttons=CONFIRM_BUTTONS,
            )
            return [
                SlotSet("booking_step", STEP_CONFIRM),
                SlotSet("booking_action", BOOK),
                SlotSet("booking_option", option.token()),
                SlotSet("booking_offered", [option.token()]),
            ]
        return offer_alternatives(dispatcher, alternatives, BOOK, site)


def offer_alternatives(
    dispatcher: CollectingDispatcher,
    alternatives: list[Option] | tuple,
    action: str,
    site: Site | None,
) -> list[EventType]:
    if not alternatives:
        where = f" à {site.name}" if site else ""
        dispatcher.utter_message(
            text=(
                f"Ce créneau est déjà pris et je ne trouve pas d'autre salle libre{where} "
                "ces prochains jours. Essayez un autre jour ou un autre site."
            )
        )
        return [*reset_events()]
    dispatcher.utter_message(
        text="Ce créneau est déjà pris. Voici d'autres possibilités :",
        buttons=alternative_buttons(alternatives),
    )
    return [
        SlotSet("booking_step", None),
        SlotSet("booking_action", action),
        SlotSet("booking_choices", [o.token() for o in alternatives]),
        SlotSet("booking_offered", [o.token() for o in alternatives]),
    ]


def ask_confirmation(
    dispatcher: CollectingDispatcher,
    option: Option,
    action: str,
    attendees: int | None,
    booking: Booking | None = None,
) -> list[EventType]:
    span = format_span(option.start_utc, option.end_utc)
    if action == MOVE and booking is not None:
        text = (
            f"Je déplace votre réservation de « {booking.room_name} » au {span}"
            + (f", dans « {option.room_name} »" if option.room_id != booking.room_id else "")
            + ". Je confirme ?"
        )
    else:
        people = (
            f", pour {attendees} personne{'s' if (attendees or 0) > 1 else ''}" if attendees else ""
        )
        text = f"Je réserve « {option.room_name} » à {option.site}, {span}{people}. Je confirme ?"
    dispatcher.utter_message(text=text, buttons=CONFIRM_BUTTONS)
    return [
        SlotSet("booking_step", STEP_CONFIRM),
        SlotSet("booking_action", action),
        SlotSet("booking_option", option.token()),
    ]


NOT_OFFERED = (
    "Ce créneau ne fait pas partie de ceux que je vous ai proposés : je n'ai rien "
    "réservé. Choisissez l'un des boutons ou demandez-moi un autre horaire."
)


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
) -> str | None:
    """Why the option about to be saved must not be, whatever the client sent; or None."""
    if token not in offered(tracker):
        return NOT_OFFERED
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
    if problem is None:
        return None
    return f"{problem} Je n'ai rien réservé : demandez-moi un autre créneau."


class ActionBookingChoose(AgentAction):
    """A button (or "la deuxième") picked an alternative slot or one of the agent's bookings."""

    def name(self) -> str:
        return "action_booking_choose"

    async def run_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        action = tracker.get_slot("booking_action")
        if action == MOVE and tracker.get_slot("booking_step") == STEP_NEW_TIME:
            return await propose_move(dispatcher, tracker, agent)
        choice = _latest_entity(tracker, "option")
        choices = tracker.get_slot("booking_choices") or []
        if choice is None:
            index = ordinal_choice(tracker.latest_message.get("text") or "")
            if index is not None and -len(choices) <= index < len(choices):
                choice = choices[index]
        if choice is None or action not in (BOOK, CANCEL, MOVE):
            dispatcher.utter_message(response="utter_booking_choice_unknown")
            return []
        if str(choice).startswith("booking:"):
            booking = store().get(agent.id, int(str(choice).split(":", 1)[1]))
            if booking is None or booking.status != "confirmed":
                dispatcher.utter_message(response="utter_booking_not_found")
                return reset_events()
            return choose_booking(dispatcher, booking, action)
        token = parse_token(str(choice))
        if token is None:
            dispatcher.utter_message(response="utter_booking_choice_unknown")
            return []
        if str(choice) not in offered(tracker):
            dispatcher.utter_message(text=NOT_OFFERED)
            return []
        room_id, start_utc = token
        attendees = tracker.get_slot("booking_attendees")
        booking = None
        if action == MOVE:
            booking = store().get(agent.id, int(tracker.get_slot("booking_ref") or 0))
            if booking is None:
                dispatcher.utter_message(response="utter_booking_not_found")
                return reset_events()
            length = booking.end_utc - booking.start_utc
            site_name = booking.site
        else:
            length = timedelta(minutes=float(tracker.get_slot("booking_duration") or 60))
            site_name = tracker.get_slot("site") or ""
        site = store().site(site_name)
        room = site.room(room_id) if site else None
        if room is None:
            dispatcher.utter_message(response="utter_booking_choice_unknown")
            return []
        option = Option(room.id, room.name, site.name, start_utc, start_utc + length)
        return ask_confirmation(
            dispatcher, option, action, int(attendees) if attendees else None, booking
        )


def choose_booking(
    dispatcher: CollectingDispatcher, booking: Booking, action: str
) -> list[EventType]:
    if action == CANCEL:
        dispatcher.utter_message(
            text=f"J'annule votre réservation du {booking_line(booking)} ?",
            buttons=CONFIRM_BUTTONS,
        )
        return [
            SlotSet("booking_step", STEP_CONFIRM),
            SlotSet("booking_action", CANCEL),
            SlotSet("booking_ref", str(booking.id)),
        ]
    dispatcher.utter_message(
        text=(
            f"Votre réservation : {booking_line(booking)}. À quelle heure voulez-vous "
            "la déplacer ? Vous pouvez aussi donner un autre jour, par exemple "
            "« jeudi à 10h »."
        )
    )
    return [
        SlotSet("booking_step", STEP_NEW_TIME),
        SlotSet("booking_action", MOVE),
        SlotSet("booking_ref", str(booking.id)),
    ]


class ActionBookingAnswer(AgentAction):
    """Yes or no to "je confirme ?": save, cancel or move — or do nothing."""

    def name(self) -> str:
        return "action_booking_answer"

    async def run_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        action = tracker.get_slot("booking_action")
        if intent != "affirm":
            dispatcher.utter_message(response="utter_booking_nothing_done")
            return reset_events()
        try:
            if action == BOOK:
                return self.book(dispatcher, tracker, agent)
            if action == CANCEL:
                return self.cancel(dispatcher, tracker, agent)
            if action == MOVE:
                return self.move(dispatcher, tracker, agent)
        except (SQLAlchemyError, VisioError, ConfigError):
            logger.exception("booking action %s failed", action)
            dispatcher.utter_message(text=UNAVAILABLE)
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
        site = store().site(tracker.get_slot("site") or "")
        problem = refusal(tracker, chosen, site, start_utc, end_utc, int(attendees))
        if problem:
            dispatcher.utter_message(text=problem)
            return reset_events()
        clock = now()
        visio = provider_from_env().create("Réunion", start_utc, end_utc)
        outcome = store().book(agent.id, room_id, start_utc, end_utc, int(attendees), visio, clock)
        if outcome.booking is None:
            return offer_alternatives(dispatcher, outcome.alternatives, BOOK, site)
        booking = outcome.booking
        dispatcher.utter_message(
            text=(
                f"C'est réservé : « {booking.room_name} », {booking.site_label}, "
                f"{format_span(booking.start_utc, booking.end_utc)}, pour "
                f"{booking.attendees} personne{'s' if booking.attendees > 1 else ''}.\n"
                f"Lien de la visio : {booking.visio_url}\n"
                f"Invitation pour votre agenda (.ics) : {ics_url(booking)}"
            )
        )
        return reset_events()

    @staticmethod
    def cancel(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
        booking_id = int(tracker.get_slot("booking_ref") or 0)
        booking = store().get(agent.id, booking_id)
        if booking is None or not store().cancel(agent.id, booking_id, now()):
            dispatcher.utter_message(response="utter_booking_not_found")
            return reset_events()
        dispatcher.utter_message(
            text=f"C'est annulé : {booking_line(booking)}. La salle est libérée."
        )
        return reset_events()

    @staticmethod
    def move(dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent) -> list[EventType]:
        chosen = tracker.get_slot("booking_option") or ""
        token = parse_token(chosen)
        booking = store().get(agent.id, int(tracker.get_slot("booking_ref") or 0))
        if token is None or booking is None:
            dispatcher.utter_message(response="utter_booking_not_found")
            return reset_events()
        room_id, start_utc = token
        end_utc = start_utc + (booking.end_utc - booking.start_utc)
        site = store().site(booking.site)
        problem = refusal(tracker, chosen, site, start_utc, end_utc, booking.attendees)
        if problem:
            dispatcher.utter_message(text=problem.replace("rien réservé", "rien changé"))
            return reset_events()
        outcome = store().move(agent.id, booking.id, room_id, start_utc, end_utc, now())
        if outcome.booking is None:
            if not outcome.alternatives and store().get(agent.id, booking.id) is None:
                dispatcher.utter_message(response="utter_booking_not_found")
                return reset_events()
            events = offer_alternatives(
                dispatcher, outcome.alternatives, MOVE, store().site(booking.site)
            )
            return [*events, SlotSet("booking_ref", str(booking.id))]
        moved = outcome.booking
        dispatcher.utter_message(
            text=(
                f"C'est fait : votre réservation est maintenant le "
                f"{format_span(moved.start_utc, moved.end_utc)}, « {moved.room_name} » "
                f"à {moved.site}. Le lien de la visio ne change pas : {moved.visio_url}\n"
                f"Invitation mise à jour (.ics) : {ics_url(moved)}"
            )
        )
        return reset_events()


class ActionBookingList(AgentAction):
    def name(self) -> str:
        return "action_booking_list"

    async def run_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        bookings = store().upcoming(agent.id, now())
        if not bookings:
            dispatcher.utter_message(response="utter_booking_none")
            return []
        lines = [f"- {booking_line(b)}\n  visio : {b.visio_url}" for b in bookings]
        dispatcher.utter_message(
            text="Vos réservations à venir :\n" + "\n".join(lines),
            buttons=[
                {"title": "Annuler une réservation", "payload": "/cancel_booking"},
                {"title": "Changer l'heure", "payload": "/change_booking"},
            ],
        )
        return []


def _matching_bookings(tracker: Tracker, bookings: list[Booking]) -> list[Booking]:
    """Narrow the agent's bookings with the site and the day named in the message, if any."""
    site = _latest_entity(tracker, "site")
    text = tracker.latest_message.get("text") or ""
    day = None if text.startswith("/") else parse_request(text, now()).day
    found = [
        b
        for b in bookings
        if (site is None or b.site == site) and (day is None or to_paris(b.start_utc).date() == day)
    ]
    return found or bookings


class _StartOnBooking(AgentAction):
    """Shared by cancel and move: find which of the agent's bookings is meant."""

    action = ""

    async def run_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        bookings = store().upcoming(agent.id, now())
        if not bookings:
            dispatcher.utter_message(response="utter_booking_none")
            return reset_events()
        candidates = _matching_bookings(tracker, bookings)
        if len(candidates) == 1:
            return [*reset_events(), *choose_booking(dispatcher, candidates[0], self.action)]
        shown = candidates[:MAX_LISTED]
        question = (
            "Quelle réservation voulez-vous annuler ?"
            if self.action == CANCEL
            else "Quelle réservation voulez-vous déplacer ?"
        )
        dispatcher.utter_message(
            text=question,
            buttons=[
                {
                    "title": booking_line(b),
                    "payload": f'/choose_option{{"option":"booking:{b.id}"}}',
                }
                for b in shown
            ],
        )
        return [
            *reset_events(),
            SlotSet("booking_action", self.action),
            SlotSet("booking_choices", [f"booking:{b.id}" for b in shown]),
        ]


class ActionBookingCancelStart(_StartOnBooking):
    action = CANCEL

    def name(self) -> str:
        return "action_booking_cancel_start"


class ActionBookingMoveStart(_StartOnBooking):
    action = MOVE

    def name(self) -> str:
        return "action_booking_move_start"


async def propose_move(
    dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
) -> list[EventType]:
    booking = store().get(agent.id, int(tracker.get_slot("booking_ref") or 0))
    if booking is None:
        dispatcher.utter_message(response="utter_booking_not_found")
        return reset_events()
    clock = now()
    parsed = parse_request(tracker.latest_message.get("text") or "", clock, "booking_time")
    if parsed.start is None:
        dispatcher.utter_message(
            text="Je n'ai pas compris l'heure. Dites par exemple « à 15h » ou « jeudi à 10h »."
        )
        return []
    local_start = to_paris(booking.start_utc)
    day = parsed.day or local_start.date()
    duration = parsed.duration_minutes or int(
        (booking.end_utc - booking.start_utc).total_seconds() // 60
    )
    site = store().site(booking.site)
    if site is None:
        dispatcher.utter_message(response="utter_booking_not_found")
        return reset_events()
    problem = check_when(day, parsed.start, duration, clock, site.opening_hours, site.name)
    if problem:
        dispatcher.utter_message(text=problem.message + " Quelle autre heure ?")
        return []
    start_utc = to_utc(day, parsed.start)
    end_utc = start_utc + timedelta(minutes=duration)
    same = Option(booking.room_id, booking.room_name, site.name, start_utc, end_utc)
    if store().is_free(booking.room_id, start_utc, end_utc, ignore_booking=booking.id):
        return [
            *ask_confirmation(dispatcher, same, MOVE, booking.attendees, booking),
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
    return [*events, SlotSet("booking_ref", str(booking.id))]


class ActionBookingMovePropose(AgentAction):
    def name(self) -> str:
        return "action_booking_move_propose"

    async def run_for_agent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, agent: Agent
    ) -> list[EventType]:
        return await propose_move(dispatcher, tracker, agent)
