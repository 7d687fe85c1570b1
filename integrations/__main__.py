"""``python -m integrations``: start the gateway on GATEWAY_HOST:GATEWAY_PORT (default 8080)."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from common.config import ConfigError, require_free_port
from common.db import check_database
from common.migrate import SchemaNotReady, require_current
from integrations import logs
from integrations.app import create_app
from integrations.settings import Settings


def main() -> int:
    try:
        logs.configure()  # LOG_LEVEL, LOG_FORMAT (text or json)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Telegram API call
        settings = Settings.from_env()
        check_database(settings.database_url)
        require_free_port("GATEWAY_PORT", settings.host, settings.port)
    except ConfigError as err:
        print(f"gateway: erreur de configuration : {err}", file=sys.stderr)
        return 2
    try:
        require_current(settings.database_url)
    except SchemaNotReady as err:
        print(f"gateway: {err}", file=sys.stderr)
        return 2
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _: logging.getLogger("integrations").info(
            "gateway listening on http://%s:%s", settings.host, settings.port
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
