from rasa_ext.unknown_words import has_no_known_word

VOCABULARY = frozenset({"bonjour", "je", "cherche", "un", "ordinateur", "brest", "salle"})


def test_keyboard_mashing_has_no_known_word():
    assert has_no_known_word("xqzw blorp vrk", VOCABULARY, 0.75)
    assert has_no_known_word("qsdfghjkl", VOCABULARY, 0.75)


def test_typos_numbers_and_one_known_word_are_enough():
    assert not has_no_known_word("bonjoure", VOCABULARY, 0.75)
    assert not has_no_known_word("ordinatuer svp", VOCABULARY, 0.75)
    assert not has_no_known_word("6", VOCABULARY, 0.75)
    assert not has_no_known_word("14h30", VOCABULARY, 0.75)
    assert not has_no_known_word("xqzw salle", VOCABULARY, 0.75)


def test_messages_without_words_are_left_to_the_classifier():
    assert not has_no_known_word("🙂 ?!", VOCABULARY, 0.75)
