"""A throw-away nginx on loopback running the project's site, ``deploy/nginx/assistant.conf``.

``scripts/nginx.sh`` installs Debian's nginx when it is missing. :func:`running_nginx`
makes a self-signed certificate for 127.0.0.1, rewrites only what ties the site to a
production machine (listening ports, certificate paths, cache folder, the upstream's
replicas), wraps it in a minimal ``nginx.conf`` (everything under a temporary folder) and
starts nginx in the foreground; removed on exit. ``proxy_bind`` makes nginx connect to
the gateways from that loopback address, so that a test can tell the proxy from a client.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common.config import PROJECT_ROOT
from tools.stack import free_port

SITE = PROJECT_ROOT / "deploy" / "nginx" / "assistant.conf"
NGINX = "/usr/sbin/nginx"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Nginx:
    root: Path
    http_port: int
    https_port: int
    certificate: Path  # the self-signed certificate: the clients' CA

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def log(self) -> str:
        return (self.root / "error.log").read_text(errors="replace")


def _certificate(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _replace(text: str, pattern: str, replacement: str) -> str:
    """``pattern`` (a regular expression) replaced; it must be in the site."""
    changed, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if not count:
        raise ValueError(f"{SITE} has no {pattern!r} any more: update tools/nginx.py")
    return changed


def render_site(
    upstreams: Sequence[str], http_port: int, https_port: int, cert: Path, key: Path, cache: Path
) -> str:
    """The production site with loopback ports, these certificate, cache and replicas."""
    site = SITE.read_text(encoding="utf-8")
    site = _replace(site, r"^\s*listen \[::\]:.*\n", "")
    site = _replace(site, r"listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _replace(site, r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    site = _replace(site, r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};")
    site = _replace(site, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};")
    site = _replace(
        site, r"proxy_cache_path /var/cache/nginx/assistant", f"proxy_cache_path {cache}"
    )
    servers = "".join(
        f"    server {address} max_fails=3 fail_timeout=10s;\n" for address in upstreams
    )
    return _replace(site, r"(upstream assistant_gateway \{\n)(\s*server .*\n)+", rf"\g<1>{servers}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def running_nginx(upstreams: Sequence[str], proxy_bind: str | None = None) -> Iterator[Nginx]:
    """nginx in front of the gateways at ``upstreams`` (``host:port``), on free ports."""
    subprocess.run([str(PROJECT_ROOT / "scripts" / "nginx.sh")], check=True, timeout=900)
    root = Path(tempfile.mkdtemp(prefix="assistant-nginx-"))
    process: subprocess.Popen | None = None
    try:
        cert, key = _certificate(root)
        http_port, https_port = free_port(), free_port()
        (root / "site.conf").write_text(
            render_site(upstreams, http_port, https_port, cert, key, root / "cache")
        )
        temp = "\n".join(
            f"  {kind}_temp_path {root / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (root / "nginx.conf").write_text(
            f"""{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  access_log {root / "access.log"};
{temp}
  {f"proxy_bind {proxy_bind};" if proxy_bind else ""}
  include {root / "site.conf"};
}}
"""
        )
        args = [
            NGINX,
            "-p",
            str(root),
            "-e",
            str(root / "error.log"),
            "-c",
            str(root / "nginx.conf"),
        ]
        subprocess.run([*args, "-t"], check=True, capture_output=True, timeout=30)
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(https_port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx did not start: {log[-2000:]}")
            time.sleep(0.05)
        yield Nginx(root, http_port, https_port, cert)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)
