"""The dialogue benchmark's report shows a dev failure in full and a held-out one by id."""

from __future__ import annotations

import io

from bench.dialogues import Dialogue, Failure, Results, Turn, report


def failure(split: str, ident: str, sent: str) -> Failure:
    dialogue = Dialogue(ident, "letter", (Turn(sent, ("plus proche",)),), split)
    return Failure(dialogue, 1, sent, "Je peux vous aider à…", "missing 'plus proche'")


def test_held_out_failures_are_reported_without_their_text() -> None:
    results = Results()
    for split, ident, sent in [
        ("dev", "d-01", "un epn a brest"),
        ("heldout", "h-01", "Bonjour Madame, où m'aider à Douarnenez"),
        ("fresh", "f-01", "slt ou imprimer a mamers"),
    ]:
        results.total["letter"] += 1
        results.split_total[split] += 1
        results.failures.append(failure(split, ident, sent))
    out = io.StringIO()
    assert report(results, out) == 0.0
    printed = out.getvalue()
    assert "FAIL d-01 (dev, letter) turn 1: missing 'plus proche'" in printed
    assert "sent: un epn a brest" in printed
    assert "FAIL h-01 (heldout, letter) turn 1: held out" in printed
    assert "FAIL f-01 (fresh, letter) turn 1: held out" in printed
    assert "Douarnenez" not in printed and "mamers" not in printed
    assert printed.count("missing") == 1
