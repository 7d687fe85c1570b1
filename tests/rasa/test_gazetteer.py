from rasa_ext.gazetteer import (
    FuzzyIndex,
    build_gazetteer,
    edit_distance,
    find_entities,
    phonetic_key,
)

LOOKUPS = [
    {
        "name": "commune",
        "elements": [
            "Carhaix-Plouguer",
            "Le Mans",
            "Saint-Pol-de-Léon",
            "Plouzané",
            "Locmaria-Plouzané",
            "Fillé",
            "Brest",
        ],
    },
    {"name": "procedure", "elements": ["rsa", "apa", "revenu de solidarité active"]},
    {"name": "ignored", "elements": ["Brest"]},
]
SYNONYMS = {
    "carhaix": "Carhaix-Plouguer",
    "revenu de solidarité active": "rsa",
    "st pol": "Saint-Pol-de-Léon",
}
GAZETTEER = build_gazetteer(LOOKUPS, SYNONYMS, ["commune", "procedure"])
AMBIGUOUS = frozenset({"fille"})


def values(text: str) -> list[tuple[str, str, str]]:
    return [
        (e["entity"], e["value"], text[e["start"] : e["end"]])
        for e in find_entities(text, GAZETTEER, AMBIGUOUS)
    ]


def test_only_configured_entities_are_built():
    assert set(GAZETTEER) == {"commune", "procedure"}


def test_matches_without_accents_hyphens_or_case():
    assert values("je suis a SAINT POL DE LEON") == [
        ("commune", "Saint-Pol-de-Léon", "SAINT POL DE LEON")
    ]
    assert values("près du mans? non, au le mans") == [("commune", "Le Mans", "le mans")]


def test_synonyms_return_the_canonical_value():
    assert values("un epn vers carhaix") == [("commune", "Carhaix-Plouguer", "carhaix")]
    assert values("mon revenu de solidarite active") == [
        ("procedure", "rsa", "revenu de solidarite active")
    ]
    assert values("st-pol") == [("commune", "Saint-Pol-de-Léon", "st-pol")]


def test_longest_name_wins():
    assert values("à Locmaria-Plouzané") == [("commune", "Locmaria-Plouzané", "Locmaria-Plouzané")]


def test_several_entities_in_one_message_keep_offsets():
    text = "RSA à Brest et APA au Mans"
    assert values(text) == [
        ("procedure", "rsa", "RSA"),
        ("commune", "Brest", "Brest"),
        ("procedure", "apa", "APA"),
    ]


def test_ambiguous_names_need_a_capital_a_preposition_or_to_stand_alone():
    assert values("ma fille a besoin d'un ordinateur") == []
    assert values("j'habite Fillé") == [("commune", "Fillé", "Fillé")]
    assert values("un lieu à fille") == [("commune", "Fillé", "fille")]
    assert values("fille") == [("commune", "Fillé", "fille")]


def test_no_partial_word_matches():
    assert values("brestois et rsaa") == []


def test_a_synonym_counts_only_for_the_entity_of_its_value_and_ignores_case():
    lookups = [
        {"name": "commune", "elements": ["Carhaix-Plouguer", "Le Mans"]},
        {"name": "site", "elements": ["Brest", "Carhaix-Plouguer"]},
    ]
    synonyms = {"Carhaix": "Carhaix-Plouguer", "Mans": "Le Mans", "hotel du departement": "Quimper"}
    gazetteer = build_gazetteer(lookups, synonyms, ["commune", "site"])
    found = [(e["entity"], e["value"]) for e in find_entities("Carhaix ou au Mans", gazetteer)]
    assert found == [
        ("commune", "Carhaix-Plouguer"),
        ("site", "Carhaix-Plouguer"),
        ("commune", "Le Mans"),
    ]
    assert find_entities("l'hotel du departement", gazetteer) == []


def test_the_verb_a_is_not_a_place_preposition():
    assert values("le rendez-vous a fille") == []
    assert values("le rendez-vous à fille") == [("commune", "Fillé", "fille")]


FUZZY_LOOKUPS = [
    {
        "name": "commune",
        "elements": [
            "Concarneau",
            "Landerneau",
            "Plougastel-Daoulas",
            "Morlaix",
            "Mamers",
            "La Feuillée",
            "Plouguerneau",
            "Plouguerne",
            "Brest",
            "Changé",
        ],
    }
]
FUZZY_GAZETTEER = build_gazetteer(FUZZY_LOOKUPS, {"plougastel": "Plougastel-Daoulas"}, ["commune"])
COMMON_WORDS = frozenset({"je", "suis", "a", "la", "habite", "change", "formation"})


def fuzzy_values(text: str) -> list[tuple[str, str]]:
    index = FuzzyIndex(FUZZY_GAZETTEER["commune"], COMMON_WORDS, frozenset({"change"}))
    found = find_entities(text, FUZZY_GAZETTEER, frozenset({"change"}), fuzzy={"commune": index})
    return [(e["value"], text[e["start"] : e["end"]]) for e in found]


def test_misspelt_communes_are_found_within_one_or_two_edits():
    assert fuzzy_values("un epn à Concarnau") == [("Concarneau", "Concarnau")]
    assert fuzzy_values("j'habite a landernau") == [("Landerneau", "landernau")]
    assert fuzzy_values("et à Plougastell ?") == [("Plougastel-Daoulas", "Plougastell")]
    assert fuzzy_values("je suis a Morlaixx") == [("Morlaix", "Morlaixx")]
    assert fuzzy_values("Concarnaeu") == [("Concarneau", "Concarnaeu")]  # 2 edits, 10 letters


def test_fuzzy_matching_keeps_clear_of_short_words_known_words_and_inflections():
    assert fuzzy_values("Mamer") == []  # five letters: too short to guess
    assert fuzzy_values("Morlai") == [("Morlaix", "Morlai")]
    assert fuzzy_values("Mourlai et Mørlaiz") == []  # 2 edits on 7 letters
    assert fuzzy_values("une formation") == []  # a word of the training examples
    assert fuzzy_values("la feuille d'imposition") == []  # feminine/plural of a word
    assert fuzzy_values("changer") == []  # ambiguous names are never guessed
    assert fuzzy_values("Brest") == [("Brest", "Brest")]


def test_a_misspelling_close_to_two_names_is_left_alone():
    # "plouguernex" is one edit from Plouguerne, two from Plouguerneau: the closest wins;
    # "plouguernea" is one edit from both: nobody can tell.
    assert fuzzy_values("plouguernex") == [("Plouguerne", "plouguernex")]
    assert fuzzy_values("plouguernea") == []


def test_edit_distance_stops_past_its_limit():
    assert edit_distance("concarnau", "concarneau", 2) == 1
    assert edit_distance("abc", "xyz", 1) == 2


PHONETIC_LOOKUPS = [
    {"name": "commune", "elements": ["Quimper", "Quimperlé", "Morlaix", "Brest", "Plouyé"]}
]
PHONETIC_GAZETTEER = build_gazetteer(PHONETIC_LOOKUPS, {}, ["commune"])


def phonetic_values(text: str, common: frozenset[str] = frozenset({"je", "suis", "a"})) -> list:
    index = FuzzyIndex(PHONETIC_GAZETTEER["commune"], common, frozenset())
    found = find_entities(text, PHONETIC_GAZETTEER, fuzzy={"commune": index})
    return [(e["value"], text[e["start"] : e["end"]]) for e in found]


def test_communes_written_as_they_sound_are_found():
    assert phonetic_values("je suis a kemper") == [("Quimper", "kemper")]
    assert phonetic_values("Kemperle") == [("Quimperlé", "Kemperle")]
    assert phonetic_values("a morlé") == [("Morlaix", "morlé")]
    assert phonetic_values("epn brset") == [("Brest", "brset")]  # two letters swapped


def test_sounding_alike_needs_five_letters_and_an_unknown_word():
    assert phonetic_values("brst") == []
    assert phonetic_values("de la pluie", frozenset({"de", "la", "pluie"})) == []
    assert phonetic_values("de la pluie") == [("Plouyé", "pluie")]  # why "pluie" is trained on


def test_phonetic_key_merges_french_spellings_of_one_sound():
    assert phonetic_key("kemper") == phonetic_key("quimper")
    assert phonetic_key("landerno") == phonetic_key("landerneau")
    assert phonetic_key("konkarno") == phonetic_key("concarneau")
    assert phonetic_key("shatolin") == phonetic_key("chateaulin")
