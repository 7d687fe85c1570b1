"""Reading settings from the environment: one place for parsing and error messages.

Each process defines its own frozen settings dataclass (``actions.settings``,
``integrations.settings``…) with these helpers, so a wrong value fails at start
with the variable's name rather than deep inside a request.

:func:`load_environment` is the one implementation of the local defaults: ``.env``
(a variable already in the environment wins), the secrets generated once into
``var/secrets.env``, then the defaults below. ``scripts/env.sh`` applies it
(``python3 -m common.config --shell``) and so does the ``assistant`` tool, so the
services, the scripts and the command line see the same settings. Standard library
only: ``env.sh`` runs it before any environment exists.

    python3 -m common.config --shell     # export lines for a POSIX shell
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import socket
import sys
from collections.abc import MutableMapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'assistant.db'}"
TIMEZONE = "Europe/Paris"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


# Secrets generated once for a local installation (var/secrets.env, mode 600) when the
# setting is not given: setting -> its generated value's name.
GENERATED_SECRETS = {
    "RASA_TOKEN": "RASA_TOKEN_GENERATED",
    "ACTIONS_SECRET": "ACTIONS_SECRET_GENERATED",
    "GATEWAY_CHANNEL_SECRET": "GATEWAY_CHANNEL_SECRET_GENERATED",
    # Password of the console account "admin", created while no active admin exists.
    "CONSOLE_ADMIN_PASSWORD": "CONSOLE_ADMIN_PASSWORD_GENERATED",
}
_DOTENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def local_defaults(env: MutableMapping[str, str], root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The defaults of a local installation, some derived from settings already in ``env``
    (``RASA_URL`` from ``RASA_PORT``…)."""
    rasa_port = env.get("RASA_PORT") or "5005"
    actions_port = env.get("ACTIONS_PORT") or "5055"
    return {
        "DATABASE_URL": f"sqlite:///{root / 'var' / 'assistant.db'}",
        "RASA_PORT": rasa_port,
        "ACTIONS_PORT": actions_port,
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "DATA_DIR": str(root / "data"),
        "RASA_VENV": str(root / ".venv"),
        # Shown times: Europe/Paris (stored times are UTC).
        "TZ": TIMEZONE,
        "PYTHONPATH": str(root),
        "LOG_LEVEL": "INFO",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false",
    }


def read_dotenv(path: Path, env: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``export``, quotes, ``#`` comments, ``$VAR``
    references to earlier lines or to ``env``); a missing file is empty."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return values
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"{path} est illisible ({err}) : corrigez ou supprimez ce fichier"
        ) from err
    scope: dict[str, str] = dict(env or {})

    def expand(text: str) -> str:
        return _REFERENCE.sub(lambda m: scope.get(m.group(1) or m.group(2), ""), text)

    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found = _DOTENV_LINE.fullmatch(line)
        if not found:
            raise ConfigError(f"{path}, ligne {number} : attendu NOM=valeur, trouvé {line!r}")
        name, raw = found.groups()
        raw = raw.strip()
        if raw[:1] == "'" and raw.rfind("'") > 0:
            value = raw[1 : raw.rfind("'")]
        elif raw[:1] == '"' and raw.rfind('"') > 0:
            value = expand(raw[1 : raw.rfind('"')].replace('\\"', '"'))
        else:
            value = expand(re.split(r"\s+#", raw, maxsplit=1)[0].strip())
        values[name] = scope[name] = value
    return values


def _generated_secrets(path: Path) -> dict[str, str]:
    """``var/secrets.env``, completed with a random value for each missing secret."""
    known = read_dotenv(path)
    missing = [name for name in GENERATED_SECRETS.values() if not known.get(name)]
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            for name in missing:
                known[name] = secrets.token_hex(18)
                handle.write(f"{name}={known[name]}\n")
    return known


def load_environment(
    env: MutableMapping[str, str] | None = None, root: Path = PROJECT_ROOT
) -> dict[str, str]:
    """Apply ``.env``, the generated secrets and the local defaults to ``env``
    (``os.environ`` by default) wherever a setting is unset or empty; return what was set."""
    env = os.environ if env is None else env
    applied: dict[str, str] = {}

    def fill(name: str, value: str) -> None:
        if not env.get(name):
            env[name] = applied[name] = value

    for name, value in read_dotenv(root / ".env", env).items():
        fill(name, value)
    generated = _generated_secrets(root / "var" / "secrets.env")
    for name, value in generated.items():
        fill(name, value)
    for setting, secret in GENERATED_SECRETS.items():
        fill(setting, generated[secret])
    for name, value in local_defaults(env, root).items():
        fill(name, value)
    return applied


def secret_setting(name: str) -> bool:
    """Whether a setting holds a secret (never printed in clear)."""
    return any(word in name for word in ("SECRET", "TOKEN", "PASSWORD"))


def masked(name: str, value: str) -> str:
    """A setting's value as it may be shown: secrets hidden, a URL's password too."""
    if not value:
        return value
    if secret_setting(name):
        return "•••• (défini)"
    return re.sub(r"(://[^:/@]*:)[^@/]+@", r"\1••••@", value)


def require_free_port(setting: str, host: str, port: int) -> None:
    """Raise :class:`ConfigError` naming ``setting`` when ``host:port`` is already taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            probe.bind((host, port))
        except OSError as err:
            raise ConfigError(
                f"le port {port} ({setting}) est déjà utilisé sur {host} : arrêtez le "
                f"programme qui l'occupe ou choisissez un autre {setting} dans .env"
            ) from err


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigError(f"{name} is required")
    return default


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from err
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def env_list(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    return items or default


def database_url() -> str:
    """The one database URL shared by Rasa's tracker store, actions and gateway."""
    return env_str("DATABASE_URL", DEFAULT_DATABASE_URL)


def data_dir() -> Path:
    """Folder of the content files (places, procedures, rooms…)."""
    return Path(env_str("DATA_DIR", str(PROJECT_ROOT / "data")))


def _shell(applied: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in applied.items())


if __name__ == "__main__":
    if sys.argv[1:] != ["--shell"]:
        sys.exit("usage : python3 -m common.config --shell")
    try:
        sys.stdout.write(_shell(load_environment()))
    except ConfigError as err:
        sys.exit(f"Erreur de configuration : {err}")
