"""The ordinal entity: ranks in a list just shown, never dates, counts or school grades."""

from __future__ import annotations

import pytest

from rasa_ext.ordinal import find_ordinals


def ordinals(text: str) -> list[tuple[str, str]]:
    return [(e["value"], text[e["start"] : e["end"]]) for e in find_ordinals(text)]


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("le premier", "1", "premier"),
        ("la première svp", "1", "première"),
        ("le 1er", "1", "1er"),
        ("la 1ère", "1", "1ère"),
        ("la 1re", "1", "1re"),
        ("le deuxième", "2", "deuxième"),
        ("le deuxieme", "2", "deuxieme"),
        ("le 2e c'est où ?", "2", "2e"),
        ("la 2eme", "2", "2eme"),
        ("le 2ème", "2", "2ème"),
        ("le second", "2", "second"),
        ("la seconde", "2", "seconde"),
        ("plus d'infos sur le 3", "3", "3"),
        ("le troisieme", "3", "troisieme"),
        ("le n°4", "4", "4"),
        ("numéro 5", "5", "5"),
        ("le neuvième", "9", "neuvième"),
        ("le dernier", "last", "dernier"),
        ("prends la dernière", "last", "dernière"),
        ("dernière", "last", "dernière"),
        ("2", "2", "2"),
    ],
)
def test_ranks_are_read(text: str, value: str, surface: str) -> None:
    assert ordinals(text) == [(value, surface)]


@pytest.mark.parametrize(
    "text",
    [
        "ma fille entre en 6e et prend le car",
        "il est en classe de 3e",
        "le 2 mars à 10h",
        "le 1er mai c'est ouvert ?",
        "le 3 à 14h",
        "nous serons 2 personnes",
        "attendez une seconde",
        "la semaine dernière",
        "le mois dernier j'ai fait ma demande",
        "j'ai 2 enfants",
        "29200",
        "à 11h",
        "un rdv de 2 heures",
        "/select_item",
    ],
)
def test_dates_counts_grades_and_codes_are_no_ranks(text: str) -> None:
    assert ordinals(text) == []


def test_offsets_point_at_the_original_text() -> None:
    text = "Et le 2ÈME, c'est où ?"
    [entity] = find_ordinals(text)
    assert (entity["entity"], entity["value"], text[entity["start"] : entity["end"]]) == (
        "ordinal",
        "2",
        "2ÈME",
    )
