"""A name that is both a commune and a council site ("Brest") is read once, as one of them."""

from __future__ import annotations

from rasa_ext.gazetteer import build_gazetteer, find_entities, one_reading

LOOKUPS = [
    {"name": "commune", "elements": ["Brest", "Quimper", "Carhaix-Plouguer", "Concarneau"]},
    {"name": "site", "elements": ["Brest", "Quimper", "Carhaix", "hôtel du département"]},
]
SYNONYMS = {
    "hôtel du département": "Quimper",
    "hotel du departement": "Quimper",
    "carhaix": "Carhaix-Plouguer",
}
GAZETTEER = build_gazetteer(LOOKUPS, SYNONYMS, ["commune", "site"])
SITE_INTENTS = frozenset({"book_room", "cancel_booking"})


def read(text: str, intent: str | None) -> list[tuple[str, str]]:
    found = one_reading(find_entities(text, GAZETTEER), text, intent, SITE_INTENTS)
    return [(e["entity"], e["value"]) for e in found]


def test_a_site_synonym_is_no_commune() -> None:
    assert "hotel du departement" not in GAZETTEER["commune"]
    assert GAZETTEER["site"]["hotel du departement"] == "Quimper"
    # A commune's synonym that is also a site's name stays the commune's.
    assert GAZETTEER["commune"]["carhaix"] == "Carhaix-Plouguer"


def test_booking_intent_reads_the_site() -> None:
    assert read("une salle à Brest jeudi 14h", "book_room") == [("site", "Brest")]
    assert read("annule ma résa de Carhaix", "cancel_booking") == [("site", "Carhaix")]


def test_booking_words_read_the_site_whatever_the_intent() -> None:
    assert read("la salle de Quimper", "select_item") == [("site", "Quimper")]
    assert read("au site de Brest", "inform") == [("site", "Brest")]


def test_other_intents_read_the_commune() -> None:
    assert read("un espace numérique à Brest", "find_digital_place") == [("commune", "Brest")]
    assert read("une assistante sociale a carhaix", "ask_social_worker") == [
        ("commune", "Carhaix-Plouguer")
    ]
    assert read("à Quimper", "inform") == [("commune", "Quimper")]


def test_a_bare_answer_with_a_time_keeps_both() -> None:
    # "Brest jeudi 14h" may answer the booking form as well as a question about places.
    assert sorted(read("Brest jeudi 14h", "inform")) == [("commune", "Brest"), ("site", "Brest")]


def test_a_name_of_one_kind_only_is_untouched() -> None:
    assert read("une salle à Concarneau", "book_room") == [("commune", "Concarneau")]
    assert read("le site du hotel du departement", None) == [("site", "Quimper")]
