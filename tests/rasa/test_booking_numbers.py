"""Numbers, times and dates as agents write them, read with a frozen clock (no real clock).

Table-driven: each row is a message and what must be read from it. The clocks are
chosen around the daylight-saving change of 28 March 2027 and Christmas 2026.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from actions.booking_rules import (
    check_when,
    closed_day_reason,
    next_open_days,
    public_holiday,
)
from actions.datetime_fr import PARIS, UTC, BookingRequest, parse_request, to_utc
from actions.numbers_fr import digits_in, number

TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)  # Tuesday 24 November 2026
DECEMBER_1 = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)  # Tuesday 1 December 2026
BEFORE_DST = datetime(2027, 3, 26, 10, 0, tzinfo=PARIS)  # Friday; clocks go forward Sunday
BREST = "Mo-Fr 08:00-18:30; PH off"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pour dix-huit personnes", "pour 18 personnes"),
        ("vingt-deux personnes", "22 personnes"),
        ("à quatorze heures trente", "à 14 heures 30"),
        ("quatorze heures et demie", "14h30"),
        ("midi et quart", "12h15"),
        ("midi et demi", "12h30"),
        ("cet après-midi", "cet après-midi"),
        ("à huit heures moins le quart", "à 7h45"),
        ("pr 4", "pour 4"),
        ("vingt et une personnes", "21 personnes"),
        ("minuit", "0h"),
    ],
)
def test_number_words_and_clock_idioms_become_digits(text, expected):
    assert digits_in(text) == expected


@pytest.mark.parametrize(
    ("word", "value"),
    [("6", 6), ("six", 6), ("dix-huit", 18), ("une", 1), ("vingt-deux", 22), ("beaucoup", None)],
)
def test_one_number_in_digits_or_words(word, value):
    assert number(word) == value


@pytest.mark.parametrize(
    ("text", "slot", "expected"),
    [
        # Attendees
        ("pour dix-huit personnes", None, BookingRequest(attendees=18)),
        ("vingt-deux personnes", None, BookingRequest(attendees=22)),
        ("pour six", None, BookingRequest(attendees=6)),
        ("pr 4", None, BookingRequest(attendees=4)),
        ("on sera dix-huit", None, BookingRequest(attendees=18)),
        ("deux personnes", None, BookingRequest(attendees=2)),
        ("douze", "booking_attendees", BookingRequest(attendees=12)),
        ("beaucoup de monde", "booking_attendees", BookingRequest()),
        # Times
        ("à quatorze heures trente", None, BookingRequest(start=time(14, 30))),
        ("quatorze heures trente", "booking_time", BookingRequest(start=time(14, 30))),
        ("à neuf heures et demie", None, BookingRequest(start=time(9, 30))),
        ("midi et quart", "booking_time", BookingRequest(start=time(12, 15))),
        ("à midi", "booking_time", BookingRequest(start=time(12, 0))),
        ("à huit heures moins le quart", None, BookingRequest(start=time(7, 45))),
        ("vers seize heures quinze", None, BookingRequest(start=time(16, 15))),
        # Durations
        ("une heure et demie", None, BookingRequest(duration_minutes=90)),
        ("pendant une heure et demie", None, BookingRequest(duration_minutes=90)),
        ("deux heures", "booking_duration", BookingRequest(duration_minutes=120)),
        ("trois quarts d'heure", None, BookingRequest(duration_minutes=45)),
        ("quarante-cinq minutes", None, BookingRequest(duration_minutes=45)),
        # All at once
        (
            "salle à Brest jeudi à quatorze heures trente pour dix-huit pendant une heure",
            None,
            BookingRequest(date(2026, 11, 26), time(14, 30), 60, 18),
        ),
        (
            "resa salle pr 6 vendredi à neuf heures et demie",
            None,
            BookingRequest(date(2026, 11, 27), time(9, 30), attendees=6),
        ),
        # Dates
        ("le trente novembre", None, BookingRequest(date(2026, 11, 30))),
        ("mardi premier décembre", None, BookingRequest(date(2026, 12, 1))),
        ("dans deux jours", None, BookingRequest(date(2026, 11, 26))),
        ("jeudi en huit", None, BookingRequest(date(2026, 12, 3))),
        (
            "jeudi de la semaine prochaine",
            None,
            BookingRequest(date(2026, 12, 3)),
        ),
        (
            "jeudi prochain",
            None,
            BookingRequest(date(2026, 11, 26), later_day=date(2026, 12, 3)),
        ),
        ("lundi prochain", None, BookingRequest(date(2026, 11, 30))),
        ("le 20/11", None, BookingRequest(passed_day=date(2026, 11, 20))),
        (
            "le 20 novembre à 10h",
            None,
            BookingRequest(start=time(10), passed_day=date(2026, 11, 20)),
        ),
        ("le 20/11/2026", None, BookingRequest(date(2026, 11, 20))),
        ("le 5 janvier", None, BookingRequest(date(2027, 1, 5))),
        ("le 3/06", None, BookingRequest(date(2027, 6, 3))),
    ],
)
def test_every_form_is_read_with_a_frozen_clock(text, slot, expected):
    assert parse_request(text, TUESDAY, slot) == expected


def test_a_date_just_passed_is_doubtful_but_last_spring_is_next_year():
    # On 1 December, "le 30/11" was yesterday: asked. "le 30/03" is next year's.
    assert parse_request("le 30/11", DECEMBER_1).passed_day == date(2026, 11, 30)
    assert parse_request("le 30/03", DECEMBER_1) == BookingRequest(date(2027, 3, 30))


def test_the_week_of_the_daylight_saving_change():
    # Friday 26 March 2027; Monday 29 March is in summer time (UTC+2).
    monday = parse_request("lundi à neuf heures", BEFORE_DST)
    assert monday == BookingRequest(date(2027, 3, 29), time(9, 0))
    assert to_utc(monday.day, monday.start) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    friday = parse_request("aujourd'hui à quatorze heures", BEFORE_DST)
    assert to_utc(friday.day, friday.start) == datetime(2027, 3, 26, 13, 0, tzinfo=UTC)
    # Easter Monday (29 March 2027) is a public holiday: closed, and said so.
    problem = check_when(monday.day, monday.start, 60, BEFORE_DST, BREST, "Brest")
    assert problem is not None and problem.slot == "booking_date"
    assert "jour férié (lundi de Pâques)" in problem.message
    assert problem.choices == (date(2027, 3, 30), date(2027, 3, 31), date(2027, 4, 1))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 12, 25), "Noël"),
        (date(2027, 1, 1), "jour de l'An"),
        (date(2027, 3, 29), "lundi de Pâques"),
        (date(2027, 5, 6), "Ascension"),
        (date(2027, 5, 17), "lundi de Pentecôte"),
        (date(2026, 11, 11), "Armistice 1918"),
        (date(2026, 12, 24), None),
    ],
)
def test_public_holidays_are_named(day, name):
    assert public_holiday(day) == name


def test_closed_days_say_why_and_give_the_next_open_days():
    saturday, christmas = date(2026, 12, 12), date(2026, 12, 25)
    assert closed_day_reason(BREST, saturday, "Brest") == "Le site de Brest est fermé le samedi."
    assert closed_day_reason(BREST, christmas, "Brest") == (
        "Le site de Brest est fermé le vendredi 25 décembre 2026 : jour férié (Noël)."
    )
    assert closed_day_reason(BREST, date(2026, 12, 14), "Brest") is None
    assert next_open_days(BREST, saturday) == [
        date(2026, 12, 14),
        date(2026, 12, 15),
        date(2026, 12, 16),
    ]
    # Christmas is a Friday: the next open days skip the week-end.
    assert next_open_days(BREST, christmas)[0] == date(2026, 12, 28)
    # The day is refused before any time is asked (no loop on the time question).
    problem = check_when(saturday, None, None, TUESDAY, BREST, "Brest")
    assert problem is not None and problem.slot == "booking_date"
    assert check_when(saturday - timedelta(days=1), None, None, TUESDAY, BREST, "Brest") is None
