"""French dates, times, durations and head counts read from free text.

Duckling cannot run here, so booking requests such as "salle visio à Brest jeudi
14h pour 6 pendant 1h" are read with regular expressions for times, durations
and numbers of people, after :func:`actions.numbers_fr.digits_in` has turned number
words into digits ("dix-huit" → 18, "quatorze heures trente" → 14 heures 30), and with
``dateparser`` for calendar dates ("le 3 mars", "12/12", "1er décembre"). Every
function takes ``now`` (an aware datetime) so that tests freeze the clock. Local times
are Europe/Paris; the database stores UTC (see :func:`to_utc`), which is where the
daylight-saving change is handled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from actions.numbers_fr import digits_in, number
from common.config import TIMEZONE
from common.text import MONTHS, fold

PARIS = ZoneInfo(TIMEZONE)
UTC = ZoneInfo("UTC")

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS_DISPLAY = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# The small numbers text2num leaves as words (they may be articles: "une heure", "deux jours").
NUMBER_WORDS = ("un", "une", "deux", "trois", "quatre", "cinq")
# A date without a year that passed fewer days ago than this is asked about ("le 30/11"
# on 1 December: this year's, which has passed, or next year's?); an older one is next year's.
RECENT_PAST_DAYS = 60
APPROXIMATE = {"dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30}
# Default start when only a part of the day is given ("demain matin").
PART_OF_DAY = {
    "matin": time(9, 0),
    "matinee": time(9, 0),
    "apres midi": time(14, 0),
    "aprem": time(14, 0),
    "midi": time(12, 0),
    "soir": time(17, 0),
}

_NUM = r"(\d{1,2}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_CLOCK = r"(\d{1,2})\s*(?:heures?|h|:)\s*(\d{2})?(?!\d)"


@dataclass(frozen=True)
class BookingRequest:
    """What one message says about a booking; ``None`` for what it does not say."""

    day: date | None = None
    start: time | None = None
    duration_minutes: int | None = None
    attendees: int | None = None
    # "le 30/11" when that day passed a little while ago: this year's date (``day`` is None).
    passed_day: date | None = None
    # "jeudi prochain" said on a Tuesday: ``day`` is this week's, this is the one after.
    later_day: date | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.day, self.start, self.duration_minutes, self.attendees))


@dataclass(frozen=True)
class _Day:
    day: date | None = None
    passed: date | None = None
    later: date | None = None


class _Text:
    """Folded text whose matched spans are blanked so that one number is read once."""

    def __init__(self, text: str) -> None:
        folded = fold(digits_in(text)).replace("’", "'")
        folded = re.sub(r"[-‐]", " ", folded)
        self.value = " " + re.sub(r"\s+", " ", folded) + " "

    def take(self, pattern: str) -> re.Match[str] | None:
        match = re.search(pattern, self.value)
        if match:
            self.blank(match)
        return match

    def blank(self, match: re.Match[str]) -> None:
        start, end = match.span()
        self.value = self.value[:start] + " " * (end - start) + self.value[end:]


def _clock(hours: str, minutes: str | None) -> time | None:
    h, m = int(hours), int(minutes or 0)
    if h == 24 and m == 0:
        return None
    if 0 <= h <= 23 and 0 <= m <= 59:
        return time(h, m)
    return None


def _take_day(text: _Text, today: date) -> _Day:
    """The day named in ``text``, and what makes it doubtful (see :class:`BookingRequest`)."""
    for pattern, offset in _RELATIVE_DAYS:
        if text.take(pattern):
            return _Day(today + timedelta(days=offset))
    # A calendar date, with or without a weekday before it ("lundi 4 novembre", "le 12/12").
    calendar = text.take(
        r"\b(?:(?:" + "|".join(WEEKDAYS) + r")\s+)?(?:le\s+)?"
        r"(\d{1,2}/\d{1,2}(?:/\d{2,4})?|(?:1er|premier|\d{1,2})\s+(?:" + "|".join(MONTHS) + r")"
        r"(?:\s+\d{4})?)\b"
    )
    if calendar:
        return _calendar_date(calendar.group(1), today)
    relative = text.take(r"\bdans\s+" + _NUM + r"\s+jours?\b")
    if relative:
        count = number(relative.group(1))
        return _Day(today + timedelta(days=count) if count is not None else None)
    weekday = text.take(
        r"\b(" + "|".join(WEEKDAYS) + r")(\s+(?:prochain|en (?:huit|8)|de la semaine prochaine))?\b"
    )
    if weekday:
        wanted, qualifier = WEEKDAYS.index(weekday.group(1)), weekday.group(2) or ""
        ahead = (wanted - today.weekday()) % 7 or 7
        if qualifier.startswith(" en") or ("semaine" in qualifier and wanted > today.weekday()):
            ahead += 7
        day = today + timedelta(days=ahead)
        # "jeudi prochain" on a Tuesday: this week's Thursday or next week's?
        doubtful = qualifier.strip() == "prochain" and wanted > today.weekday()
        return _Day(day, later=day + timedelta(days=7) if doubtful else None)
    return _Day()


_RELATIVE_DAYS = (
    (r"\bavant hier\b", -2),
    (r"\bhier\b", -1),
    (r"\bapres demain\b", 2),
    (r"\bdemain\b", 1),
    (r"\b(aujourd'? ?hui|ce matin|cet apres midi|cet aprem|ce soir|ce midi)\b", 0),
)


def _calendar_date(fragment: str, today: date) -> _Day:
    """A day and month (year optional) read by dateparser.

    Without a year, a day that passed long ago is next year's; one that passed recently
    is doubtful and given as ``passed`` (the caller asks).
    """
    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "current_period",
        "RELATIVE_BASE": datetime.combine(today, time(0, 0)),
        "REQUIRE_PARTS": ["day", "month"],
    }
    cleaned = re.sub(r"^(1er|premier)\b", "1", fragment)
    parsed = dateparser.parse(cleaned, languages=["fr"], settings=settings)
    if parsed is None:
        return _Day()
    day = parsed.date()
    if re.search(r"(/\d{1,2}/\d{2,4}|\s\d{4})$", fragment):
        return _Day(day)
    try:
        day = day.replace(year=today.year)
    except ValueError:  # 29 February of a common year
        return _Day()
    if day >= today:
        return _Day(day)
    next_year = _same_day_next_year(day)
    if (today - day).days <= RECENT_PAST_DAYS:
        return _Day(next_year, passed=day)
    return _Day(next_year)


def _same_day_next_year(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return None


def _duration_words(text: _Text) -> int | None:
    spelled = [
        (r"\btoute la (?:matinee|matine)\b", 180),
        (r"\btout l'? ?apres midi\b", 180),
        (r"\b(?:trois|3) quarts? d'? ?heure\b", 45),
        (r"\bun quart d'? ?heure\b", 15),
        (r"\b(?:une )?demi heure\b", 30),
        (r"\bune (?:petite |bonne )?heure et demie\b", 90),
        (r"\bune (?:petite |bonne )?heure\b", 60),
    ]
    for pattern, minutes in spelled:
        if text.take(pattern):
            return minutes
    match = re.search(r"\b" + _NUM + r"\s+heures?(?:\s+et demie)?\b(?!\s*\d)", text.value)
    if match and not re.search(r"\b(a|vers|des|de|pour)\s*$", text.value[: match.start()]):
        hours = number(match.group(1))
        if hours is not None and hours <= 10:
            text.blank(match)
            return hours * 60 + (30 if "demie" in match.group(0) else 0)
    return None


def _take_duration(text: _Text, context: str | None) -> int | None:
    marked = text.take(
        r"\b(?:pendant|durant|duree(?: de)?|pour une duree de|sur)\s+(?:environ\s+)?"
        r"(\d{1,2})\s*(h|heures?|min(?:utes?)?|mn)\s*(\d{2})?\b"
    )
    if marked:
        value, unit, extra = int(marked.group(1)), marked.group(2), marked.group(3)
        return value if unit.startswith("m") else value * 60 + int(extra or 0)
    minutes = text.take(r"\b(\d{1,3})\s*(?:min(?:utes?)?|mn)\b")
    if minutes:
        return int(minutes.group(1))
    words = _duration_words(text)
    if words:
        return words
    # "1h", "1h30", "2h": a duration when short and not introduced as a time of day.
    for match in re.finditer(r"\b(\d{1,2})\s*h\s*(\d{2})?\b", text.value):
        hours, extra = int(match.group(1)), int(match.group(2) or 0)
        before = text.value[: match.start()]
        introduced = re.search(r"\b(a|vers|des|de|entre|et|jusqu'a)\s*$", before)
        if (hours <= 4 or context == "booking_duration") and not introduced and hours <= 10:
            text.blank(match)
            return hours * 60 + extra
    if context == "booking_duration":
        bare = text.take(r"^\s*(\d{1,3})\s*$")
        if bare:
            value = int(bare.group(1))
            return value * 60 if value <= 8 else value
    return None


def _take_range(text: _Text) -> tuple[time, int] | None:
    match = text.take(r"\b(?:de|entre)\s+" + _CLOCK + r"\s*(?:a|et|jusqu'a)\s+" + _CLOCK)
    if not match:
        return None
    start, end = _clock(match.group(1), match.group(2)), _clock(match.group(3), match.group(4))
    if start is None or end is None or end <= start:
        return None
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return start, minutes


def _take_start(text: _Text, context: str | None) -> time | None:
    if text.take(r"\bmidi et demi\b"):
        return time(12, 30)
    match = text.take(r"\b(?:a|vers|des|pour)?\s*" + _CLOCK)
    if match:
        return _clock(match.group(1), match.group(2))
    if context == "booking_time":
        bare = text.take(r"^\s*(?:a\s+)?(\d{1,2})\s*$")
        if bare:
            return _clock(bare.group(1), None)
    return None


def _take_attendees(text: _Text, context: str | None) -> int | None:
    if text.take(r"\b(juste moi|moi seule?|je serai seule?|que moi|en solo)\b"):
        return 1
    approx = text.take(r"\bune (" + "|".join(APPROXIMATE) + r")\b")
    if approx:
        return APPROXIMATE[approx.group(1)]
    colleagues = text.take(r"\bavec\s+" + _NUM + r"\s+(?:collegues?|personnes?|agents?)\b")
    if colleagues:
        count = number(colleagues.group(1))
        return count + 1 if count is not None else None
    people = text.take(
        r"\b" + _NUM + r"\s*(?:personnes?|pers\b|participants?|agents?|collegues?|gens|invites?)"
    )
    if people:
        return number(people.group(1))
    we_are = text.take(r"\b(?:on|nous)\s+(?:sera|serons|est|sommes|seront)\s+" + _NUM + r"\b")
    if we_are:
        return number(we_are.group(1))
    for_n = text.take(r"\bpour\s+(\d{1,3})\b(?!\s*(?:h|heures?|min|mn|/|:))")
    if for_n:
        return int(for_n.group(1))
    if context == "booking_attendees":
        bare = text.take(r"^\s*(?:a\s+)?" + _NUM + r"\s*$")
        if bare:
            return number(bare.group(1))
    return None


def parse_request(text: str, now: datetime, requested_slot: str | None = None) -> BookingRequest:
    """Read a day, a start time, a duration and a head count from ``text``.

    ``requested_slot`` (the question the form just asked) settles bare answers:
    "6" is a head count after "combien serez-vous ?", "1h" a duration after
    "pour combien de temps ?", "10" a time after "à quelle heure ?".
    """
    today = now.astimezone(PARIS).date()
    scanned = _Text(text)
    found = _take_day(scanned, today)
    start: time | None = None
    duration: int | None = None
    ranged = _take_range(scanned)
    if ranged:
        start, duration = ranged
    if duration is None:
        duration = _take_duration(scanned, requested_slot)
    attendees = _take_attendees(scanned, requested_slot)
    if start is None:
        start = _take_start(scanned, requested_slot)
    if start is None:
        for words, default in PART_OF_DAY.items():
            if re.search(rf"\b{words}\b", fold(text).replace("-", " ")):
                start = default
                break
    return BookingRequest(
        day=None if found.passed else found.day,
        start=start,
        duration_minutes=duration,
        attendees=attendees,
        passed_day=found.passed,
        later_day=found.later,
    )


def to_utc(day: date, start: time) -> datetime:
    """The UTC instant of a Paris wall-clock time (the first one when the clock goes back)."""
    return datetime.combine(day, start, tzinfo=PARIS).astimezone(UTC)


def to_paris(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(PARIS)


def format_time(value: time | datetime) -> str:
    """ "14 h", "9 h 30" — the way French administrative writing gives times."""
    return f"{value.hour} h" if value.minute == 0 else f"{value.hour} h {value.minute:02d}"


def format_day(day: date) -> str:
    """ "jeudi 26 novembre 2026"; "1er" for the first of the month."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{WEEKDAYS[day.weekday()]} {number} {MONTHS_DISPLAY[day.month - 1]} {day.year}"


def format_duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest:02d}"


def format_span(start_utc: datetime, end_utc: datetime) -> str:
    """ "jeudi 26 novembre 2026 de 14 h à 15 h 30", in Paris time."""
    start, end = to_paris(start_utc), to_paris(end_utc)
    return f"{format_day(start.date())} de {format_time(start)} à {format_time(end)}"


@dataclass(frozen=True)
class Moment:
    """The day and time a short question names ("samedi ?", "demain matin", "à 15h")."""

    day: date | None = None
    start: time | None = None
    part_of_day: str | None = None  # "matin", "apres midi", "soir"

    def is_empty(self) -> bool:
        return self.day is None and self.start is None and self.part_of_day is None


def parse_moment(text: str, today: date) -> Moment:
    """Read a day, a clock time and a part of day from ``text``.

    A weekday named on that very day is today ("samedi ?" asked on a Saturday),
    unless "prochain" follows it.
    """
    folded = fold(text)
    match = re.search(r"\b(" + "|".join(WEEKDAYS) + r")\b(\s+prochain)?", folded)
    reading = _Text(text)
    if match and not match.group(2) and WEEKDAYS.index(match.group(1)) == today.weekday():
        reading.take(r"\b" + match.group(1) + r"\b")
        day: date | None = today
    else:
        day = _take_day(reading, today).day
    if day is None and reading.take(r"\b(ce week ?end|ce we)\b"):
        day = today + timedelta(days=(5 - today.weekday()) % 7)
    part = None
    for name in ("apres midi", "aprem", "matinee", "matin", "soir", "midi"):
        if re.search(r"\b" + name + r"\b", reading.value):
            part = {"aprem": "apres midi", "matinee": "matin"}.get(name, name)
            break
    if re.search(r"\b(ce matin|cet apres midi|cet aprem|ce soir)\b", folded) and part is None:
        part = "matin" if "matin" in folded else "soir" if "soir" in folded else "apres midi"
    start = _take_start(reading, None)
    return Moment(day=day, start=start, part_of_day=part)
