"""The .ics invitation (RFC 5545) of a booking, as bytes; times in UTC so DST cannot shift them."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Departement//Assistant reservation de salles//FR"


def booking_ics(
    *,
    uid: str,
    start_utc: datetime,
    end_utc: datetime,
    summary: str,
    location: str,
    description: str,
    url: str,
    stamp: datetime,
    organizer_email: str = "",
    organizer_name: str = "",
    cancelled: bool = False,
    sequence: int = 0,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start_utc)
    event.add("dtend", end_utc)
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if organizer_email:
        organizer = vCalAddress(f"mailto:{organizer_email}")
        organizer.params["cn"] = vText(organizer_name)
        event.add("organizer", organizer)
    calendar.add_component(event)
    return calendar.to_ical()
