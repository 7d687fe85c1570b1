"""The TF-IDF logistic regression averaged with DIET's ranking (rasa_ext/linear_intent.py)."""

import numpy as np

from rasa_ext.linear_intent import blend, build_classifier, column_major


def test_blend_is_the_weighted_mean_best_first():
    diet = [{"name": "ask_hours", "confidence": 0.6}, {"name": "ask_contact", "confidence": 0.4}]
    linear = {"ask_hours": 0.1, "ask_contact": 0.9}
    ranking = blend(diet, linear, 0.4)
    assert [r["name"] for r in ranking] == ["ask_contact", "ask_hours"]
    assert abs(ranking[0]["confidence"] - (0.4 * 0.4 + 0.6 * 0.9)) < 1e-9


def test_an_intent_left_out_of_diets_ranking_counts_zero_for_diet():
    ranking = blend([{"name": "greet", "confidence": 1.0}], {"greet": 0.2, "thank": 0.8}, 0.5)
    assert {r["name"]: round(r["confidence"], 2) for r in ranking} == {"greet": 0.6, "thank": 0.4}


def test_the_linear_classifier_reads_folded_text():
    classifier = build_classifier({"C": 30.0, "min_ngram": 1, "max_ngram": 5})
    classifier.fit(
        [
            "où est l'espace numérique",
            "un lieu numérique près de chez moi",
            "merci beaucoup",
            "merci",
        ],
        ["find_digital_place", "find_digital_place", "thank", "thank"],
    )
    assert list(classifier.predict(["ESPACE NUMERIQUE"])) == ["find_digital_place"]


def test_column_major_weights_give_the_same_probabilities():
    classifier = build_classifier({"C": 30.0, "min_ngram": 1, "max_ngram": 5})
    texts = ["où est l'espace numérique", "merci beaucoup", "le rsa", "mon dossier apa"]
    classifier.fit(texts, ["find_digital_place", "thank", "ask_rsa", "ask_apa"])
    before = classifier.predict_proba(["espace numerique merci", "rsa apa"])
    column_major(classifier)
    assert classifier[-1].coef_.T.flags["C_CONTIGUOUS"]
    assert np.allclose(classifier.predict_proba(["espace numerique merci", "rsa apa"]), before)
