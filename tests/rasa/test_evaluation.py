from rasa_ext.evaluation import Example, evaluate

GOLD = [
    Example("bonjour", "greet"),
    Example("salut", "greet"),
    Example("rsa à brest", "ask_procedure", (("procedure", "rsa"), ("commune", "Brest"))),
    Example("blabla", "out_of_scope"),
]
ANSWERS = {
    "bonjour": ("greet", 0.9, []),
    "salut": ("ask_procedure", 0.6, []),
    "rsa à brest": ("ask_procedure", 0.8, [("procedure", "rsa"), ("commune", "Brést")]),
    "blabla": ("nlu_fallback", 0.4, []),
}


async def fake_parse(text: str) -> dict:
    name, confidence, entities = ANSWERS[text]
    ranking = [{"name": name, "confidence": confidence}]
    if name == "nlu_fallback":
        ranking.append({"name": "out_of_scope", "confidence": 0.3})
    return {
        "intent": {"name": name, "confidence": confidence},
        "intent_ranking": ranking,
        "entities": [{"entity": e, "value": v} for e, v in entities],
    }


async def test_report_figures():
    report = await evaluate(fake_parse, GOLD)
    assert report.accuracy == 0.5
    assert report.fallback_rate == 0.25
    assert report.entity_f1 == 1.0  # values compared without accents
    assert report.per_intent["greet"]["f1"] == 2 / 3
    assert report.per_intent["out_of_scope"]["f1"] == 0.0
    assert round(report.macro_f1, 4) == round((2 / 3 + 2 / 3 + 0) / 3, 4)
    assert report.confusions() == [
        ("greet", "ask_procedure", 1),
        ("out_of_scope", "nlu_fallback", 1),
    ]


async def test_threshold_simulation_uses_the_top_intent_before_fallback():
    report = await evaluate(fake_parse, GOLD)
    assert report.accuracy_at(0.2) == (0.75, 0.0)  # blabla would have been out_of_scope
    assert report.accuracy_at(0.85) == (0.25, 0.75)
