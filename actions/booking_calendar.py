"""The calendar invitation (.ics) of a booking, served at ``GET /bookings/{ref}.ics``.

One link per booking, for its whole life: the same UID throughout, a SEQUENCE raised
on every move and on the cancellation (RFC 5545), so that a calendar that subscribed
or imported it again replaces the event in place; a cancelled booking is served as
``METHOD:CANCEL`` / ``STATUS:CANCELLED`` rather than disappearing.
"""

from __future__ import annotations

from datetime import datetime

from actions.booking_store import CANCELLED, Booking, get_store
from actions.datetime_fr import UTC
from actions.ics import booking_ics
from common.config import database_url, env_str

UID_DOMAIN = "assistant.departement"


def gateway_url() -> str:
    return env_str("GATEWAY_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")


def ics_url(booking: Booking) -> str:
    """The public link of the booking's invitation (the gateway serves it)."""
    return f"{gateway_url()}/bookings/{booking.ref}.ics"


def booking_calendar(booking: Booking, stamp: datetime) -> str:
    """The invitation as RFC 5545 text: the event, or its cancellation."""
    plural = "s" if booking.attendees > 1 else ""
    if booking.kind == "vehicle":
        towards = f" pour {booking.destination}" if booking.destination else ""
        summary = f"Voiture de service – {booking.room_name}{towards}"
        description = f"{booking.room_name}, site de {booking.site}. Clés : {booking.key_place}."
    else:
        summary = f"Visioconférence – {booking.room_name} ({booking.site})"
        description = (
            f"{booking.room_name}, {booking.attendees} personne{plural}.\n"
            f"Lien de la visio : {booking.visio_url}"
        )
    return booking_ics(
        uid=f"{booking.ref}@{UID_DOMAIN}",
        start_utc=booking.start_utc,
        end_utc=booking.end_utc,
        summary=summary,
        location=f"{booking.room_name}, {booking.site_label}, {booking.address}",
        description=description,
        url=booking.visio_url or ics_url(booking),
        stamp=stamp,
        cancelled=booking.status == CANCELLED,
        sequence=booking.sequence,
    ).decode("utf-8")


def ics_for_ref(ref: str, stamp: datetime | None = None) -> str | None:
    """The invitation of the booking ``ref`` (cancelled ones as a CANCEL); ``None`` if unknown.

    ``stamp`` is the DTSTAMP (now unless given: tests give it).
    """
    booking = get_store(database_url()).by_ref(ref)
    if booking is None:
        return None
    return booking_calendar(booking, stamp or datetime.now(UTC))
