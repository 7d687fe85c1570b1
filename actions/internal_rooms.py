"""Visio rooms that work: a room's how-to on request, and fault reports.

"la salle Odet ne marche pas" gives the room's how-to and files a fault report: a bot
message whose custom payload ``{"fault_report": {...}}`` the gateway turns into a ticket
for the site's contact (``integrations/fault_reports.py``), with the room and the agent's
booking of it; the person never sees the payload, only the gateway's confirmation. The
action server never writes the gateway's tables.

The room comes from a button (entity ``room``), from the words ("salle iroise hs"), from
the site when it has one room, else from the agent's booking under way.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context, room_help
from actions.booking_store import Booking
from actions.datetime_fr import format_span
from actions.internal import Staff, staff, staff_only
from common.content import ContentError

logger = logging.getLogger(__name__)

FAULT_KEY = "fault_report"
ROOM_ENTITY = "room"
# A booking counts as "the one under way" from this long before its start.
SOON = timedelta(hours=1)
UNAVAILABLE = (
    "Je ne trouve pas les informations des salles pour le moment, désolé. "
    "Appelez l'accueil de votre site."
)
NO_HOWTO = "Je n'ai pas encore de mode d'emploi pour cette salle. Appelez l'accueil de votre site."


def current_booking(
    bookings: list[Booking], now: datetime, room_code: str | None
) -> Booking | None:
    """The agent's booking under way or starting within the hour (of that room)."""
    for booking in bookings:
        if booking.start_utc - SOON <= now < booking.end_utc and (
            room_code is None or booking.room_id == room_code
        ):
            return booking
    return None


def agent_bookings(agent: Staff) -> tuple[list[Booking], datetime]:
    from actions import booking

    now = booking.now()
    if agent.agent_id is None:
        return [], now
    return booking.store().upcoming(agent.agent_id, now), now


def which_room(
    tracker: Tracker, agent: Staff
) -> tuple[room_help.RoomInfo | None, Booking | None, str | None]:
    """The room meant, the agent's booking of it under way (if any), and the site named."""
    code = next(tracker.get_latest_entity_values(ROOM_ENTITY), None)
    site = next(tracker.get_latest_entity_values("site"), None)
    text = tracker.latest_message.get("text") or ""
    found = room_help.room(code) if code else room_help.room_in_words(text, site)
    bookings, now = agent_bookings(agent)
    under_way = current_booking(bookings, now, found.code if found else None)
    if found is None and under_way is not None and not site:
        found = room_help.room(under_way.room_id)
    return found, under_way, site


def room_buttons(intent: str, site: str | None) -> list[dict[str, str]]:
    return [
        {
            "title": f"{r.name} ({r.site})",
            "payload": f'/{intent}{{"{ROOM_ENTITY}":"{r.code}"}}',
        }
        for r in room_help.rooms_of_site(site) or room_help.rooms()
    ]


def fault_payload(
    room: room_help.RoomInfo, booking: Booking | None, agent: Staff, message: str
) -> dict[str, Any]:
    reporter = f"{agent.name} ({agent.email})" if agent.email else agent.name
    return {
        FAULT_KEY: {
            "room": room.code,
            "room_name": room.name,
            "site": room.site_label,
            "contact": room_help.site_contact(room.site) or "",
            "booking": (
                f"{booking.ref} — {format_span(booking.start_utc, booking.end_utc)}"
                if booking
                else ""
            ),
            "reporter": reporter,
            "message": message[:500],
        }
    }


class RoomAction(Action, ABC):
    """Shared run: staff only, the room found or asked for."""

    intent = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            agent = staff(tracker)
            if agent is None:
                return staff_only(dispatcher)
            room, booking, site = await asyncio.to_thread(which_room, tracker, agent)
            if room is None:
                dispatcher.utter_message(
                    text="De quelle salle s'agit-il ?", buttons=room_buttons(self.intent, site)
                )
                return []
            self.answer(dispatcher, tracker, agent, room, booking)
        except (ContentError, KeyError, TypeError, AttributeError, OSError):
            logger.exception("room data unusable")
            dispatcher.utter_message(text=UNAVAILABLE)
            return []
        return [SlotSet(context.LAST_TOPIC, None)]

    def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        agent: Staff,
        room: room_help.RoomInfo,
        booking: Booking | None,
    ) -> None: ...


class ActionRoomHowto(RoomAction):
    intent = "ask_room_howto"

    def name(self) -> str:
        return "action_room_howto"

    def answer(self, dispatcher, tracker, agent, room, booking) -> None:  # type: ignore[no-untyped-def]
        dispatcher.utter_message(text=room_help.room_howto(room.code) or NO_HOWTO)


class ActionRoomFault(RoomAction):
    intent = "report_room_fault"

    def name(self) -> str:
        return "action_room_fault"

    def answer(self, dispatcher, tracker, agent, room, booking) -> None:  # type: ignore[no-untyped-def]
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):  # a button: the words were in an earlier message
            text = next(
                (
                    e.get("text") or ""
                    for e in reversed(tracker.events)
                    if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")
                ),
                "",
            )
        dispatcher.utter_message(json_message=fault_payload(room, booking, agent, text))
        howto = room_help.room_howto(room.code)
        if howto:
            dispatcher.utter_message(text=f"En attendant, voici ce qui aide souvent :\n{howto}")
