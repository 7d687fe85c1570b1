"""``assistant``: the one command-line tool of the assistant, for the council's IT team.

    assistant staff add|password|disable|enable|list     console accounts
    assistant admin inbox|retrain|status|rollback|…       NLU inbox, retraining, models
    assistant places import|quality                       digital-help places
    assistant content stale                               content to review
    assistant rooms seed|show                             rooms and agents of the booking
    assistant chat                                        talk to the assistant in the terminal
    assistant check                                       effective settings, and each peer

Installed into ``.venv-gateway`` by ``scripts/setup.sh`` (console script of
``pyproject.toml``; ``./assistant`` at the project root runs it without activating
anything). It applies the same settings as the services and the scripts by itself
(``common.config.load_environment``: the environment, ``.env``, ``var/secrets.env``,
the defaults). The Rasa-side commands run ``$RASA_VENV/bin/python -m actions.…``: this
environment never imports ``actions/``.

Exit codes (README, "Command-line tool"): 0 done; 1 the operation failed or found a
problem (rows rejected by an import, a peer unreachable in ``check``, a refused
change); 2 a configuration or usage error, one French line naming the setting or the
file; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from integrations.cli import french

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    from integrations.admin.cli import DESCRIPTION as ADMIN_DESCRIPTION
    from integrations.admin.cli import add_commands as admin_commands
    from integrations.cli import check, rasa_side
    from integrations.console.staff import add_commands as staff_commands

    parser = argparse.ArgumentParser(
        prog="assistant",
        description="L'assistant numérique du Département en ligne de commande. Les réglages "
        "viennent de l'environnement et du fichier .env (voir .env.example).",
        epilog="Codes de sortie : 0 réussi ; 1 échec ou problème trouvé (lignes rejetées, "
        "service injoignable…) ; 2 erreur de configuration ou d'utilisation ; 130 interrompu.",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMANDE")
    staff = groups.add_parser(
        "staff", help="comptes des consoles (agents, médiateurs, administrateurs)"
    )
    staff.description = "Comptes des consoles : créer, changer le mot de passe, désactiver."
    staff_commands(staff)
    staff.set_defaults(handler=_staff)
    admin = groups.add_parser(
        "admin", help="boîte de réception NLU, réentraînement, versions de modèles"
    )
    admin.description = ADMIN_DESCRIPTION
    admin_commands(admin)
    admin.set_defaults(handler=_admin)
    rasa_side.add_commands(groups)
    chat = groups.add_parser(
        "chat",
        help="discuter avec l'assistant dans le terminal",
        description="Démarre le serveur d'actions et Rasa (sur RASA_PORT et ACTIONS_PORT) et "
        "discute comme un visiteur anonyme du site. Ctrl-D pour quitter.",
    )
    chat.add_argument("--model", help="archive du modèle (défaut : la plus récente de models/)")
    chat.set_defaults(handler=_chat)
    check.add_command(groups)
    return parser


def _staff(args: argparse.Namespace) -> int:
    from integrations.console.staff import run

    return run(args)


def _admin(args: argparse.Namespace) -> int:
    from integrations.admin.cli import run_args

    return run_args(args)


def _chat(args: argparse.Namespace) -> int:
    from tools.chat import chat

    return chat(args.model)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assistant`` console script."""
    from common.config import ConfigError, load_environment

    french.install()
    try:
        load_environment()
        parser = _parser()
        args = parser.parse_args(argv)
        return args.handler(args)
    except ConfigError as err:
        print(f"assistant : erreur de configuration : {err}.", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into head or less, which quit
        sys.stderr.close()
        return EXIT_OK
