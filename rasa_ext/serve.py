"""``python -m rasa_ext.serve``: ``rasa run`` configured from the environment, no secret in argv.

``rasa run --auth-token $RASA_TOKEN`` shows the token to anyone who lists the
processes (``ps``, ``/proc/<pid>/cmdline``). This launcher builds the same command
line in memory and runs Rasa's CLI in this very process, so the token never leaves
the environment:

    RASA_TOKEN      token of the HTTP API (required)
    RASA_HOST       interface to listen on [127.0.0.1]
    RASA_PORT       [5005]
    RASA_MODEL      a model file or a folder of models [models]
    RASA_ENDPOINTS  [bot/endpoints.yml]   (action server + its secret, tracker store)
    RASA_CREDENTIALS [bot/credentials.yml] (the gateway channel + its secret)

Other arguments are passed on to ``rasa run`` (``--debug``, ``--cors``…); secrets on
the command line (``--auth-token``, ``--jwt-secret``) are refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common.config import ConfigError, database_url, env_int, env_str, require_free_port
from common.db import check_database

# Options of ``rasa run`` whose value is a secret: they belong in the environment.
SECRET_OPTIONS = ("--auth-token", "-t", "--jwt-secret", "--ssl-password")


def rasa_argv(extra: list[str]) -> list[str]:
    """The ``rasa run`` command line from the environment (holding the token: keep in memory)."""
    for argument in extra:
        if argument.split("=", 1)[0] in SECRET_OPTIONS:
            raise ConfigError(f"{argument.split('=', 1)[0]} must not be on the command line")
    return [
        "rasa",
        "run",
        "--interface",
        env_str("RASA_HOST", "127.0.0.1"),
        "--port",
        str(env_int("RASA_PORT", 5005, minimum=1)),
        "--enable-api",
        "--auth-token",
        env_str("RASA_TOKEN"),
        "--model",
        env_str("RASA_MODEL", "models"),
        "--endpoints",
        env_str("RASA_ENDPOINTS", "bot/endpoints.yml"),
        "--credentials",
        env_str("RASA_CREDENTIALS", "bot/credentials.yml"),
        *extra,
    ]


def require_model(value: str) -> None:
    """``RASA_MODEL`` names a model archive, or a folder holding one."""
    path = Path(value)
    if path.is_file() or (path.is_dir() and any(path.glob("*.tar.gz"))):
        return
    raise ConfigError(
        f"aucun modèle dans {value} (RASA_MODEL) : entraînez-en un avec « make train » "
        "ou indiquez une archive .tar.gz existante dans RASA_MODEL"
    )


def main() -> int:
    try:
        argv = rasa_argv(sys.argv[1:])
        require_model(env_str("RASA_MODEL", "models"))
        check_database(database_url())
        require_free_port(
            "RASA_PORT", env_str("RASA_HOST", "127.0.0.1"), env_int("RASA_PORT", 5005, minimum=1)
        )
    except ConfigError as err:
        print(f"rasa: erreur de configuration : {err}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    # Rasa's CLI parses sys.argv; /proc/<pid>/cmdline keeps "python -m rasa_ext.serve".
    sys.argv = argv
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
