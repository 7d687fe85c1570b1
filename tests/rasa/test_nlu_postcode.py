"""Postcodes: one commune -> that commune; a code shared by several -> postcode entity."""

from __future__ import annotations

from common.config import PROJECT_ROOT
from rasa_ext.postcode import find_postcodes, read_postcodes

POSTCODES = read_postcodes(PROJECT_ROOT / "data" / "communes.csv")


def found(text: str, known: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    return [
        (e["entity"], e["value"], text[e["start"] : e["end"]])
        for e in find_postcodes(text, POSTCODES, known)
    ]


def test_the_table_covers_both_departements() -> None:
    assert POSTCODES["29200"] == ["Brest"]
    assert POSTCODES["72000"] == ["Le Mans"]
    assert len(POSTCODES["29600"]) > 1
    assert all(code[:2] in {"29", "72"} for code in POSTCODES)


def test_a_code_of_one_commune_is_that_commune() -> None:
    assert found("espace numérique 29200") == [("commune", "Brest", "29200")]
    assert found("29900") == [("commune", "Concarneau", "29900")]
    assert found("j'habite au 72 000") == [("commune", "Le Mans", "72 000")]


def test_a_shared_code_is_a_postcode_entity() -> None:
    assert found("je suis dans le 29600") == [("postcode", "29600", "29600")]
    assert found("72300 svp") == [("postcode", "72300", "72300")]


def test_a_commune_already_named_is_not_repeated() -> None:
    assert found("Brest 29200", frozenset({"Brest"})) == []


def test_other_numbers_are_ignored() -> None:
    assert found("75001") == []  # not in Finistère or Sarthe
    assert found("appelez le 0298292000") == []
    assert found("le 12/29200") == []
    assert found("292001") == []
    assert found("1h30 le 29/12") == []
