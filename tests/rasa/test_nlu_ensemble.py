"""The TF-IDF logistic regression averaged with DIET's ranking (rasa_ext/linear_intent.py)."""

import numpy as np

from common.config import PROJECT_ROOT
from rasa_ext.evaluation import load_examples
from rasa_ext.linear_intent import Scorer, blend, build_classifier


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


def test_the_scorer_gives_scikit_learns_probabilities():
    train = load_examples(sorted((PROJECT_ROOT / "nlu_data/train").glob("*.yml")))[::5]
    classifier = build_classifier({"C": 100.0, "min_ngram": 1, "max_ngram": 5})
    classifier.fit([e.text for e in train], [e.intent for e in train])
    scorer = Scorer(classifier)
    assert scorer.classes == list(classifier.classes_)
    assert len(scorer.classes) > 30
    held_out = load_examples(sorted((PROJECT_ROOT / "nlu_data/test").glob("*.yml")))
    texts = [*(e.text for e in held_out), "", "xqzw", "RSA RSA rsa !!", "a" * 300]
    expected = classifier.predict_proba(texts)
    got = np.array([scorer.probabilities(t) for t in texts])
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_a_pipeline_the_scorer_does_not_compute_keeps_its_own_call():
    classifier = build_classifier({"C": 30.0, "min_ngram": 1, "max_ngram": 5})
    classifier.set_params(logisticregression__multi_class="ovr")
    texts = ["où est l'espace numérique", "merci beaucoup", "le rsa", "mon dossier apa"]
    classifier.fit(texts, ["find_digital_place", "thank", "ask_rsa", "ask_apa"])
    expected = classifier.predict_proba(["rsa merci"])[0]
    assert np.array_equal(Scorer(classifier).probabilities("rsa merci"), expected)
