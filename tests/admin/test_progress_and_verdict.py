"""Pure parts of retraining: reading Rasa's output, and the activation verdict."""

from __future__ import annotations

from integrations.admin.compare import Comparison
from integrations.admin.registry import Scores
from integrations.admin.training import ProgressParser

# Lines as `rasa train` prints them (colours and tqdm's carriage returns included).
RASA_OUTPUT = [
    "\x1b[0m2026-11-24 17:22:45 INFO     rasa.engine.training.hooks  - Starting to train "
    "component 'LexicalSyntacticFeaturizer'.",
    "2026-11-24 17:22:48 INFO     rasa.engine.training.hooks  - Starting to train component "
    "'DIETClassifier'.",
    "Epochs:   0%|          | 0/20 [00:00<?, ?it/s]",
    "Epochs:  35%|███▌      | 7/20 [00:42<02:00,  5.25s/it, t_loss=2.98, i_acc=0.985]",
    "Epochs:  35%|███▌      | 7/20 [00:43<02:00,  5.25s/it, t_loss=2.97, i_acc=0.986]",
    "2026-11-24 17:25:19 INFO     rasa.engine.training.hooks  - Restored component "
    "'TEDPolicy' from cache.",
]


def test_progress_follows_components_and_epochs() -> None:
    parser = ProgressParser()
    changes = [parser.feed(line) for line in RASA_OUTPUT]
    assert changes == [True, True, True, True, False, True]
    assert parser.as_dict() == {
        "phase": "training",
        "component": "TEDPolicy",
        "epoch": None,
        "epochs": None,
        "done": ["LexicalSyntacticFeaturizer", "DIETClassifier", "TEDPolicy"],
    }
    parser = ProgressParser()
    for line in RASA_OUTPUT[:4]:
        parser.feed(line)
    assert (parser.component, parser.epoch, parser.epochs) == ("DIETClassifier", 7, 20)


def scores(accuracy: float, macro_f1: float, split: str = "v1", **per_intent: float) -> Scores:
    return Scores(
        split, 300, accuracy, macro_f1, {k: {"f1": v, "support": 10} for k, v in per_intent.items()}
    )


def test_verdict_within_and_beyond_the_tolerance() -> None:
    active = scores(0.95, 0.95, greet=1.0, thank=0.9)
    assert Comparison(scores(0.945, 0.96), active, 0.01).not_worse
    assert not Comparison(scores(0.93, 0.96), active, 0.01).not_worse  # accuracy drops
    assert not Comparison(scores(0.96, 0.93), active, 0.01).not_worse  # macro-F1 drops
    assert Comparison(scores(0.5, 0.5), None, 0.01).not_worse  # nothing to compare with
    other_split = Comparison(scores(0.99, 0.99, split="v2"), active, 0.01)
    assert not other_split.comparable and not other_split.not_worse
    assert "moins bon" in Comparison(scores(0.9, 0.9), active, 0.01).reason()


def test_per_intent_changes_worst_first() -> None:
    active = scores(0.9, 0.9, greet=1.0, thank=0.9, old=0.5)
    candidate = scores(0.9, 0.9, greet=0.8, thank=0.95, new=0.7)
    changes = [
        (c.intent, c.delta is not None and round(c.delta, 2))
        for c in Comparison(candidate, active, 0.01).changes()
    ]
    assert changes == [("greet", -0.2), ("thank", 0.05), ("new", False), ("old", False)]
