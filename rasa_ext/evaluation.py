"""NLU evaluation on a held-out split: intent accuracy, macro-F1, entity F1, confusions.

Used by the benchmark (``bench/nlu.py``) and by the admin retraining, which compares a
new model with the active one before activation (``integrations/admin``). The gateway
has no Rasa: it runs this module in Rasa's environment and reads one JSON line,

    python -m rasa_ext.evaluation MODEL EXAMPLES.yml... --json

(``{"examples", "accuracy", "macro_f1", "entity_f1", "fallback_rate", "per_intent"}``).

Intent scores are scikit-learn's (``accuracy_score``, ``f1_score(average="macro")``,
``classification_report``, ``confusion_matrix``) over the intents of the gold examples;
a prediction of another intent (``nlu_fallback`` included) counts as a miss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.nlu import FALLBACK_INTENT
from common.text import fold

Parse = Callable[[str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[tuple[str, str], ...] = ()


@dataclass
class Prediction:
    example: Example
    intent: str
    confidence: float
    top_intent: str  # best intent before the fallback classifier, if it fired
    top_confidence: float
    entities: tuple[tuple[str, str], ...] = ()


@dataclass
class Report:
    predictions: list[Prediction]
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def gold(self) -> list[str]:
        return [p.example.intent for p in self.predictions]

    @property
    def predicted(self) -> list[str]:
        return [p.intent for p in self.predictions]

    @property
    def labels(self) -> list[str]:
        """The intents scored: those of the gold examples."""
        return sorted(set(self.gold))

    @property
    def accuracy(self) -> float:
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(self.gold, self.predicted)) if self.predictions else 0.0

    @property
    def macro_f1(self) -> float:
        from sklearn.metrics import f1_score

        if not self.predictions:
            return 0.0
        return float(
            f1_score(
                self.gold, self.predicted, labels=self.labels, average="macro", zero_division=0
            )
        )

    def classification_report(self) -> str:
        """scikit-learn's per-intent precision, recall, F1 and support, as text."""
        from sklearn.metrics import classification_report

        return classification_report(
            self.gold, self.predicted, labels=self.labels, digits=3, zero_division=0
        )

    def confusion_matrix(self) -> tuple[list[str], list[list[int]]]:
        """(labels, matrix): rows are the gold intents, columns the predicted ones
        (the gold intents, then any other intent predicted, such as nlu_fallback)."""
        from sklearn.metrics import confusion_matrix

        labels = self.labels + sorted(set(self.predicted) - set(self.labels))
        matrix = confusion_matrix(self.gold, self.predicted, labels=labels)
        return labels, matrix.tolist()

    @property
    def fallback_rate(self) -> float:
        misses = sum(p.intent == FALLBACK_INTENT for p in self.predictions)
        return misses / len(self.predictions) if self.predictions else 0.0

    @property
    def entity_f1(self) -> float:
        tp = fp = fn = 0
        for p in self.predictions:
            expected, got = Counter(_norm(p.example.entities)), Counter(_norm(p.entities))
            common = sum((expected & got).values())
            tp += common
            fp += sum(got.values()) - common
            fn += sum(expected.values()) - common
        return _f1(tp, fp, fn)

    def confusions(self, limit: int = 15) -> list[tuple[str, str, int]]:
        pairs = Counter(
            (p.example.intent, p.intent) for p in self.predictions if p.intent != p.example.intent
        )
        return [(gold, got, n) for (gold, got), n in pairs.most_common(limit)]

    def scores(self) -> dict[str, Any]:
        """The figures the retraining compares, as the CLI prints them."""
        return {
            "examples": len(self.predictions),
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "entity_f1": self.entity_f1,
            "fallback_rate": self.fallback_rate,
            "per_intent": self.per_intent,
        }

    def errors(self) -> list[Prediction]:
        return [p for p in self.predictions if p.intent != p.example.intent]

    def accuracy_at(self, threshold: float) -> tuple[float, float]:
        """(accuracy, fallback rate) had the fallback threshold been ``threshold``."""
        hits = falls = 0
        for p in self.predictions:
            if p.top_confidence < threshold:
                falls += 1
            elif p.top_intent == p.example.intent:
                hits += 1
        n = len(self.predictions) or 1
        return hits / n, falls / n


def _norm(entities: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, fold(value)) for name, value in entities]


def _f1(tp: int, fp: int, fn: int) -> float:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Examples (with annotated entities and synonym values) from Rasa NLU YAML files."""
    from rasa.shared.nlu.training_data.loading import load_data

    found: list[Example] = []
    for path in paths:
        data = load_data(str(path))
        for message in data.intent_examples:
            entities = tuple((e["entity"], str(e["value"])) for e in message.get("entities") or [])
            found.append(Example(message.get("text"), message.get("intent"), entities))
    return found


async def evaluate(parse: Parse, examples: list[Example]) -> Report:
    predictions = []
    for example in examples:
        result = await parse(example.text)
        intent = result.get("intent") or {}
        ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != FALLBACK_INTENT]
        top = ranking[0] if ranking else intent
        predictions.append(
            Prediction(
                example=example,
                intent=intent.get("name") or FALLBACK_INTENT,
                confidence=float(intent.get("confidence") or 0.0),
                top_intent=top.get("name") or FALLBACK_INTENT,
                top_confidence=float(top.get("confidence") or 0.0),
                entities=tuple((e["entity"], str(e["value"])) for e in result.get("entities", [])),
            )
        )
    report = Report(predictions)
    if predictions:
        from sklearn.metrics import precision_recall_fscore_support

        labels = report.labels
        _, _, f1, support = precision_recall_fscore_support(
            report.gold, report.predicted, labels=labels, zero_division=0
        )
        report.per_intent = {
            intent: {"f1": float(f), "support": int(n)}
            for intent, f, n in zip(labels, f1, support, strict=True)
        }
    return report


def model_parser(model_path: Path) -> Parse:
    """A parse function backed by a model loaded in this process (by
    ``rasa_ext.speedups``'s load, as the workers load it)."""
    from rasa.core.agent import Agent

    from rasa_ext.speedups import install

    install()
    agent = Agent.load(str(model_path))

    async def parse(text: str) -> dict[str, Any]:
        return await agent.parse_message(text)

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rasa_ext.evaluation",
        description="Scores of a trained model on Rasa NLU example files.",
    )
    parser.add_argument("model", type=Path, help="the model's .tar.gz")
    parser.add_argument("examples", type=Path, nargs="+", help="Rasa NLU YAML files")
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON line")
    args = parser.parse_args(argv)
    for path in (args.model, *args.examples):
        if not path.is_file():
            parser.error(f"no such file: {path}")
    examples = load_examples(args.examples)
    report = asyncio.run(evaluate(model_parser(args.model), examples))
    if args.json:
        print(json.dumps(report.scores()), flush=True)
    else:
        print(
            f"{len(examples)} examples: accuracy {report.accuracy:.3f}, "
            f"macro-F1 {report.macro_f1:.3f}, entity F1 {report.entity_f1:.3f}"
        )
        print(report.classification_report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
