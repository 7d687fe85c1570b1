"""The commands that run in Rasa's environment: places, content, rooms.

Each runs ``$RASA_VENV/bin/python -m actions.<module> …`` as a child process (the
gateway's environment never imports ``actions/``), after checking here what it would
otherwise trip on with a traceback: the database (``DATABASE_URL``), the data file,
Rasa's environment (``RASA_VENV``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from common.config import PROJECT_ROOT, ConfigError, data_dir, database_url, env_str
from common.db import check_database


def rasa_python() -> Path:
    """The interpreter of Rasa's environment, ``RASA_VENV/bin/python``."""
    venv = Path(env_str("RASA_VENV", str(PROJECT_ROOT / ".venv")))
    python = venv / "bin" / "python"
    if not os.access(python, os.X_OK):
        raise ConfigError(
            f"{python} introuvable (RASA_VENV) : lancez « make install » ou corrigez RASA_VENV"
        )
    return python


def readable(path: Path, what: str) -> Path:
    """``path`` when it can be read (a file, or a folder for ``what`` = folder)."""
    try:
        if path.is_dir():
            next(iter(path.iterdir()), None)
        else:
            path.open("rb").close()
    except OSError as err:
        raise ConfigError(
            f"{what} {path} est illisible ({err.strerror or err}) : "
            "vérifiez le chemin et les droits"
        ) from err
    return path


def run_actions(module: str, *arguments: str) -> int:
    """``RASA_VENV/bin/python -m actions.<module> <arguments>``; its exit code."""
    check_database(database_url())
    command = [str(rasa_python()), "-m", f"actions.{module}", *arguments]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=os.environ.copy(), check=False).returncode


def _places_import(args: argparse.Namespace) -> int:
    path = readable(Path(args.path), "le fichier des lieux")
    extra = ["--mapping", str(readable(Path(args.mapping), "le fichier"))] if args.mapping else []
    strict = [] if args.accept_rejects else ["--strict"]
    return run_actions("place_import", str(path), *extra, *strict)


def _places_quality(args: argparse.Namespace) -> int:
    extra = ["--json", args.json] if args.json else []
    return run_actions("place_quality", "--months", str(args.months), *extra)


def _content_stale(args: argparse.Namespace) -> int:
    readable(data_dir(), "le dossier des contenus (DATA_DIR)")
    return run_actions("knowledge", "--stale", str(args.months))


def _rooms(args: argparse.Namespace) -> int:
    if args.rooms_command == "seed":
        for name in ("rooms.yml", "agents.yml"):
            readable(data_dir() / name, "le fichier (DATA_DIR)")
    return run_actions("booking_admin", args.rooms_command)


def add_commands(groups: argparse._SubParsersAction) -> None:
    """``places``, ``content`` and ``rooms`` on the tool's parser."""
    places = groups.add_parser("places", help="lieux d'aide au numérique : import, qualité")
    places.description = "Lieux d'aide au numérique (schéma national, Opendatasoft)."
    commands = places.add_subparsers(dest="places_command", required=True, metavar="COMMANDE")
    load = commands.add_parser(
        "import",
        help="importer un fichier ou un dossier de lieux",
        description="Importe des lieux. Code de sortie 1 si une ligne est rejetée ou un "
        "fichier ignoré (les lignes valides sont importées quand même), 2 si le fichier est "
        "illisible.",
    )
    load.add_argument(
        "path", nargs="?", default=str(data_dir() / "places"), metavar="CHEMIN",
        help="fichier CSV / JSON / GeoJSON ou dossier (défaut : DATA_DIR/places)",
    )  # fmt: skip
    load.add_argument("--mapping", metavar="FICHIER", help="correspondance des colonnes (YAML)")
    load.add_argument(
        "--accept-rejects",
        action="store_true",
        help="code de sortie 0 même si des lignes sont rejetées",
    )
    load.set_defaults(handler=_places_import)
    quality = commands.add_parser(
        "quality", help="rapport de qualité des données", description="Qualité des lieux."
    )
    quality.add_argument("--months", type=int, default=24, metavar="MOIS",
                         help="ancienneté à signaler, en mois (défaut : 24)")  # fmt: skip
    quality.add_argument("--json", metavar="FICHIER", help="écrit aussi le rapport en JSON")
    quality.set_defaults(handler=_places_quality)

    content = groups.add_parser("content", help="contenus à relire (démarches, guides…)")
    content.description = "Contenus du dossier DATA_DIR."
    commands = content.add_subparsers(dest="content_command", required=True, metavar="COMMANDE")
    stale = commands.add_parser(
        "stale",
        help="fiches non revues depuis des mois",
        description="Liste les fiches non revues depuis MOIS mois.",
    )
    stale.add_argument("--months", type=int, default=6, metavar="MOIS", help="défaut : 6")
    stale.set_defaults(handler=_content_stale)

    rooms = groups.add_parser("rooms", help="salles et agents de la réservation")
    rooms.description = "Salles (DATA_DIR/rooms.yml) et agents (DATA_DIR/agents.yml)."
    commands = rooms.add_subparsers(dest="rooms_command", required=True, metavar="COMMANDE")
    commands.add_parser(
        "seed", help="charger ou recharger rooms.yml et agents.yml dans la base"
    ).set_defaults(handler=_rooms)
    commands.add_parser("show", help="lister les sites et leurs salles").set_defaults(
        handler=_rooms
    )
