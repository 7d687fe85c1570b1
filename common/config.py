"""Reading settings from the environment: one place for parsing and error messages.

Each process defines its own frozen settings dataclass (``actions.settings``,
``integrations.settings``…) with these helpers, so a wrong value fails at start
with the variable's name rather than deep inside a request.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'assistant.db'}"
TIMEZONE = "Europe/Paris"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


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
