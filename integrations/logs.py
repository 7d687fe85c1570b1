"""The gateway's log lines: plain text (the default) or one JSON object per line.

``LOG_FORMAT=json`` suits a log collector (journald, Loki, Elasticsearch): each line is
``{"time", "level", "logger", "message"}`` plus ``"exception"`` when there is one, and
``"replica"``-like extras a caller passes with ``extra=``. ``LOG_LEVEL`` sets the level.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from common.config import ConfigError, env_str

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every LogRecord has: the rest are a caller's ``extra=`` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in line:
                line[name] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        return json.dumps(line, ensure_ascii=False)


def configure() -> None:
    """Set up the root logger from ``LOG_LEVEL`` and ``LOG_FORMAT`` (text or json)."""
    kind = env_str("LOG_FORMAT", "text").lower()
    if kind not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, got {kind!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(env_str("LOG_LEVEL", "INFO").upper())
