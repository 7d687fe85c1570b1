"""``assistant check``: the effective settings (secrets masked), then each peer.

Every setting of ``.env.example`` is printed with its value as the services see it.
Then, one line each: the database (reachable, at the latest migration), Rasa (its
``/status`` with ``RASA_TOKEN``), the action server (``/health``), Redis (``REDIS_URL``;
empty: not used), Telegram (``getMe``; off without ``TELEGRAM_BOT_TOKEN``), Matrix (the
homeserver's ``/versions``, and ``whoami`` with an access token; off without
``MATRIX_HOMESERVER``). Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from common.config import PROJECT_ROOT, ConfigError, database_url, env_str, masked
from common.db import check_database

TIMEOUT_S = 3.0
# "# NAME=default  # what it does", "[…]" starting the description for a computed default.
SETTING_LINE = re.compile(r"# ([A-Z][A-Z0-9_]+)=(.*?)\s+# (?:\[([^\]]*)\] ?)?(.*)")


@dataclass(frozen=True)
class Setting:
    name: str
    default: str  # as documented: a value, or the rule giving it ("generated"…)
    description: str
    literal: bool = True  # the default is a value (not a rule computed at start)


def documented_settings(path: Path = PROJECT_ROOT / ".env.example") -> list[Setting]:
    """The settings of ``.env.example``, one per ``# NAME=default  # …`` line, in order."""
    found: dict[str, Setting] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = SETTING_LINE.fullmatch(line.strip())
        if match and match.group(1) not in found:
            name, value, computed, description = match.groups()
            literal = value.strip().strip('"')
            default = literal or (computed or "")
            found[name] = Setting(name, default, description.strip(), bool(literal))
    return list(found.values())


class Failed(Exception):
    """A peer that is configured but does not answer as it should (French reason)."""


def _get(url: str, headers: dict[str, str] | None = None, post: bool = False) -> dict:
    """The JSON body of ``url`` (a POST of ``{}`` with ``post``); :class:`Failed` else."""
    headers = {**(headers or {}), **({"Content-Type": "application/json"} if post else {})}
    request = urllib.request.Request(url, data=b"{}" if post else None, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = response.read()
    except urllib.error.HTTPError as err:
        raise Failed(f"réponse HTTP {err.code}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise Failed(f"injoignable ({reason})") from err
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {}


def check_database_setting() -> str:
    from common.migrate import SchemaNotReady, current, require_current

    url = database_url()
    try:
        check_database(url)
        require_current(url)
    except (ConfigError, SchemaNotReady) as err:
        raise Failed(str(err)) from err
    return f"joignable, révision {current(url)}"


def check_rasa() -> str:
    base = env_str("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
    token = env_str("RASA_TOKEN", "")
    status = _get(f"{base}/status?token={quote(token)}")
    model = Path(str(status.get("model_file") or "?")).name
    return f"{base} répond, modèle {model}"


def check_actions() -> str:
    webhook = env_str("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    base = webhook.rstrip("/").removesuffix("/webhook")
    _get(f"{base}/health")
    return f"{base} répond"


def check_redis() -> str | None:
    url = env_str("REDIS_URL", "")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise Failed(f"REDIS_URL doit ressembler à redis://hôte:6379/0, pas {masked('', url)!r}")
    commands = []
    if parts.password:
        user = [parts.username] if parts.username else []
        commands.append(["AUTH", *user, parts.password])
    commands.append(["PING"])
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), TIMEOUT_S) as sock:
            for command in commands:
                wire = f"*{len(command)}\r\n" + "".join(
                    f"${len(word.encode())}\r\n{word}\r\n" for word in command
                )
                sock.sendall(wire.encode())
                answer = sock.recv(256).decode(errors="replace").strip()
                if answer.startswith("-"):
                    raise Failed(f"refuse ({answer[1:]})")
    except OSError as err:
        raise Failed(f"injoignable ({err.strerror or err})") from err
    return f"{parts.hostname}:{parts.port or 6379} répond"


def check_telegram() -> str | None:
    token = env_str("TELEGRAM_BOT_TOKEN", "")
    if not token:
        return None
    api = env_str("TELEGRAM_API_URL", "https://api.telegram.org/bot").rstrip("/")
    try:
        me = _get(f"{api}{token}/getMe", post=True)
    except Failed as err:
        raise Failed(f"{err} : vérifiez TELEGRAM_BOT_TOKEN et TELEGRAM_API_URL") from err
    if not me.get("ok"):
        raise Failed("getMe refusé : vérifiez TELEGRAM_BOT_TOKEN")
    return f"bot @{me.get('result', {}).get('username', '?')}"


def check_matrix() -> str | None:
    homeserver = env_str("MATRIX_HOMESERVER", "").rstrip("/")
    if not homeserver:
        return None
    _get(f"{homeserver}/_matrix/client/versions")
    token = env_str("MATRIX_ACCESS_TOKEN", "")
    if token:
        who = _get(
            f"{homeserver}/_matrix/client/v3/account/whoami",
            {"Authorization": f"Bearer {token}"},
        )
        return f"{homeserver} répond, connecté en {who.get('user_id', '?')}"
    return f"{homeserver} répond"


CHECKS: list[tuple[str, str, Callable[[], str | None]]] = [
    ("base de données", "DATABASE_URL", check_database_setting),
    ("Rasa", "RASA_URL", check_rasa),
    ("serveur d'actions", "ACTION_SERVER_URL", check_actions),
    ("Redis", "REDIS_URL", check_redis),
    ("Telegram", "TELEGRAM_BOT_TOKEN", check_telegram),
    ("Matrix", "MATRIX_HOMESERVER", check_matrix),
]


def run(_args: argparse.Namespace) -> int:
    print("Réglages en vigueur (secrets masqués) :")
    settings = documented_settings()
    width = max((len(s.name) for s in settings), default=0)
    for setting in settings:
        value = os.environ.get(setting.name, "")
        if value:
            shown = masked(setting.name, value)
        elif setting.literal:
            shown = f"(défaut : {setting.default})"
        else:
            shown = "(non défini : voir .env.example)"
        print(f"  {setting.name:{width}} = {shown}")
    print()
    print("Vérifications :")
    failed = 0
    for label, setting, check in CHECKS:
        try:
            result = check()
        except Failed as err:
            failed += 1
            print(f"  ÉCHEC  {label} ({setting}) : {err}")
            continue
        if result is None:
            print(f"  —      {label} : non utilisé ({setting} vide)")
        else:
            print(f"  OK     {label} : {result}")
    if failed:
        print(f"\n{failed} vérification(s) en échec.")
        return 1
    print("\nTout répond.")
    return 0


def add_command(groups: argparse._SubParsersAction) -> None:
    check = groups.add_parser(
        "check",
        help="réglages en vigueur et état de chaque service",
        description="Affiche les réglages en vigueur (secrets masqués) puis vérifie la base "
        "de données, Rasa, le serveur d'actions, Redis, Telegram et Matrix. Code de sortie 1 "
        "si une vérification échoue.",
    )
    check.set_defaults(handler=run)
