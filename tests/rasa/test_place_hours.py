"""Opening hours written by people -> OSM opening_hours: every pattern found in the open data."""

from __future__ import annotations

import pytest

from actions import hours_convert
from common import hours

# France services (ANCT list): one column per weekday, Monday first.
WEEKDAYS = [
    (  # Ouessant: two afternoon closing times, Saturday morning
        ["09:00 - 12:00 / 14:00 - 17:00", "09:00 - 12:00 / 14:00 - 16:30",
         "09:00 - 12:00 / 14:00 - 16:30", "09:00 - 12:00 / 14:00 - 16:30",
         "09:00 - 12:00 / 14:00 - 17:00", "09:00 - 12:00"],
        "Mo,Fr 09:00-12:00,14:00-17:00; Tu-Th 09:00-12:00,14:00-16:30; Sa 09:00-12:00; PH off",
    ),
    (  # Brest Pontanézen: afternoons only on two days, closed on Saturday (empty)
        ["09:00 - 12:00 / 14:00 - 17:00", "09:00 - 12:00 / 14:00 - 17:00", "13:00 - 17:00",
         "13:00 - 17:00", "09:00 - 12:00 / 14:00 - 17:30", ""],
        "Mo,Tu 09:00-12:00,14:00-17:00; We,Th 13:00-17:00; Fr 09:00-12:00,14:00-17:30; PH off",
    ),
    (  # the same range written twice (Ulamir Trégor): said once
        ["08:30 - 17:00 / 08:30 - 17:00"] * 5 + [""],
        "Mo-Fr 08:30-17:00; PH off",
    ),
    (  # a single range without a lunch break
        ["09:00 - 18:00", "", "", "", "", ""],
        "Mo 09:00-18:00; PH off",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("columns", "expected"), WEEKDAYS)
def test_weekday_columns_become_osm_hours(columns, expected):
    converted = hours_convert.from_weekdays(dict(enumerate(columns)), "PH off")
    assert converted == expected
    assert hours.is_valid(converted)


def test_weekday_columns_that_are_not_hours_or_all_empty_give_nothing():
    assert hours_convert.from_weekdays({0: "sur rendez-vous"}) is None
    assert hours_convert.from_weekdays({0: "", 1: None}) is None
    assert hours_convert.from_weekdays({0: "14:00 - 12:00"}) is None


# Free French text (data·inclusion rows of the Sarthe council), regular ones.
REGULAR = [
    ("Horaires d'ouverture :Du lundi au vendredi9h/12h - 14h/17h",
     "Mo-Fr 09:00-12:00,14:00-17:00"),
    ("Du lundi au vendredi : 9h30-12h30 / 14h-17h", "Mo-Fr 09:30-12:30,14:00-17:00"),
    ("Lundi au Jeudi : 9h00 - 12h30 / 14h00 - 17h30 et Vendredi : 9h00 - 12h30 / 14h00 - 16h30",
     "Mo-Th 09:00-12:30,14:00-17:30; Fr 09:00-12:30,14:00-16:30"),
    ("Horaires Lundi : 14h - 18h00Mardi, mercredi, jeudi : 9 h - 12 h / 13 h 15 - 18h00"
     "Vendredi : 9 h - 12 h / 13 h 15 - 17 h 30 ",
     "Mo 14:00-18:00; Tu-Th 09:00-12:00,13:15-18:00; Fr 09:00-12:00,13:15-17:30"),
    ("Permanence lundi au jeudi de 9h30 - 12h", "Mo-Th 09:30-12:00"),
    ("Ouvert du mardi au vendredi de 9h - 12h et de 13h30 -17h",
     "Tu-Fr 09:00-12:00,13:30-17:00"),
    ("Permanence: du lundi au jeudi de 14h à 18h et le vendredi de 14h à 17h",
     "Mo-Th 14:00-18:00; Fr 14:00-17:00"),
    ("Permanences :<ul><li>Lundi de 14h - 16h</li><li>Mardi de 10h30 - 12h</li>"
     "<li>Jeudi de 14h - 16h</li></ul>",
     "Mo,Th 14:00-16:00; Tu 10:30-12:00"),
    ("<ul><li>mardi-jeudi-vendredi-samedi 14H00-17H45</li><li>mercredi 15H00-17H45</li></ul>",
     "Tu,Th-Sa 14:00-17:45; We 15:00-17:45"),
    ("Lundi, mardi, jeudi, vendredi 9h-12h / 13h30 -17h00", "Mo,Tu,Th,Fr 09:00-12:00,13:30-17:00"),
    ("Lundi, mardi, mercredi, jeudi : 9h - 12h et 13h30 - 18h<br />Vendredi : 9h - 12h et "
     "13h30 - 17h<br />Samedi : 9h - 12h",
     "Mo-Th 09:00-12:00,13:30-18:00; Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00"),
    ("Du lundi au jeudi : 09h - 12h30   14h00 - 17h 30Vendredi 09h00 - 12h30   13h30 - 17h00",
     "Mo-Th 09:00-12:30,14:00-17:30; Fr 09:00-12:30,13:30-17:00"),
    ("Lundi au Vendredi 8h - 16h30", "Mo-Fr 08:00-16:30"),
    ('Jeudi de 15h à 17h."', "Th 15:00-17:00"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), REGULAR)
def test_regular_french_text_is_converted(text, expected):
    converted = hours_convert.from_french(text)
    assert converted == expected
    assert hours.is_valid(converted)


# Free text that is not regular: kept and shown as written, never guessed.
IRREGULAR = [
    "Du lundi au vendredi : 9h - 12h / 12h30 - 16h \nfermé le mercredi",  # an exception
    "Du lundi au vendredi de 9h00 - 12h30 et le mardi après-midi de 14h00 - 17h00.",
    "Du lundi au vendredi :de 9h - 12h et de 13h30 - 17h30 et de 9h - 12 et de 14h - 17h "
    "pendant les congés scolaires",  # a second schedule for the holidays
    "De 9h - 12h et de 14h - 17h",  # no day: which days would be a guess
    "8h30 - 12h00 / 13h30 - 17h00",
    "Très variables",
    "Pas d'horaires fixes d'ouverture.Prendre rendez-vous par téléphone.",
    "Du lundi ou vendredi de 9h - 12h et de 14h - 16h30",  # a typo (« ou »)
    "Du Lundi au Vendredi, avec ou sans rendez-vous, de 8h45 - 12h15 et de 14h00 - 18h00.",
    "Bureaux ouverts les lundis de 14 - 17h30 ainsi que les mardis aux vendredis de 9 - 12h30 "
    "et de 14 - 17h30 sauf le vendredi (16h30)",
    "Mardi 18.30h-20h<br />20h-21h45<br />Mercredi 16h-18h<br />18h-20h(atelier service jeunesse)",
    "Du lundi au vendredi de 9h - 14h et de 12h - 17h",  # overlapping ranges
    "",
]


@pytest.mark.parametrize("text", IRREGULAR)
def test_irregular_text_is_not_converted(text):
    assert hours_convert.from_french(text) is None


def test_html_and_entities_are_removed_from_text_shown_as_written():
    assert hours_convert.plain_text("Lundi<br />Ferm&eacute; en ao&ucirc;t") == (
        "Lundi\nFermé en août"
    )
