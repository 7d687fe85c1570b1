"""Opening hours in OSM ``opening_hours`` format, evaluated in Europe/Paris, said in French.

The national schema of digital mediation places stores ``horaires`` in the
OpenStreetMap syntax (``Mo-Fr 09:00-12:00,14:00-17:00; PH off``). ``PH`` means
French public holidays (calendar shipped with ``opening_hours_py``).

Pure functions: the caller passes ``now`` so tests can freeze the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State

from common.config import TIMEZONE

PARIS = ZoneInfo(TIMEZONE)
COUNTRY = "FR"
# Beyond this, "next opening" is not worth announcing (seasonal places, typos…).
HORIZON = timedelta(days=31)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


class HoursError(ValueError):
    """``horaires`` is not a valid OSM opening_hours expression."""


@dataclass(frozen=True)
class Availability:
    """Where a place stands at ``now``: open (until when) or closed (until when)."""

    known: bool
    open_now: bool = False
    closes_at: datetime | None = None
    next_opening: datetime | None = None


def parse(horaires: str) -> OpeningHours:
    """The parsed expression, for French places and public holidays."""
    try:
        return OpeningHours(horaires.strip(), timezone=PARIS, country=COUNTRY)
    except (ParserError, SyntaxError, ValueError) as err:
        raise HoursError(f"horaires invalides : {horaires!r}") from err


def is_valid(horaires: str) -> bool:
    try:
        parse(horaires)
    except HoursError:
        return False
    return True


def availability(horaires: str | None, now: datetime) -> Availability:
    """Open now? Until when? When does it open next? ``known=False`` without usable hours."""
    if not horaires or not horaires.strip():
        return Availability(known=False)
    try:
        oh = parse(horaires)
    except HoursError:
        return Availability(known=False)
    now = _paris(now)
    state, _comment = oh.state(now)
    if state == State.UNKNOWN:
        return Availability(known=False)
    if state == State.OPEN:
        change = oh.next_change(now)
        return Availability(known=True, open_now=True, closes_at=_paris(change) if change else None)
    return Availability(known=True, open_now=False, next_opening=_next_opening(oh, now))


def _next_opening(oh: OpeningHours, now: datetime) -> datetime | None:
    for start, _end, state, _comment in oh.intervals(now, now + HORIZON):
        if state == State.OPEN:
            return _paris(start)
    return None


def _paris(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=PARIS)
    return moment.astimezone(PARIS)


def french_time(moment: datetime) -> str:
    """``9 h``, ``13 h 30``."""
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def french_day(day: date, today: date) -> str:
    """``aujourd'hui``, ``demain``, ``lundi`` (this week) or ``le 2 janvier``."""
    delta = (day - today).days
    if delta == 0:
        return "aujourd'hui"
    if delta == 1:
        return "demain"
    if 1 < delta < 7:
        return WEEKDAYS[day.weekday()]
    number = "1er" if day.day == 1 else str(day.day)
    return f"le {WEEKDAYS[day.weekday()]} {number} {MONTHS[day.month - 1]}"


def describe(horaires: str | None, now: datetime) -> str:
    """One French sentence: open now and until when, or when it opens next."""
    now = _paris(now)
    status = availability(horaires, now)
    if not status.known:
        return "Horaires non renseignés : appelez avant de vous déplacer."
    if status.open_now:
        if status.closes_at and status.closes_at.date() == now.date():
            return f"Ouvert en ce moment, jusqu'à {french_time(status.closes_at)}."
        return "Ouvert en ce moment."
    closed = "Fermé aujourd'hui (jour férié)." if is_public_holiday(now) else "Fermé en ce moment."
    if status.next_opening is None:
        return f"{closed} Pas de réouverture prévue dans le mois."
    day = french_day(status.next_opening.date(), now.date())
    return f"{closed} Ouvre {day} à {french_time(status.next_opening)}."


def is_public_holiday(moment: datetime) -> bool:
    """Whether ``moment`` falls on a French public holiday."""
    return _HOLIDAYS.is_open(_paris(moment))


_HOLIDAYS = OpeningHours("PH", timezone=PARIS, country=COUNTRY)


# ------------------------------------------------------------ hours of a given day


def open_spans(horaires: str | None, day: date) -> list[tuple[datetime, datetime]] | None:
    """The opening spans of ``day`` (Paris time), ``[]`` when closed, ``None`` when unknown."""
    if not horaires or not horaires.strip():
        return None
    try:
        oh = parse(horaires)
    except HoursError:
        return None
    start = datetime.combine(day, datetime.min.time(), tzinfo=PARIS)
    spans: list[tuple[datetime, datetime]] = []
    for begin, end, state, _comment in oh.intervals(start, start + timedelta(days=1)):
        if state == State.UNKNOWN:
            return None
        if state == State.OPEN:
            spans.append((_paris(begin), _paris(end)))
    return spans


def french_spans(spans: list[tuple[datetime, datetime]]) -> str:
    """``de 9 h à 12 h et de 14 h à 17 h``."""
    parts = [f"de {french_time(a)} à {french_time(b)}" for a, b in spans]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def describe_day(horaires: str | None, day: date, today: date) -> str:
    """``samedi : ouvert de 9 h à 12 h`` or ``dimanche : fermé`` (public holidays said)."""
    label = french_day(day, today)
    spans = open_spans(horaires, day)
    if spans is None:
        return f"{label} : horaires non renseignés, appelez avant de vous déplacer"
    if not spans:
        holiday = " (jour férié)" if _holiday(day) else ""
        return f"{label} : fermé{holiday}"
    return f"{label} : ouvert {french_spans(spans)}"


def describe_at(horaires: str | None, moment: datetime) -> str | None:
    """Whether the place is open at ``moment`` (``ouvert à 15 h`` / ``fermé à 15 h``)."""
    spans = open_spans(horaires, moment.date())
    if spans is None:
        return None
    moment = _paris(moment)
    is_open = any(a <= moment < b for a, b in spans)
    return f"{'ouvert' if is_open else 'fermé'} à {french_time(moment)}"


def describe_week(horaires: str | None, today: date) -> list[str]:
    """One line per weekday, starting from Monday: ``lundi : de 9 h à 12 h`` or ``fermé``."""
    monday = today - timedelta(days=today.weekday())
    lines = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        spans = open_spans(horaires, day)
        if spans is None:
            return []
        # A public holiday this week must not make a usual opening day look closed.
        if not spans and _holiday(day):
            spans = open_spans(horaires, day + timedelta(days=7)) or []
            if not spans and _holiday(day + timedelta(days=7)):
                spans = open_spans(horaires, day + timedelta(days=14)) or []
        lines.append(f"{WEEKDAYS[day.weekday()]} : {french_spans(spans) if spans else 'fermé'}")
    return lines


def _holiday(day: date) -> bool:
    return is_public_holiday(datetime.combine(day, datetime.min.time().replace(hour=12)))
