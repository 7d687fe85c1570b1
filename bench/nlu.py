"""Held-out NLU quality: intent accuracy, macro-F1, entity F1, confusions, threshold sweep.

python -m bench.nlu [--model models/xxx.tar.gz]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from common.config import PROJECT_ROOT
from rasa_ext.evaluation import evaluate, load_examples, model_parser
from tools.stack import newest_model

HELD_OUT = PROJECT_ROOT / "nlu_data" / "test"


async def main(model: Path, show_errors: int) -> None:
    examples = load_examples(sorted(HELD_OUT.glob("*.yml")))
    report = await evaluate(model_parser(model), examples)
    print(f"model: {model.name}")
    print(f"held-out examples: {len(examples)} ({len(report.per_intent)} intents)")
    print(f"intent accuracy:   {report.accuracy:.3f}")
    print(f"intent macro-F1:   {report.macro_f1:.3f}")
    print(f"entity F1:         {report.entity_f1:.3f}")
    print(f"fallback rate:     {report.fallback_rate:.3f}")
    print("\nper intent (F1, support):")
    for intent, score in sorted(report.per_intent.items(), key=lambda kv: kv[1]["f1"]):
        print(f"  {intent:22s} {score['f1']:.3f}  {int(score['support'])}")
    print("\nconfusions (expected -> predicted, count):")
    for gold, got, n in report.confusions():
        print(f"  {gold:22s} -> {got:22s} {n}")
    print("\nfallback threshold sweep (accuracy, fallback rate):")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
        accuracy, falls = report.accuracy_at(threshold)
        print(f"  {threshold:.2f}  {accuracy:.3f}  {falls:.3f}")
    if show_errors:
        print("\nerrors:")
        for p in report.errors()[:show_errors]:
            print(f"  [{p.example.intent} -> {p.intent} {p.top_confidence:.2f}] {p.example.text}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--errors", type=int, default=40, help="how many errors to list")
    args = parser.parse_args()
    asyncio.run(main(args.model or newest_model(PROJECT_ROOT / "models"), args.errors))
