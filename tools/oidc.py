"""A real OpenID Connect provider on 127.0.0.1 for the single sign-on tests.

npm's ``oidc-provider`` (``tools/oidc/provider.mjs``, installed into tools/oidc/node_modules
by ``scripts/oidc.sh``, called here when missing), with one confidential client and a few
test users, on a free port; stopped on exit.

    with running_oidc_provider(redirect_uri, users, log_path) as provider:
        provider.issuer, provider.client_id, provider.client_secret
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import PROJECT_ROOT
from tools.stack import Process, child_env, free_port

OIDC_DIR = PROJECT_ROOT / "tools" / "oidc"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestUser:
    __test__ = False  # not a pytest class

    sub: str
    password: str
    claims: dict[str, Any]


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    process: Process


def ensure_installed() -> None:
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            [str(PROJECT_ROOT / "scripts" / "oidc.sh")], cwd=PROJECT_ROOT, check=True, timeout=600
        )


@contextmanager
def running_oidc_provider(
    redirect_uri: str, users: list[TestUser], log_path: Path, port: int | None = None
) -> Iterator[OidcProvider]:
    ensure_installed()
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    client_id = "assistant-console"
    client_secret = secrets.token_urlsafe(24)
    # child_env: a clock moved by faketime is the provider's clock too.
    env = child_env(
        {
            "NODE_ENV": "test",
            "OIDC_TEST_PORT": str(port),
            "OIDC_TEST_ISSUER": issuer,
            "OIDC_TEST_CLIENT_ID": client_id,
            "OIDC_TEST_CLIENT_SECRET": client_secret,
            "OIDC_TEST_REDIRECT_URI": redirect_uri,
            "OIDC_TEST_USERS": json.dumps(
                [{"sub": u.sub, "password": u.password, "claims": u.claims} for u in users]
            ),
        }
    )
    process = Process("oidc-provider", ["node", str(OIDC_DIR / "provider.mjs")], env, log_path)
    try:
        _start(process, f"{issuer}/.well-known/openid-configuration")
        yield OidcProvider(issuer, client_id, client_secret, redirect_uri, process)
    finally:
        process.stop()


# It answers within two seconds. Under faketime (tests/test_clock_ahead.py) it once stayed
# silent for good, neither answering nor exiting (once in CI, in stop 17's run; not reproduced
# in 130 starts here): a silent one is stopped and started again.
READY_WITHIN = 45
STARTS = 3


def _start(process: Process, ready_url: str) -> None:
    for start in range(1, STARTS + 1):
        process.start()
        try:
            process.wait_until(ready_url, timeout=READY_WITHIN)
            return
        except TimeoutError:
            output = process.output()[-2000:]
            process.stop()
            if start == STARTS:
                raise
            log.warning(
                "oidc-provider silent for %ss (start %d of %d), starting it again; it wrote: %s",
                READY_WITHIN,
                start,
                STARTS,
                output,
            )
