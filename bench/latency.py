"""Latency and throughput of the running assistant: /model/parse and message round trips.

Starts the real action server and Rasa server on loopback, sends a bounded number
of requests, prints percentiles, stops everything. Messages go through Rasa's
gateway channel with its secret, as the gateway sends them.

    python -m bench.latency [--model PATH] [--requests 300] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from common.config import PROJECT_ROOT
from rasa_ext.evaluation import load_examples
from tools.stack import newest_model, running_stack


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def describe(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"{name:24s} n={len(ms):4d}  p50={percentile(ms, 50):6.1f} ms  "
        f"p95={percentile(ms, 95):6.1f} ms  p99={percentile(ms, 99):6.1f} ms  "
        f"mean={statistics.mean(ms):6.1f} ms"
    )


def timed(call) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(model: Path, count: int, concurrency: int) -> None:
    texts = [
        e.text for e in load_examples(sorted((PROJECT_ROOT / "nlu_data" / "test").glob("*.yml")))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(
            model, f"sqlite:///{tmp}/bench.db", Path(tmp) / "logs", token="bench"
        ) as stack:
            session = requests.Session()
            parse_url = f"{stack.rasa_url}/model/parse?token={stack.token}"
            rest_url, headers = stack.channel_url, stack.channel_headers
            for text in texts[:20]:  # warm-up
                session.post(parse_url, json={"text": text}, timeout=30).raise_for_status()

            def parse(i: int) -> None:
                session.post(
                    parse_url, json={"text": texts[i % len(texts)]}, timeout=30
                ).raise_for_status()

            def rest(i: int, sender: str = "bench") -> None:
                body = {"sender": f"{sender}-{i % 50}", "message": texts[i % len(texts)]}
                requests.post(rest_url, json=body, headers=headers, timeout=60).raise_for_status()

            print(f"model: {model.name}; {count} requests each, sequential")
            describe("/model/parse", [timed(lambda i=i: parse(i)) for i in range(count)])
            describe("message round trip", [timed(lambda i=i: rest(i)) for i in range(count)])

            start = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                latencies = list(pool.map(lambda i: timed(lambda: rest(i, "load")), range(count)))
            elapsed = time.perf_counter() - start
            describe(f"messages x{concurrency} concurrent", latencies)
            throughput = count / elapsed
            print(f"throughput               {throughput:.1f} messages/s, {concurrency} clients")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    main(args.model or newest_model(PROJECT_ROOT / "models"), args.requests, args.concurrency)
