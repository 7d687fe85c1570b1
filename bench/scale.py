"""Scale, one run side by side: a plain single Rasa vs the full stack with several workers.

1. **Plain**: one ``rasa run`` of the model (``RASA_WORKERS=1``, sessions never rolled:
   ``TRACKER_SESSION_TURNS=0``, Rasa as it ships: ``bench/plain_rasa.py``, without
   ``rasa_ext.speedups``) with the action server; messages posted straight to Rasa's
   gateway channel.
2. **Full stack**: ``RASA_WORKERS`` Rasa workers (default: one per core) behind the real
   gateway process, sessions rolled (``TRACKER_SESSION_TURNS``, default 20), messages
   posted to the gateway's REST webhook (stored, outbox, routed to a worker).

For each: ``--rounds`` times (new conversations each time), ``--conversations``
concurrent conversations of ``--messages`` messages (the median round's throughput, p50 /
p95 of every message of every round: one round of 200 messages lasts a few seconds and
moves by ±15 %), the resident memory of every process, the CPU time each one spent
per message during the rounds (``/proc/<pid>/stat``), and the latency curve of one
conversation of ``--long`` messages (median per block of 20, last block / first).
Then the ratios. It prints figures; it is not a timed test.

    python -m bench.scale [--model PATH] [--workers N] [--conversations 20] [--messages 10]
                          [--rounds 3] [--long 240]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.latency import percentile
from common.config import PROJECT_ROOT
from rasa_ext.evaluation import load_examples
from tools.stack import (
    Process,
    Stack,
    cpu_seconds,
    newest_model,
    procfile_command,
    rss_bytes,
    running_gateway,
    running_stack,
)

BLOCK = 20
Post = Callable[[str, str], Coroutine[Any, Any, float]]


@dataclass
class Figures:
    name: str
    throughput: float
    rounds: list[float]
    p50_ms: float
    p95_ms: float
    curve_ms: list[float]
    memory: dict[str, int]
    cpu_ms: dict[str, float]  # CPU time per message of the rounds, by process


def poster(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None) -> Post:
    async def post(sender: str, text: str) -> float:
        start = time.perf_counter()
        body = {"sender": sender, "message": text}
        async with session.post(url, json=body, headers=headers) as response:
            response.raise_for_status()
            await response.json()
        return time.perf_counter() - start

    return post


async def load(post: Post, texts: list[str], conversations: int, messages: int, tag: str):
    """``conversations`` clients at once, each writing ``messages`` messages in turn."""
    latencies: list[float] = []

    async def one(index: int) -> None:
        for turn in range(messages):
            text = texts[(index * messages + turn) % len(texts)]
            latencies.append(await post(f"{tag}-{index}", text))

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(conversations)))
    return conversations * messages / (time.perf_counter() - start), latencies


async def curve(post: Post, texts: list[str], length: int, sender: str) -> list[float]:
    """Median latency (ms) of each block of BLOCK messages of one long conversation."""
    seconds = [await post(sender, texts[i % len(texts)]) for i in range(length)]
    return [statistics.median(seconds[i : i + BLOCK]) * 1000 for i in range(0, len(seconds), BLOCK)]


def processes(stack: Stack, gateway_pid: int | None) -> dict[str, int]:
    """Every process of the stack (and this bench's client) by name: its pid."""
    assert stack.actions.popen is not None and stack.rasa.popen is not None
    out = {"action server": stack.actions.popen.pid}
    workers = stack.worker_pids()
    if workers != [stack.rasa.popen.pid]:
        out["rasa supervisor"] = stack.rasa.popen.pid
    for index, pid in enumerate(workers):
        out[f"rasa worker {index}"] = pid
    if gateway_pid is not None:
        out["gateway"] = gateway_pid
    out["bench client"] = os.getpid()
    return out


async def measure(
    name: str, stack: Stack, url: str, headers: dict[str, str] | None, args: Any, texts: list[str]
) -> Figures:
    pids = processes(stack, args.gateway_pid if name == "full" else None)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        post = poster(session, url, headers)
        for i in range(BLOCK):  # warm-up, every worker
            await post(f"warm-{i}", texts[i % len(texts)])
        rounds: list[float] = []
        latencies: list[float] = []
        cpu_before = {process: cpu_seconds(pid) for process, pid in pids.items()}
        for round_ in range(args.rounds):
            throughput, seconds = await load(
                post, texts, args.conversations, args.messages, f"{name}-{round_}"
            )
            rounds.append(throughput)
            latencies += seconds
        cpu_ms = {
            process: (cpu_seconds(pid) - cpu_before[process]) * 1000 / len(latencies)
            for process, pid in pids.items()
        }
        blocks = await curve(post, texts, args.long, f"{name}-long")
    ms = [s * 1000 for s in latencies]
    memory = {process: rss_bytes(pid) for process, pid in pids.items() if process != "bench client"}
    return Figures(
        name,
        statistics.median(rounds),
        rounds,
        percentile(ms, 50),
        percentile(ms, 95),
        blocks,
        memory,
        cpu_ms,
    )


def show(figures: Figures) -> None:
    print(f"\n== {figures.name}")
    print(
        f"throughput {figures.throughput:6.1f} messages/s   p50 {figures.p50_ms:6.1f} ms"
        f"   p95 {figures.p95_ms:6.1f} ms"
    )
    print("  rounds: " + ", ".join(f"{r:.1f}" for r in figures.rounds) + " messages/s")
    total = sum(figures.memory.values())
    for process, rss in figures.memory.items():
        print(f"  {process:18s} {rss / 2**30:5.2f} GB")
    print(f"  {'all':18s} {total / 2**30:5.2f} GB")
    cpu = "  ".join(f"{process} {ms:.1f}" for process, ms in figures.cpu_ms.items())
    print(f"CPU ms per message: {cpu}  (all {sum(figures.cpu_ms.values()):.1f})")
    blocks = "  ".join(f"{m:5.1f}" for m in figures.curve_ms)
    print(f"latency per block of {BLOCK} messages (median ms): {blocks}")
    print(
        f"last block / first block: {figures.curve_ms[-1] / figures.curve_ms[0]:.2f}×,"
        f" block of message 200 / first: {growth(figures):.2f}×"
    )


async def main(args: argparse.Namespace) -> None:
    files = sorted((PROJECT_ROOT / "nlu_data" / "test").glob("*.yml"))
    texts = [e.text for e in load_examples(files)]
    print(
        f"model {args.model.name}; {args.rounds} rounds of {args.conversations} conversations"
        f" x {args.messages} messages; one conversation of {args.long}; {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain_env = {"TRACKER_SESSION_TURNS": "0"}
        plain_rasa = [procfile_command("rasa")[0], "-m", "bench.plain_rasa"]
        with running_stack(
            args.model,
            f"sqlite:///{work}/plain.db",
            work / "plain",
            extra_env=plain_env,
            rasa_command=plain_rasa,
        ) as stack:
            plain = await measure(
                "plain", stack, stack.channel_url, stack.channel_headers, args, texts
            )
        show(plain)
        with running_stack(
            args.model, f"sqlite:///{work}/full.db", work / "full", workers=args.workers
        ) as stack:
            (work / "gw").mkdir()
            started: list[Process] = []
            async with running_gateway(stack, work / "gw", started) as gateway_url:
                assert started[0].popen is not None
                args.gateway_pid = started[0].popen.pid
                full = await measure(
                    "full", stack, f"{gateway_url}/webhooks/rest/webhook", None, args, texts
                )
        show(full)
    print("\n== ratios (full stack / plain rasa run)")
    print(f"throughput {full.throughput / plain.throughput:.2f}× (target ≥ 1.7×)")
    print(f"p95 {full.p95_ms:.1f} ms (target ≤ 250 ms), plain {plain.p95_ms:.1f} ms")
    print(
        f"message ~200 / first block: full {growth(full):.2f}×, plain {growth(plain):.2f}×"
        " (target ≤ 1.5×)"
    )


def growth(figures: Figures) -> float:
    """Median latency of the block holding message 200 over the first block's."""
    return figures.curve_ms[min(9, len(figures.curve_ms) - 1)] / figures.curve_ms[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--long", type=int, default=240)
    arguments = parser.parse_args()
    arguments.gateway_pid = None
    arguments.model = arguments.model or newest_model(PROJECT_ROOT / "models")
    asyncio.run(main(arguments))
