"""The nginx site of ``deploy/nginx/`` in front of a real gateway, on loopback: TLS, the
WebSocket upgrade, X-Forwarded-For believed from the proxy only, the widget's files cached;
``/metrics`` for loopback or a token; the gateway's log in JSON (``LOG_FORMAT=json``).

nginx connects to the gateway from 127.0.0.2 (the trusted proxy); the test's clients
connect from other loopback addresses, so that the gateway's per-address rate limit
(3 requests a minute) shows which address it believed.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.scale_gateway.replicas import Replica, replicas
from tools.nginx import Nginx, running_nginx

PROXY = "127.0.0.2"
METRICS_TOKEN = "jeton-de-test-prometheus"
ISSUE = "/webhooks/web/conversations"


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Nginx, Replica]]:
    [gateway] = replicas(f"sqlite:///{tmp_path / 'gateway.db'}", "", tmp_path, count=1)
    with running_nginx([f"127.0.0.1:{gateway.port}"], proxy_bind=PROXY) as nginx:
        gateway.env.update(
            GATEWAY_TRUSTED_PROXIES=PROXY,
            GATEWAY_PUBLIC_ORIGINS=nginx.url,
            GATEWAY_RATE_PER_ADDRESS="3",
            METRICS_TOKEN=METRICS_TOKEN,
            LOG_FORMAT="json",
        )
        gateway.start()
        try:
            yield nginx, gateway
        finally:
            gateway.stop()
            assert "[alert]" not in nginx.log() and "[emerg]" not in nginx.log()


@pytest.fixture
def tls(proxied: tuple[Nginx, Replica]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(proxied[0].certificate))


def client(source: str, **options) -> aiohttp.ClientSession:  # type: ignore[no-untyped-def]
    """A client connecting from the loopback address ``source``."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=True), **options
    )


async def test_tls_and_the_widget_files_cached(
    proxied: tuple[Nginx, Replica], tls: ssl.SSLContext
) -> None:
    nginx, _ = proxied
    async with client("127.0.0.5") as http:
        async with http.get(nginx.http_url + "/widget/widget.js", allow_redirects=False) as r:
            assert r.status == 301 and r.headers["Location"].startswith("https://")
        seen = []
        for _ in range(2):
            async with http.get(nginx.url + "/widget/widget.js", ssl=tls) as r:
                assert r.status == 200
                assert "javascript" in r.headers["Content-Type"]
                assert r.headers["Strict-Transport-Security"].startswith("max-age=")
                assert r.headers["Cache-Control"] == "no-cache"  # browsers revalidate...
                seen.append(r.headers["X-Cache-Status"])
                etag = r.headers["ETag"]
        assert seen == ["MISS", "HIT"]  # ...nginx keeps its copy
        async with http.get(
            nginx.url + "/widget/widget.js", ssl=tls, headers={"If-None-Match": etag}
        ) as r:
            assert r.status == 304
        async with http.get(nginx.url + "/widget/widget.css", ssl=tls) as r:
            assert r.status == 200 and r.headers["X-Cache-Status"] in ("MISS", "HIT")
        # Anything else is never cached.
        async with http.get(nginx.url + "/webhooks/rest/history?sender=x", ssl=tls) as r:
            assert "X-Cache-Status" not in r.headers


async def test_websocket_through_the_proxy(
    proxied: tuple[Nginx, Replica], tls: ssl.SSLContext
) -> None:
    nginx, _ = proxied
    async with client("127.0.0.6") as http:
        async with http.post(nginx.url + ISSUE, json={}, ssl=tls) as r:
            assert r.status == 201
            conversation = await r.json()
        ws = await http.ws_connect(
            nginx.url.replace("https", "wss")
            + f"/webhooks/websocket?sender={conversation['sender']}&after=0",
            ssl=tls,
            headers={"Origin": nginx.url},
        )
        await ws.send_json({"type": "auth", "key": conversation["key"]})
        await ws.send_json({"message": "Bonjour", "client_id": "c-1"})
        frames = []
        while len([f for f in frames if f.get("type") == "message"]) < 2:
            frames.append(await ws.receive_json(timeout=30))
        messages = [f for f in frames if f.get("type") == "message"]
        assert messages[0]["client_id"] == "c-1" and messages[0]["author"] == "user"
        # Rasa is not running: the gateway's polite message.
        assert messages[1]["author"] in ("bot", "system")
        assert "indisponible" in messages[1]["text"]
        await ws.close()


async def issued(http: aiohttp.ClientSession, url: str, **options) -> int:  # type: ignore[no-untyped-def]
    async with http.post(url + ISSUE, json={}, **options) as response:
        return response.status


async def test_forwarded_for_believed_from_the_proxy_only(
    proxied: tuple[Nginx, Replica], tls: ssl.SSLContext
) -> None:
    nginx, gateway = proxied
    # Straight to the gateway, claiming other addresses: one client all the same.
    async with client("127.0.0.3") as http:
        statuses = [
            await issued(http, gateway.url, headers={"X-Forwarded-For": f"198.51.100.{i}"})
            for i in range(4)
        ]
    assert statuses == [201, 201, 201, 429]
    # Through nginx from four addresses: four clients, though nginx connects from one.
    statuses = []
    for i in range(4):
        async with client(f"127.0.0.{20 + i}") as http:
            statuses.append(await issued(http, nginx.url, ssl=tls))
    assert statuses == [201] * 4
    # Through nginx claiming other addresses: nginx says who its peer was.
    async with client("127.0.0.30") as http:
        statuses = [
            await issued(http, nginx.url, ssl=tls, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(4)
        ]
    assert statuses == [201, 201, 201, 429]


async def test_metrics_for_loopback_or_the_token_and_json_logs(
    proxied: tuple[Nginx, Replica], tls: ssl.SSLContext
) -> None:
    nginx, gateway = proxied
    async with client("127.0.0.7") as http:
        async with http.get(nginx.url + "/metrics", ssl=tls) as r:
            assert r.status == 404  # never through the public site
        async with http.get(gateway.url + "/metrics") as r:
            assert r.status == 200
            body = await r.text()
        for name in (
            "assistant_messages_total",
            "assistant_answer_seconds",
            "assistant_errors_total",
            "assistant_outbox_queue_length",
            "assistant_handoff_waiting",
            "assistant_websockets",
            "assistant_bus_connected 1.0",
        ):
            assert name in body, name
    # From elsewhere (the trusted proxy relaying an outside client): the token only.
    async with client(PROXY) as http:
        outside = {"X-Forwarded-For": "203.0.113.50"}
        async with http.get(gateway.url + "/metrics", headers=outside) as r:
            assert r.status == 401
        async with http.get(
            gateway.url + "/metrics",
            headers={**outside, "Authorization": f"Bearer {METRICS_TOKEN}"},
        ) as r:
            assert r.status == 200
        async with http.get(
            gateway.url + "/metrics", headers={**outside, "Authorization": "Bearer faux"}
        ) as r:
            assert r.status == 401
    lines = [line for line in gateway.log().splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)  # every line one JSON object
        assert {"time", "level", "logger", "message"} <= record.keys()
    assert any("gateway listening" in json.loads(line)["message"] for line in lines)
