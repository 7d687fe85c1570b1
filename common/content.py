"""Content files (YAML in ``DATA_DIR``) read on demand and reloaded when they change.

Admins edit these files; the action server picks the change up on the next
request, without a restart.
"""

from __future__ import annotations

from pathlib import Path
from threading import Lock
from typing import Any

import yaml

from common.config import data_dir

_cache: dict[Path, tuple[float, Any]] = {}
_lock = Lock()


class ContentError(RuntimeError):
    """A content file is missing or cannot be read."""


def load_yaml(relative_path: str) -> Any:
    """The parsed content of ``DATA_DIR/relative_path``, cached until its mtime changes."""
    path = data_dir() / relative_path
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError as err:
        raise ContentError(f"content file not found: {path}") from err
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ContentError(f"cannot read {path}: {err}") from err
    with _lock:
        _cache[path] = (mtime, content)
    return content
