"""Opening hours written by people, converted to OSM ``opening_hours`` when it is safe.

Two inputs are found in the open data of Finistère and Sarthe:

- one column per weekday (France services: ``h_lundi`` = ``09:00 - 12:00 / 14:00 - 17:00``),
  converted by :func:`from_weekdays`;
- free French text (« Du lundi au jeudi : 9h - 12h / 14h - 17h et le vendredi : 9h - 12h »),
  converted by :func:`from_french` only when every word of it is understood: days, day
  ranges and lists, time ranges, and a few filler words (« du », « de », « et »,
  « horaires d'ouverture »…). Anything else (« sauf », « fermé le mercredi »,
  « pendant les vacances », a time without a day) gives ``None``: the text is then kept
  and shown as written, with no claim about being open now.

Pure functions, no I/O.
"""

from __future__ import annotations

import html
import re
from itertools import pairwise

from common.text import fold

OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_WORDS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
}  # fmt: skip
# Words that carry no meaning for the schedule and may be skipped.
_FILLER = frozenset(
    "du de d des le les l la horaires horaire ouverture ouvert ouverts ouverte sont "
    "permanence permanences accueil bureaux heures heure h".split()
)
_TO_WORDS = frozenset({"au", "a"})  # « du lundi au vendredi », « lundi à jeudi »
_TOKEN = re.compile(
    r"(?P<time>\d{1,2}\s*[h:.]\s*(?:\d{2})?(?:\s*h(?![a-z]))?)"
    r"|(?P<bare>\d{1,2})(?![\d])"
    r"|(?P<word>[a-z]+)"
    r"|(?P<dash>[-–—])"
    r"|(?P<slash>/)"
    r"|(?P<comma>,)"
    r"|(?P<break>[;\n.])"
    r"|(?P<colon>:)"
    r"|(?P<space>[\s'’\"()]+)"
    r"|(?P<other>.)"
)
Interval = tuple[int, int]  # minutes since midnight


def _minutes(text: str) -> int | None:
    match = re.fullmatch(r"(\d{1,2})\s*(?:[h:.]\s*(\d{2})?)?\s*h?", text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    return hour * 60 + minute


def _tokens(text: str) -> list[tuple[str, object]] | None:
    """``(kind, value)`` tokens of folded text, or ``None`` when a word is not understood."""
    found: list[tuple[str, object]] = []
    for match in _TOKEN.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind in ("time", "bare"):
            minutes = _minutes(value)
            if minutes is None:
                return None
            found.append(("time" if kind == "time" else "bare", minutes))
        elif kind == "word":
            word = value[:-1] if value.endswith("s") and value[:-1] in _DAY_WORDS else value
            if word in _DAY_WORDS:
                found.append(("day", _DAY_WORDS[word]))
            elif word in _TO_WORDS:
                found.append(("to", None))
            elif word == "et":
                found.append(("and", None))
            elif word not in _FILLER:
                return None
        elif kind == "other":
            return None
        else:
            found.append((kind, None))  # type: ignore[arg-type]
    return found


def _days(tokens: list[tuple[str, object]], start: int) -> tuple[list[int], int] | None:
    """The days of a day specification starting at ``tokens[start]`` and the next index."""
    days = [int(tokens[start][1])]  # type: ignore[arg-type]
    i = start + 1
    separators: list[str] = []
    while i + 1 < len(tokens) and tokens[i][0] in ("to", "dash", "comma", "and"):
        if tokens[i + 1][0] != "day":
            break
        separators.append(tokens[i][0])
        days.append(int(tokens[i + 1][1]))  # type: ignore[arg-type]
        i += 2
    if len(days) == 2 and separators[0] in ("to", "dash"):  # a range: « lundi au jeudi »
        first, last = days
        if last <= first:
            return None
        return list(range(first, last + 1)), i
    if "to" in separators:  # « lundi au mardi, jeudi » is not regular
        return None
    return days, i


def _schedule(text: str) -> dict[int, list[Interval]] | None:
    """Day -> intervals read from free text, or ``None`` when not regular."""
    tokens = _tokens(fold(text))
    if not tokens:
        return None
    table: dict[int, list[Interval]] = {}
    days: list[int] = []
    times_for_days = 0
    start: int | None = None
    i = 0
    while i < len(tokens):
        kind = tokens[i][0]
        if kind == "day":
            if start is not None or (days and not times_for_days):
                return None  # a dangling start time, or days without hours
            parsed = _days(tokens, i)
            if parsed is None:
                return None
            days, i = parsed
            times_for_days = 0
            continue
        if kind in ("time", "bare"):
            minutes = int(tokens[i][1])  # type: ignore[arg-type]
            if start is None:
                if not days:
                    return None  # hours with no day: we would be guessing the days
                start = minutes
                if i + 1 >= len(tokens) or tokens[i + 1][0] not in ("dash", "slash", "to"):
                    return None
                i += 2
                continue
            if minutes <= start:
                return None
            for day in days:
                table.setdefault(day, []).append((start, minutes))
            times_for_days += 1
            start = None
        elif kind == "to" and start is None:
            return None
        i += 1
    if start is not None or (days and not times_for_days) or not table:
        return None
    return table


def _clean(intervals: list[Interval]) -> list[Interval] | None:
    ordered = sorted(set(intervals))
    for (_, end), (next_start, _) in pairwise(ordered):
        if next_start < end:
            return None  # overlapping hours: a typo we cannot settle
    return ordered


def to_osm(table: dict[int, list[Interval]], suffix: str = "") -> str | None:
    """``Mo-Th 09:00-12:00,14:00-17:00; Fr 09:00-12:00`` from day -> intervals."""
    cleaned: dict[int, tuple[Interval, ...]] = {}
    for day, intervals in table.items():
        ordered = _clean(intervals)
        if ordered is None:
            return None
        if ordered:
            cleaned[day] = tuple(ordered)
    if not cleaned:
        return None
    groups: dict[tuple[Interval, ...], list[int]] = {}
    for day in sorted(cleaned):
        groups.setdefault(cleaned[day], []).append(day)
    rules = [
        f"{_day_span(days)} " + ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in intervals)
        for intervals, days in sorted(groups.items(), key=lambda item: item[1][0])
    ]
    if suffix:
        rules.append(suffix)
    return "; ".join(rules)


def _day_span(days: list[int]) -> str:
    """``[0, 1, 2, 4]`` -> ``Mo-We,Fr``; ``[0, 1]`` -> ``Mo,Tu``."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{OSM_DAYS[run[0]]}-{OSM_DAYS[run[-1]]}")
        else:
            parts.extend(OSM_DAYS[d] for d in run)
    return ",".join(parts)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _intervals(text: str) -> list[Interval] | None:
    """``09:00 - 12:00 / 14:00 - 17:00`` -> intervals; ``None`` when not of that form."""
    intervals = []
    for part in text.split("/"):
        match = re.fullmatch(r"\s*(\d{1,2}[:h]\d{2})\s*-\s*(\d{1,2}[:h]\d{2})\s*", part)
        if not match:
            return None
        start, end = _minutes(match.group(1)), _minutes(match.group(2))
        if start is None or end is None or end <= start:
            return None
        intervals.append((start, end))
    return intervals


def from_weekdays(columns: dict[int, str | None], suffix: str = "") -> str | None:
    """OSM hours from one text per weekday (0 = Monday); empty days are closed.

    ``None`` when a non-empty day is not of the ``HH:MM - HH:MM / HH:MM - HH:MM`` form
    or when every day is empty.
    """
    table: dict[int, list[Interval]] = {}
    for day, text in columns.items():
        if not text or not text.strip():
            continue
        intervals = _intervals(text)
        if intervals is None:
            return None
        table[day] = intervals
    return to_osm(table, suffix) if table else None


def weekdays_text(columns: dict[int, str | None]) -> str:
    """The weekday columns as one French line: « lundi 09:00 - 12:00 ; mardi … »."""
    names = tuple(_DAY_WORDS)
    return " ; ".join(
        f"{names[day]} {text.strip()}"
        for day, text in sorted(columns.items())
        if text and text.strip()
    )


def plain_text(raw: str) -> str:
    """Free text without HTML tags or entities, on one line per item."""
    text = html.unescape(raw)
    text = re.sub(r"<\s*(br|/li|li|ul|/ul|p|/p)\s*/?\s*>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", text)
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def from_french(raw: str | None) -> str | None:
    """OSM hours from free French text, or ``None`` when the text is not regular."""
    if not raw or not raw.strip():
        return None
    text = plain_text(raw)
    # « 14h - 18h00Mardi » : a day glued to the previous hour starts a new group.
    table = _schedule(text)
    return to_osm(table) if table else None
