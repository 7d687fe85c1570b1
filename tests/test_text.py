from common.text import fold, key, keys


def test_fold_strips_accents_case_and_ligatures():
    assert fold("Châteaulin") == "chateaulin"
    assert fold("CŒUR") == "coeur"
    assert fold("Plonévez-du-Faou") == "plonevez-du-faou"


def test_key_ignores_hyphens_apostrophes_and_spacing():
    assert key("Pont-l'Abbé") == key("pont l abbe") == "pont l abbe"
    assert key("  Carhaix   Plouguer ") == "carhaix plouguer"


def test_key_expands_saint_abbreviations():
    assert key("St-Pol-de-Léon") == key("saint pol de leon")
    assert key("Ste Anne") == "sainte anne"


def test_keys_add_the_joined_apostrophe_form():
    assert keys("Pont-l'Abbé") == {"pont l abbe", "pont labbe"}
    assert keys("Brest") == {"brest"}
    assert keys("   ") == set()
