"""Many WebSocket conversations held at once through the gateway: p95 of the answers.

Starts the real action server and Rasa server on loopback and the gateway (one, or
``--replicas N`` sharing a throw-away Redis: tools/redis.py), opens ``--conversations``
web conversations (issued, WebSocket authenticated, as the widget does), holds them all
open, and has each person send ``--messages`` messages with a think time between them
(``--think`` seconds, uniform around it, seeded). The latency of a message is from its
sending to the first answer after its echo (the whole stack); its echo's latency (the
message stored and pushed back on the socket) is the gateway's alone. Prints the
percentiles, the throughput, the sockets still open at the end, the errors, and the
memory of every process.

Target (issue #17): 200 conversations held, p95 <= 1 s.

    .venv/bin/python -m bench.websockets [--conversations 200] [--messages 3] [--think 8]
        [--replicas 1] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import aiohttp

from bench.latency import describe, percentile
from common.config import PROJECT_ROOT
from common.migrate import upgrade
from tools.stack import Process, Stack, free_port, newest_model, procfile_command, running_stack

TEXTS = (
    "Bonjour",
    "Comment renouveler ma carte de transport scolaire ?",
    "Quels sont les horaires de la maison du Département ?",
    "Je cherche un lieu d'aide au numérique près de chez moi",
    "Comment demander l'APA pour ma mère ?",
    "Merci beaucoup",
)
TARGET_P95_S = 1.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_gateways(stack: Stack, workdir: Path, count: int, redis_url: str) -> list[Process]:
    """``count`` gateways as the Procfile starts them, on one database (and one Redis)."""
    database = f"sqlite:///{workdir / 'gateway.db'}"
    upgrade(database)
    gateways = []
    for i in range(count):
        port = free_port()
        env = {
            **stack.env,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "DATABASE_URL": database,
            "REDIS_URL": redis_url,
            "GATEWAY_RATE_PER_ADDRESS": str(10**9),
            "GATEWAY_RATE_PER_CONVERSATION": str(10**9),
            "LOG_LEVEL": "WARNING",
        }
        gateway = Process(f"gateway-{i}", procfile_command("gateway"), env, workdir / f"gw{i}.log")
        gateway.start()
        gateway.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        gateways.append(gateway)
    for gateway in gateways:
        gateway.wait_until(f"{gateway.url}/health", 120)  # type: ignore[attr-defined]
    return gateways


class Conversation:
    def __init__(self, session: aiohttp.ClientSession, url: str, rng: random.Random) -> None:
        self.session, self.url, self.rng = session, url, rng
        self.latencies: list[float] = []
        self.echoes: list[float] = []  # sending -> the stored message pushed back
        self.errors: list[str] = []
        self._waiting: dict[str, tuple[float, asyncio.Event]] = {}
        self._echo: dict[int, str] = {}
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> None:
        async with self.session.post(f"{self.url}/webhooks/web/conversations", json={}) as r:
            r.raise_for_status()
            issued = await r.json()
        self.ws = await self.session.ws_connect(
            f"{self.url}/webhooks/websocket?sender={issued['sender']}&after=0",
            headers={"Origin": self.url},
            heartbeat=None,
        )
        await self.ws.send_json({"type": "auth", "key": issued["key"]})
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        pending: str | None = None  # the client_id whose answer comes next
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame.get("type") == "error":
                self.errors.append(frame.get("code", "?"))
            elif frame.get("type") == "message":
                if frame.get("author") == "user":
                    pending = frame.get("client_id")
                    if pending in self._waiting:
                        self.echoes.append(time.perf_counter() - self._waiting[pending][0])
                elif pending in self._waiting:
                    started, done = self._waiting.pop(pending)
                    self.latencies.append(time.perf_counter() - started)
                    done.set()
                    pending = None

    async def talk(self, messages: int, think: float, answer_within: float) -> None:
        assert self.ws is not None
        for _ in range(messages):
            await asyncio.sleep(self.rng.uniform(think / 2, think * 1.5))
            client_id = uuid.uuid4().hex
            done = asyncio.Event()
            self._waiting[client_id] = (time.perf_counter(), done)
            await self.ws.send_json({"message": self.rng.choice(TEXTS), "client_id": client_id})
            try:
                await asyncio.wait_for(done.wait(), answer_within)
            except TimeoutError:
                self._waiting.pop(client_id, None)
                self.errors.append("timeout")


async def run(urls: list[str], count: int, messages: int, think: float) -> list[float]:
    rng = random.Random(17)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        conversations = [
            Conversation(session, urls[i % len(urls)], random.Random(rng.random()))
            for i in range(count)
        ]
        start = time.perf_counter()
        for batch in range(0, count, 20):  # 20 openings at a time, as people arrive
            await asyncio.gather(*(c.open() for c in conversations[batch : batch + 20]))
        print(f"{count} WebSockets open in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        await asyncio.gather(*(c.talk(messages, think, answer_within=30) for c in conversations))
        elapsed = time.perf_counter() - start
        held = sum(1 for c in conversations if c.ws is not None and not c.ws.closed)
        latencies = [s for c in conversations for s in c.latencies]
        echoes = [s for c in conversations for s in c.echoes]
        errors = [e for c in conversations for e in c.errors]
        for c in conversations:
            await c.ws.close()  # type: ignore[union-attr]
        describe(f"echoes x{count}", echoes)  # the gateway alone: stored, pushed back
        describe(f"answers x{count}", latencies)  # the whole stack: Rasa's answer
        print(
            f"{len(latencies)} answers in {elapsed:.1f} s ({len(latencies) / elapsed:.1f}/s); "
            f"sockets still open at the end: {held}/{count}; errors: {len(errors)} "
            f"{sorted(set(errors))}"
        )
        return latencies


async def main(model: Path, count: int, messages: int, think: float, replicas: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        redis_url = ""
        if replicas > 1:
            from tools.redis import running_redis

            redis_url = stack.enter_context(running_redis())
        database = f"sqlite:///{workdir / 'rasa.db'}"
        rasa = stack.enter_context(running_stack(model, database, workdir / "logs"))
        gateways = start_gateways(rasa, workdir, replicas, redis_url)
        for gateway in gateways:
            stack.callback(gateway.stop)
        print(
            f"model: {model.name}; {count} conversations, {messages} messages each, think "
            f"{think:.0f} s; {replicas} gateway(s){' + Redis' if redis_url else ''}"
        )
        urls = [g.url for g in gateways]  # type: ignore[attr-defined]
        latencies = await run(urls, count, messages, think)
        processes = [("rasa", rasa.rasa), ("actions", rasa.actions)] + [
            (g.name, g) for g in gateways
        ]
        memory = {name: rss_mb(p.popen.pid) for name, p in processes if p.popen}
        print("memory: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in memory.items()))
        p95 = percentile(latencies, 95) if latencies else float("inf")
        verdict = "met" if p95 <= TARGET_P95_S else "NOT met"
        print(f"target p95 <= {TARGET_P95_S:.1f} s: {verdict} (p95 {p95 * 1000:.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--think", type=float, default=8.0)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    model = args.model or newest_model(PROJECT_ROOT / "models")
    asyncio.run(main(model, args.conversations, args.messages, args.think, args.replicas))
