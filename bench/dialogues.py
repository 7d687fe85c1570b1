"""Dialogue benchmark: multi-turn conversations written as people write, through the gateway.

Each dialogue of ``bench/dialogues/<split>.yml`` has an ``id``, a ``class`` and
``turns``; each turn says something (``say``) and lists what the answer must contain
(``expect``) and must not (``forbid``). A check is a substring, or a regular
expression when it starts with ``re:``; both are compared case- and
accent-insensitively with the answer's texts and button titles. A dialogue passes
when every turn does.

Starts the real stack (``tools/stack.py``: Rasa + action server on a fresh SQLite
database) and the real gateway app on a free port, as ``bench/gateway.py`` does, and
posts every turn to the gateway's REST webhook.

    python -m bench.dialogues [--split dev|heldout|fresh|all] [--model PATH] [--only ID] [-v]

``heldout.yml`` was written before any tuning and is never used to tune: work on
``dev.yml``. ``fresh.yml`` is a second held-out part, written later (after
``heldout.yml`` had been looked at) and frozen before the tuning that followed. Their
failures are printed by id, class and turn only; ``-v`` prints every answer.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from common.config import PROJECT_ROOT
from common.text import fold

FOLDER = Path(__file__).parent / "dialogues"
SPLITS = ("dev", "heldout", "fresh")
# Splits whose failures are reported by id only: reading what they sent and expected
# would be tuning on them. ``-v`` (every answer) is the explicit way to read them.
HELD_OUT = frozenset({"heldout", "fresh"})


@dataclass(frozen=True)
class Turn:
    say: str
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dialogue:
    id: str
    klass: str
    turns: tuple[Turn, ...]
    split: str = ""


@dataclass
class Failure:
    dialogue: Dialogue
    turn: int
    sent: str
    got: str
    why: str


@dataclass
class Results:
    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[Failure] = field(default_factory=list)
    split_passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    split_total: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def load(split: str) -> list[Dialogue]:
    """The dialogues of one split (``dev``, ``heldout``, ``fresh``) or of ``all``."""
    names = SPLITS if split == "all" else (split,)
    dialogues: list[Dialogue] = []
    for name in names:
        content = yaml.safe_load((FOLDER / f"{name}.yml").read_text(encoding="utf-8")) or {}
        for raw in content.get("dialogues") or []:
            turns = tuple(
                Turn(str(t["say"]), _as_tuple(t.get("expect")), _as_tuple(t.get("forbid")))
                for t in raw["turns"]
            )
            dialogues.append(Dialogue(str(raw["id"]), str(raw["class"]), turns, name))
    ids = [d.id for d in dialogues]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate dialogue ids: {duplicates}")
    return dialogues


def normalise(text: str) -> str:
    """Folded (no case, no accents), typographic apostrophes and spaces made plain."""
    text = text.replace("’", "'").replace("\u00a0", " ").replace("\u202f", " ")
    return " ".join(fold(text).split())


def rendered(replies: list[dict[str, Any]]) -> str:
    """What the person sees: every text and every button title."""
    parts: list[str] = []
    for reply in replies:
        if reply.get("text"):
            parts.append(str(reply["text"]))
        for button in reply.get("buttons") or []:
            parts.append(f"[{button.get('title', '')}]")
    return "\n".join(parts)


def matches(check: str, answer: str) -> bool:
    """Whether ``check`` (substring, or ``re:`` regular expression) is in ``answer``."""
    wanted = normalise(answer)
    if check.startswith("re:"):
        return re.search(normalise(check[3:]), wanted) is not None
    return normalise(check) in wanted


def judge(turn: Turn, answer: str) -> str | None:
    """Why the answer fails the turn, or ``None`` when it passes."""
    if not answer.strip():
        return "empty answer"
    missing = [c for c in turn.expect if not matches(c, answer)]
    if missing:
        return "missing " + ", ".join(repr(c) for c in missing)
    present = [c for c in turn.forbid if matches(c, answer)]
    if present:
        return "forbidden " + ", ".join(repr(c) for c in present)
    return None


async def run_dialogues(gateway_url: str, dialogues: list[Dialogue], verbose: bool) -> Results:
    results = Results()
    run = uuid.uuid4().hex[:6]
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for dialogue in dialogues:
            sender = f"bench-{run}-{dialogue.id}"
            results.total[dialogue.klass] += 1
            results.split_total[dialogue.split] += 1
            failure = None
            for number, turn in enumerate(dialogue.turns, start=1):
                body = {"sender": sender, "message": turn.say}
                async with session.post(f"{gateway_url}/webhooks/rest/webhook", json=body) as r:
                    replies = await r.json() if r.status == 200 else []
                    answer = rendered(replies) if r.status == 200 else f"HTTP {r.status}"
                if verbose:
                    print(f"[{dialogue.id}] > {turn.say}\n{answer}\n")
                why = judge(turn, answer)
                if why:
                    failure = Failure(dialogue, number, turn.say, answer, why)
                    break
            if failure:
                results.failures.append(failure)
            else:
                results.passed[dialogue.klass] += 1
                results.split_passed[dialogue.split] += 1
    return results


def report(results: Results, out: Any = sys.stdout) -> float:
    """Print the pass rate per class, overall, and each failure; return the overall rate."""
    width = max([len(k) for k in results.total] + [5])
    print(f"{'class':{width}s}  passed / total", file=out)
    for klass in sorted(results.total):
        passed, total = results.passed[klass], results.total[klass]
        print(f"{klass:{width}s}  {passed:3d} / {total:3d}  {passed / total:6.1%}", file=out)
    for split in (s for s in SPLITS if s in results.split_total):
        passed, total = results.split_passed[split], results.split_total[split]
        print(
            f"{'split ' + split:{width}s}  {passed:3d} / {total:3d}  {passed / total:6.1%}",
            file=out,
        )
    passed, total = sum(results.passed.values()), sum(results.total.values())
    rate = passed / total if total else 0.0
    print(f"{'overall':{width}s}  {passed:3d} / {total:3d}  {rate:6.1%}", file=out)
    for failure in results.failures:
        d = failure.dialogue
        if d.split in HELD_OUT:
            print(f"\nFAIL {d.id} ({d.split}, {d.klass}) turn {failure.turn}: held out", file=out)
            continue
        got = failure.got.replace("\n", " | ")
        print(
            f"\nFAIL {d.id} ({d.split}, {d.klass}) turn {failure.turn}: {failure.why}\n"
            f"  sent: {failure.sent}\n  got:  {got[:600]}",
            file=out,
        )
    return rate


async def main(model: Path, dialogues: list[Dialogue], verbose: bool) -> float:
    from tools.stack import running_gateway, running_stack

    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/bench.db"
        with running_stack(model, database, Path(tmp) / "logs", token="bench") as stack:
            async with running_gateway(stack, Path(tmp)) as gateway_url:
                turns = sum(len(d.turns) for d in dialogues)
                print(f"model: {model.name}; {len(dialogues)} dialogues, {turns} turns")
                start = time.perf_counter()
                results = await run_dialogues(gateway_url, dialogues, verbose)
                print(f"ran in {time.perf_counter() - start:.1f} s\n")
    return report(results)


if __name__ == "__main__":
    from tools.stack import newest_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="dev")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--only", action="append", help="run only these dialogue ids")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every answer")
    args = parser.parse_args()
    chosen = load(args.split)
    if args.only:
        chosen = [d for d in chosen if d.id in set(args.only)]
    asyncio.run(main(args.model or newest_model(PROJECT_ROOT / "models"), chosen, args.verbose))
