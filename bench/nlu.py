"""NLU quality of the project's pipeline next to Rasa's stock pipeline, trained on the same data.

    python -m bench.nlu                  # train both (NLU only), score on both held-out sets
    python -m bench.nlu --model M        # score model M instead of training ours
    python -m bench.nlu --model M --stock-model S  # score both, train nothing
    python -m bench.nlu --dev 5 --fold 0 # tuning: hold out fold 0 of 5 of the TRAINING data

The held-out splits are for measuring, never for tuning: nlu_data/test (looked at by
earlier sessions) and nlu_data/test_fresh (written later, frozen before the tuning that
followed). To tune, use ``--dev``, which trains on four fifths of nlu_data/train and
scores on the last fifth (a deterministic split of each intent's examples), and leaves
both held-out sets unread.

The stock pipeline is what ``rasa init`` configures in Rasa 3.6
(``rasa/cli/initial_project/config.yml``, the default pipeline written out), with
``language: fr``. Scores are scikit-learn's (``rasa_ext/evaluation.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common.config import PROJECT_ROOT
from rasa_ext.evaluation import Example, Report, evaluate, load_examples, model_parser

TRAIN = PROJECT_ROOT / "nlu_data" / "train"
LOOKUPS = PROJECT_ROOT / "nlu_data" / "lookups"
HELD_OUT = {
    "held-out nlu_data/test": PROJECT_ROOT / "nlu_data" / "test",
    "fresh held-out nlu_data/test_fresh": PROJECT_ROOT / "nlu_data" / "test_fresh",
}
OURS = PROJECT_ROOT / "config.yml"
STOCK_CONFIG = """\
recipe: default.v1
assistant_id: stock-pipeline
language: fr
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies: []
"""


# Components that read the conversation (the tracker, the domain): `rasa train nlu` has no
# domain to give them, and /model/parse no tracker, where they change nothing.
NEEDS_DIALOGUE = frozenset({"rasa_ext.button_choice.ButtonChoice"})


def nlu_only_config(config: Path, directory: Path) -> Path:
    """``config`` without the components of ``NEEDS_DIALOGUE``, written into ``directory``."""
    import yaml

    content = yaml.safe_load(config.read_text(encoding="utf-8"))
    content["pipeline"] = [c for c in content["pipeline"] if c["name"] not in NEEDS_DIALOGUE]
    path = directory / f"nlu-only-{config.name}"
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Run:
    name: str
    report: Report
    train_seconds: float | None


def in_fold(text: str, folds: int, fold: int) -> bool:
    """Deterministic fold of an example, from its text."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % folds == fold


def write_dev_split(folds: int, fold: int, directory: Path) -> list[Example]:
    """Write training data without fold ``fold`` into ``directory``; return that fold."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData().merge(*(load_data(str(p)) for p in sorted(TRAIN.glob("*.yml"))))
    kept, dev = [], []
    for message in data.training_examples:
        text = message.get("text")
        if message.get("intent") and in_fold(text, folds, fold):
            entities = tuple((e["entity"], str(e["value"])) for e in message.get("entities") or [])
            dev.append(Example(text, message.get("intent"), entities))
        else:
            kept.append(message)
    train = TrainingData(kept, entity_synonyms=data.entity_synonyms)
    RasaYAMLWriter().dump(directory / "train.yml", train)
    for path in sorted(LOOKUPS.glob("*.yml")):
        (directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return dev


def train_nlu(config: Path, data: Path, out: Path, name: str) -> tuple[Path, float]:
    start = time.perf_counter()
    subprocess.run(
        [
            str(PROJECT_ROOT / ".venv" / "bin" / "rasa"),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(data),
            "--out",
            str(out),
            "--fixed-model-name",
            name,
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    return out / f"{name}.tar.gz", time.perf_counter() - start


def training_data_dir(tmp: Path) -> Path:
    """nlu_data/train and nlu_data/lookups side by side, as `rasa train nlu` wants one path."""
    data = tmp / "data"
    data.mkdir()
    for folder in (TRAIN, LOOKUPS):
        for path in sorted(folder.glob("*.yml")):
            (data / f"{folder.name}-{path.name}").symlink_to(path)
    return data


def print_run(run: Run, show_errors: int) -> None:
    report = run.report
    print(f"\n=== {run.name} ===")
    print(report.classification_report())
    print("top confusions (expected -> predicted, count):")
    for gold, got, n in report.confusions():
        print(f"  {gold:22s} -> {got:22s} {n}")
    labels, matrix = report.confusion_matrix()
    involved = [
        i
        for i, label in enumerate(labels)
        if any(matrix[i][j] for j in range(len(labels)) if j != i)
        or any(matrix[j][i] for j in range(len(labels)) if j != i)
    ]
    if involved:
        print("\nconfusion matrix of the intents involved in an error (rows: expected):")
        print(" " * 24 + " ".join(f"{k:>3d}" for k in range(len(involved))))
        for k, i in enumerate(involved):
            cells = " ".join(f"{matrix[i][j]:>3d}" if matrix[i][j] else "  ." for j in involved)
            print(f"{k:>2d} {labels[i]:20.20s} {cells}")
    print("\nfallback threshold sweep (accuracy, fallback rate):")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        accuracy, falls = report.accuracy_at(threshold)
        print(f"  {threshold:.2f}  {accuracy:.3f}  {falls:.3f}")
    if show_errors:
        print("\nerrors:")
        for p in report.errors()[:show_errors]:
            print(f"  [{p.example.intent} -> {p.intent} {p.top_confidence:.2f}] {p.example.text}")


def print_side_by_side(runs: list[Run], examples: int, split: str) -> None:
    print(f"\n{split}: {examples} examples, {len(runs[0].report.labels)} intents\n")
    width = max(18, *(len(r.name) + 2 for r in runs))
    print(f"{'':24s}" + "".join(f"{r.name:>{width}s}" for r in runs))
    rows = [
        ("intent accuracy", lambda r: f"{r.report.accuracy:.3f}"),
        ("intent macro-F1", lambda r: f"{r.report.macro_f1:.3f}"),
        ("entity F1", lambda r: f"{r.report.entity_f1:.3f}"),
        ("fallback rate", lambda r: f"{r.report.fallback_rate:.3f}"),
        (
            "training (s)",
            lambda r: "-" if r.train_seconds is None else f"{r.train_seconds:.0f}",
        ),
    ]
    for label, cell in rows:
        print(f"{label:24s}" + "".join(f"{cell(r):>{width}s}" for r in runs))


async def main(args: argparse.Namespace) -> None:
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.dev:
            data = tmp / "dev-data"
            data.mkdir()
            splits = {
                f"dev fold {args.fold} of {args.dev} (from nlu_data/train)": (
                    write_dev_split(args.dev, args.fold, data)
                )
            }
        else:
            data = training_data_dir(tmp)
            splits = {
                name: load_examples(sorted(folder.glob("*.yml")))
                for name, folder in HELD_OUT.items()
            }
        models: list[tuple[str, Path, float | None]] = []
        if args.model and not args.dev:
            models.append((f"ours ({args.model.name})", args.model, None))
        else:
            config = nlu_only_config(args.config, tmp)
            models.append(("ours", *train_nlu(config, data, tmp, "ours")))
        if args.stock_model and not args.dev:
            models.append((f"rasa stock ({args.stock_model.name})", args.stock_model, None))
        elif not args.no_stock:
            stock_config = tmp / "stock-config.yml"
            stock_config.write_text(STOCK_CONFIG, encoding="utf-8")
            models.append(("rasa stock (fr)", *train_nlu(stock_config, data, tmp, "stock")))
        results: dict[str, list[Run]] = {name: [] for name in splits}
        for name, model, seconds in models:
            parse = model_parser(model)
            for split, examples in splits.items():
                results[split].append(Run(name, await evaluate(parse, examples), seconds))
    for split, runs in results.items():
        print(f"\n##### {split}")
        for run in runs:
            print_run(run, args.errors)
    for split, runs in results.items():
        print_side_by_side(runs, len(splits[split]), split)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="score this model as ours")
    parser.add_argument("--config", type=Path, default=OURS, help="our pipeline's config")
    parser.add_argument(
        "--stock-model", type=Path, default=None, help="score this model as the stock pipeline"
    )
    parser.add_argument("--no-stock", action="store_true", help="skip the stock pipeline")
    parser.add_argument("--dev", type=int, default=0, help="k: tune on a k-fold dev split")
    parser.add_argument("--fold", type=int, default=0, help="which dev fold to hold out")
    parser.add_argument("--errors", type=int, default=40, help="how many errors to list")
    asyncio.run(main(parser.parse_args()))
