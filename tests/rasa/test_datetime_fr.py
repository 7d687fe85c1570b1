"""French dates, times, durations and head counts, with a frozen ``now``, across DST changes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from actions.datetime_fr import (
    PARIS,
    UTC,
    BookingRequest,
    format_day,
    format_duration,
    format_span,
    format_time,
    parse_request,
    to_paris,
    to_utc,
)

# Tuesday 24 November 2026, 10:00 in Paris.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "salle visio à Brest jeudi 14h pour 6 pendant 1h",
            BookingRequest(date(2026, 11, 26), time(14, 0), 60, 6),
        ),
        (
            "jeudi prochain à 14h",
            BookingRequest(date(2026, 11, 26), time(14, 0), later_day=date(2026, 12, 3)),
        ),
        ("demain matin", BookingRequest(date(2026, 11, 25), time(9, 0))),
        ("le 12/12 à 9h30", BookingRequest(date(2026, 12, 12), time(9, 30))),
        (
            "une salle pour 4 à Quimperlé le 3 mars à 15h pendant 2h",
            BookingRequest(date(2027, 3, 3), time(15, 0), 120, 4),
        ),
        (
            "pour 10 personnes 1h30 à Carhaix mercredi 9h",
            BookingRequest(date(2026, 11, 25), time(9, 0), 90, 10),
        ),
        (
            "salle visio chateaulin jeudi 9h 2h 4 pers",
            BookingRequest(date(2026, 11, 26), time(9, 0), 120, 4),
        ),
        (
            "1h30 salle visio quimper le 18/03 à 13h",
            BookingRequest(date(2027, 3, 18), time(13, 0), 90),
        ),
        ("le lundi 30 novembre de 14h à 16h", BookingRequest(date(2026, 11, 30), time(14, 0), 120)),
        ("réunion teams avec 3 collègues", BookingRequest(attendees=4)),
        ("une heure et demie", BookingRequest(duration_minutes=90)),
        ("nous serons douze", BookingRequest(attendees=12)),
        ("on est une dizaine", BookingRequest(attendees=10)),
        ("toute la matinée", BookingRequest(start=time(9, 0), duration_minutes=180)),
        ("après-demain vers 15h", BookingRequest(date(2026, 11, 26), time(15, 0))),
        ("45 min", BookingRequest(duration_minutes=45)),
        ("cet aprem", BookingRequest(date(2026, 11, 24), time(14, 0))),
        ("dans 3 jours à 10h", BookingRequest(date(2026, 11, 27), time(10, 0))),
        ("le 1er décembre à midi et demi", BookingRequest(date(2026, 12, 1), time(12, 30))),
        ("une salle pour 14h", BookingRequest(start=time(14, 0))),
        ("juste moi", BookingRequest(attendees=1)),
        ("le 15/01/2027 à 8h45", BookingRequest(date(2027, 1, 15), time(8, 45))),
        ("réserver une salle", BookingRequest()),
    ],
)
def test_booking_details_are_read_in_any_order(text, expected):
    assert parse_request(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "requested", "expected"),
    [
        ("6", "booking_attendees", BookingRequest(attendees=6)),
        ("1h", "booking_duration", BookingRequest(duration_minutes=60)),
        ("2", "booking_duration", BookingRequest(duration_minutes=120)),
        ("90", "booking_duration", BookingRequest(duration_minutes=90)),
        ("10", "booking_time", BookingRequest(start=time(10, 0))),
        ("6", None, BookingRequest()),
    ],
)
def test_bare_answers_follow_the_question_asked(text, requested, expected):
    assert parse_request(text, NOW, requested) == expected


def test_same_weekday_means_next_week():
    assert parse_request("mardi", NOW).day == date(2026, 12, 1)


def test_a_date_already_passed_this_year_is_next_year():
    assert parse_request("le 3 janvier", NOW).day == date(2027, 1, 3)


def test_autumn_dst_change_tomorrow_is_an_hour_later_in_utc():
    # Saturday 24 October 2026 noon (UTC+2); clocks go back on Sunday 25 October at 3:00.
    saturday = datetime(2026, 10, 24, 12, 0, tzinfo=PARIS)
    request = parse_request("lundi à 14h", saturday)
    assert request.day == date(2026, 10, 26)
    assert to_utc(request.day, request.start) == datetime(2026, 10, 26, 13, 0, tzinfo=UTC)
    before = parse_request("vendredi à 14h", datetime(2026, 10, 20, 9, 0, tzinfo=PARIS))
    assert to_utc(before.day, before.start) == datetime(2026, 10, 23, 12, 0, tzinfo=UTC)


def test_spring_dst_change():
    # Clocks go forward on Sunday 28 March 2027 at 2:00 (UTC+1 -> UTC+2).
    friday = datetime(2027, 3, 26, 16, 0, tzinfo=PARIS)
    request = parse_request("lundi 9h", friday)
    assert request.day == date(2027, 3, 29)
    assert to_utc(request.day, request.start) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert to_paris(datetime(2027, 3, 26, 8, 0, tzinfo=UTC)).hour == 9


def test_a_span_across_the_night_of_the_change_keeps_real_durations():
    start = to_utc(date(2026, 10, 25), time(1, 0))
    end = start + timedelta(hours=3)
    assert format_span(start, end) == "dimanche 25 octobre 2026 de 1 h à 3 h"


def test_french_formats():
    assert format_time(time(14, 0)) == "14 h"
    assert format_time(time(9, 30)) == "9 h 30"
    assert format_day(date(2026, 12, 1)) == "mardi 1er décembre 2026"
    assert format_duration(90) == "1 h 30"
    assert format_duration(45) == "45 min"
    start = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    assert format_span(start, start + timedelta(minutes=90)) == (
        "jeudi 26 novembre 2026 de 14 h à 15 h 30"
    )
