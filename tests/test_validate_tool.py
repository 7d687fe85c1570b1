from tools.validate import blocking_warnings, responses_used_by_actions

OUTPUT = """\
x/io.py:100: UserWarning: The utterance 'utter_fallback_offer_human' is not used in any story or rule.
x/io.py:100: UserWarning: The utterance 'utter_forgotten' is not used in any story or rule.
\x1b[93mx/io.py:100: UserWarning: The intent 'ask_fibre' is listed in the domain file, but is not found in the NLU training data.\x1b[0m
INFO rasa.validator - Validating intents...
"""


def test_only_responses_sent_by_actions_are_excused():
    problems = blocking_warnings(OUTPUT, {"utter_fallback_offer_human"})
    assert problems == [
        "The utterance 'utter_forgotten' is not used in any story or rule.",
        "The intent 'ask_fibre' is listed in the domain file, but is not found in the NLU training data.",
    ]


def test_responses_named_in_actions_are_found():
    used = responses_used_by_actions()
    assert {"utter_fallback_offer_human", "utter_fallback_rephrase_topics", "utter_default"} <= used
