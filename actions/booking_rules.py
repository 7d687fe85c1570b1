"""Pure booking rules: opening hours, what a request still lacks, what is wrong with it.

No database and no clock here: callers pass ``now``, which keeps these rules easy
to test on both sides of a daylight-saving change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from dateutil.easter import easter
from opening_hours import OpeningHours, State

from actions.datetime_fr import PARIS, UTC, WEEKDAYS, format_day, to_utc

MIN_DURATION, MAX_DURATION = 15, 10 * 60
MAX_DAYS_AHEAD = 365
NEXT_OPEN_DAYS = 3
# France's public holidays (those "PH off" closes), fixed ones by (month, day).
FIXED_HOLIDAYS = {
    (1, 1): "jour de l'An",
    (5, 1): "fête du Travail",
    (5, 8): "Victoire 1945",
    (7, 14): "fête nationale",
    (8, 15): "Assomption",
    (11, 1): "Toussaint",
    (11, 11): "Armistice 1918",
    (12, 25): "Noël",
}
EASTER_HOLIDAYS = {1: "lundi de Pâques", 39: "Ascension", 50: "lundi de Pentecôte"}


@lru_cache(maxsize=64)
def _hours(expression: str) -> OpeningHours:
    # The country gives the public holidays that "PH off" closes.
    return OpeningHours(
        expression, timezone=None, country="FR", auto_country=False, auto_timezone=False
    )


def _local(instant: datetime) -> datetime:
    return instant.astimezone(PARIS).replace(tzinfo=None)


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=PARIS).astimezone(UTC)


def is_open(expression: str, start_utc: datetime, end_utc: datetime) -> bool:
    """Whether the site is open during the whole of [start, end) (Paris wall-clock time)."""
    start, end = _local(start_utc), _local(end_utc)
    if end <= start:
        return False
    return all(state == State.OPEN for _, _, state, _ in _hours(expression).intervals(start, end))


def opening_days(
    expression: str, around_utc: datetime, count: int
) -> list[tuple[datetime, datetime]]:
    """The open intervals (UTC) of the day of ``around_utc`` and of the next opening days.

    At most ``count`` days that have opening hours, looking no more than three weeks ahead.
    """
    first_day = datetime.combine(_local(around_utc).date(), time(0, 0))
    intervals: list[tuple[datetime, datetime]] = []
    days: set[date] = set()
    for start, end, state, _ in _hours(expression).intervals(
        first_day, first_day + timedelta(days=21)
    ):
        if state != State.OPEN:
            continue
        if start.date() not in days and len(days) == count:
            break
        days.add(start.date())
        intervals.append((_utc(start), _utc(end)))
    return intervals


def public_holiday(day: date) -> str | None:
    """The French name of the public holiday on ``day`` ("Noël"), or ``None``."""
    fixed = FIXED_HOLIDAYS.get((day.month, day.day))
    if fixed:
        return fixed
    return EASTER_HOLIDAYS.get((day - easter(day.year)).days)


def is_open_on(expression: str, day: date) -> bool:
    """Whether the site opens at all on ``day`` (Paris time)."""
    start = datetime.combine(day, time(0, 0))
    return any(
        state == State.OPEN
        for _, _, state, _ in _hours(expression).intervals(start, start + timedelta(days=1))
    )


def next_open_days(expression: str, after: date, count: int = NEXT_OPEN_DAYS) -> list[date]:
    """The first ``count`` days after ``after`` when the site opens (three weeks at most)."""
    days = [after + timedelta(days=n) for n in range(1, 22)]
    return [day for day in days if is_open_on(expression, day)][:count]


def closed_day_reason(expression: str, day: date, site: str | None) -> str | None:
    """Why the site is closed all day on ``day`` (« fermé le samedi », « jour férié : Noël »)."""
    if is_open_on(expression, day):
        return None
    where = f"Le site de {site}" if site else "Le site"
    holiday = public_holiday(day)
    if holiday:
        return f"{where} est fermé le {format_day(day)} : jour férié ({holiday})."
    weekday = WEEKDAYS[day.weekday()]
    if not any(is_open_on(expression, day + timedelta(weeks=n)) for n in range(1, 5)):
        return f"{where} est fermé le {weekday}."
    return f"{where} est fermé le {format_day(day)}."


def describe_hours(expression: str) -> str:
    """The OSM expression in French words, good enough for "le site est ouvert …"."""
    words = {
        "Mo": "lundi",
        "Tu": "mardi",
        "We": "mercredi",
        "Th": "jeudi",
        "Fr": "vendredi",
        "Sa": "samedi",
        "Su": "dimanche",
    }
    parts = []
    for rule in expression.split(";"):
        rule = rule.strip()
        if not rule or rule.endswith("off") or rule.endswith("closed"):
            continue
        days, _, hours = rule.partition(" ")
        first, _, last = days.partition("-")
        when = (
            f"du {words.get(first, first)} au {words.get(last, last)}"
            if last
            else f"le {words.get(first, first)}"
        )
        spans = []
        for span in hours.split(","):
            opens, _, closes = span.partition("-")
            spans.append(f"{_clock_fr(opens)} à {_clock_fr(closes)}")
        parts.append(f"{when} de " + " et de ".join(spans))
    return ", ".join(parts) or expression


def _clock_fr(hhmm: str) -> str:
    hours, _, minutes = hhmm.strip().partition(":")
    return f"{int(hours)} h" if minutes in ("", "00") else f"{int(hours)} h {minutes}"


@dataclass(frozen=True)
class Problem:
    """Why a value cannot be kept: the slot to ask again and the French explanation."""

    slot: str
    message: str
    # Days to offer instead (the next open days after a closed one).
    choices: tuple[date, ...] = ()


def check_when(
    day: date | None,
    start: time | None,
    duration: int | None,
    now: datetime,
    opening_hours: str | None,
    site: str | None,
) -> Problem | None:
    """Check the date, time and duration known so far; the first problem found, if any."""
    today = now.astimezone(PARIS).date()
    if day is not None and day < today:
        return Problem("booking_date", "Cette date est déjà passée.")
    if day is not None and day > today + timedelta(days=MAX_DAYS_AHEAD):
        return Problem("booking_date", "Je ne peux pas réserver plus d'un an à l'avance.")
    if day is not None and opening_hours:
        closed = closed_day_reason(opening_hours, day, site)
        if closed:
            return Problem(
                "booking_date",
                closed,
                tuple(next_open_days(opening_hours, max(day, today - timedelta(days=1)))),
            )
    if duration is not None and not MIN_DURATION <= duration <= MAX_DURATION:
        return Problem(
            "booking_duration", "La durée doit être comprise entre 15 minutes et 10 heures."
        )
    if day is None or start is None:
        return None
    start_utc = to_utc(day, start)
    if start_utc <= now:
        return Problem("booking_time", "Cette heure est déjà passée.")
    if opening_hours and duration is not None:
        end_utc = start_utc + timedelta(minutes=duration)
        if not is_open(opening_hours, start_utc, end_utc):
            return Problem(
                "booking_time",
                f"Le site de {site} n'est pas ouvert sur tout ce créneau : il est ouvert "
                f"{describe_hours(opening_hours)}.",
            )
    return None


def check_attendees(
    attendees: int | None, max_capacity: int | None, site: str | None, kind: str = "room"
) -> Problem | None:
    if attendees is None:
        return None
    if attendees < 1:
        return Problem("booking_attendees", "Il faut au moins une personne.")
    if kind == "vehicle" and max_capacity is not None and attendees > max_capacity:
        if max_capacity == 0:
            return Problem(
                "booking_attendees", f"Le site de {site} n'a pas de véhicule de service."
            )
        return Problem(
            "booking_attendees",
            f"Le plus grand véhicule de {site} a {max_capacity} places : "
            "réduisez le nombre de passagers ou prenez deux véhicules.",
        )
    if max_capacity is not None and attendees > max_capacity:
        return Problem(
            "booking_attendees",
            f"La plus grande salle de {site} accueille {max_capacity} personnes : "
            "réduisez le nombre de participants ou choisissez un autre site.",
        )
    return None


def check_option(
    start_utc: datetime,
    end_utc: datetime,
    now: datetime,
    opening_hours: str,
    site: str,
    room_name: str,
    capacity: int,
    attendees: int | None,
) -> str | None:
    """Why a room at a time cannot be booked, whatever the client sent; None when it can.

    Checked again at confirmation because a button payload is only a request: it may
    name a time never offered, already past, outside the site's hours (public holidays
    closed) or a room too small.
    """
    if start_utc <= now:
        return "Ce créneau est déjà passé."
    if start_utc > now + timedelta(days=MAX_DAYS_AHEAD):
        return "Je ne peux pas réserver plus d'un an à l'avance."
    minutes = (end_utc - start_utc).total_seconds() / 60
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        return "La durée doit être comprise entre 15 minutes et 10 heures."
    if not is_open(opening_hours, start_utc, end_utc):
        holidays = ", et fermé les jours fériés" if "PH off" in opening_hours else ""
        return (
            f"Le site de {site} n'est pas ouvert sur tout ce créneau : il est ouvert "
            f"{describe_hours(opening_hours)}{holidays}."
        )
    if attendees is None or attendees < 1:
        return "Il faut au moins une personne."
    if attendees > capacity:
        return f"La salle « {room_name} » accueille {capacity} personnes au plus, pas {attendees}."
    return None
