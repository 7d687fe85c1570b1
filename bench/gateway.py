"""Gateway overhead: round trips through the gateway vs. straight to Rasa.

"Rasa direct" posts to Rasa's gateway channel with its secret (what the gateway itself
sends); "through the gateway" posts to the gateway's Rasa-REST compatible webhook.

Starts the real action server and Rasa server on loopback, the gateway in-process on a
free port (fresh SQLite database), sends a bounded number of messages, prints the
percentiles and the throughput, stops everything.

    python -m bench.gateway [--model PATH] [--requests 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.latency import describe
from common.config import PROJECT_ROOT
from rasa_ext.evaluation import load_examples
from tools.stack import Stack, newest_model, running_gateway, running_stack


async def run(stack: Stack, gateway_url: str, texts: list[str], count: int, clients: int) -> None:
    async with aiohttp.ClientSession() as session:

        async def one(url: str, sender: str, text: str) -> float:
            start = time.perf_counter()
            body = {"sender": sender, "message": text}
            headers = stack.channel_headers if url == stack.channel_url else None
            async with session.post(url, json=body, headers=headers) as response:
                response.raise_for_status()
                await response.json()
            return time.perf_counter() - start

        for i in range(20):  # warm-up
            await one(f"{gateway_url}/webhooks/rest/webhook", "warm", texts[i % len(texts)])
        targets = (
            ("Rasa direct", stack.channel_url),
            ("through the gateway", f"{gateway_url}/webhooks/rest/webhook"),
        )
        for name, url in targets:
            sequential = [
                await one(url, f"seq-{i % 50}", texts[i % len(texts)]) for i in range(count)
            ]
            describe(f"{name}", sequential)
            queue = list(range(count))
            latencies: list[float] = []

            async def worker(
                url: str = url, queue: list[int] = queue, latencies: list[float] = latencies
            ) -> None:
                while queue:
                    i = queue.pop()
                    latencies.append(await one(url, f"load-{i % 50}", texts[i % len(texts)]))

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            elapsed = time.perf_counter() - start
            describe(f"{name} x{clients}", latencies)
            print(f"{name:24s} {count / elapsed:.1f} messages/s with {clients} clients")


async def main(model: Path, count: int, clients: int) -> None:
    files = sorted((PROJECT_ROOT / "nlu_data" / "test").glob("*.yml"))
    texts = [e.text for e in load_examples(files)]
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/bench.db"
        with running_stack(model, database, Path(tmp) / "logs", token="bench") as stack:
            async with running_gateway(stack, Path(tmp)) as gateway_url:
                print(f"model: {model.name}; {count} messages each")
                await run(stack, gateway_url, texts, count, clients)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    model = args.model or newest_model(PROJECT_ROOT / "models")
    asyncio.run(main(model, args.requests, args.concurrency))
