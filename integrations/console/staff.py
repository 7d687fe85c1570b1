"""Staff accounts from the command line (``assistant staff …``), and the first admin.

    assistant staff add annick --name Annick --role mediator
    assistant staff add admin2 --name Paul --role admin --password-stdin
    assistant staff add l.briand --name Lucie --role agent  (no SSO)
    assistant staff list
    assistant staff password annick
    assistant staff disable annick           (enable to undo)

Uses DATABASE_URL like the gateway (``python -m integrations.console.staff`` is the same
without the tool). Passwords are asked twice on a terminal; without a terminal, or with
--password-stdin, the first line of standard input is the password (for scripts).

The first admin: at start the gateway creates the account "admin" with
CONSOLE_ADMIN_PASSWORD whenever no active admin exists (:func:`ensure_admin`), so adding
a mediator first no longer leaves the console without an admin.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from common.config import ConfigError, database_url
from common.db import check_database, make_engine
from common.migrate import upgrade
from integrations.console.auth import ROLE_LABELS, StaffRole, StaffStore

FIRST_ADMIN = "admin"

log = logging.getLogger(__name__)


class NoPassword(ValueError):
    """No password could be read (no terminal and an empty standard input)."""


def has_admin(store: StaffStore) -> bool:
    """Whether an active account has the admin role."""
    return any(user.role is StaffRole.ADMIN and active for user, active in store.users())


def ensure_admin(store: StaffStore, password: str | None) -> bool:
    """Create the account "admin" with ``password`` when no active admin exists; True if
    created. An existing, non-admin or disabled "admin" account is left as it is (logged)."""
    if not password or has_admin(store):
        return False
    if any(user.username == FIRST_ADMIN for user, _ in store.users()):
        log.warning(
            "console: no active admin, and the account « admin » exists without that role "
            "or disabled: run « assistant staff add <login> --role admin »"
        )
        return False
    store.add_user(FIRST_ADMIN, "Administrateur", password, StaffRole.ADMIN)
    log.info("console: created the account « admin » (CONSOLE_ADMIN_PASSWORD): no admin existed")
    return True


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise NoPassword(
                "aucun mot de passe : lancez la commande dans un terminal, ou donnez le mot "
                "de passe sur la première ligne de l'entrée standard (--password-stdin)"
            )
        return password
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Confirmez le mot de passe : ") != first:
        raise ValueError("les deux mots de passe diffèrent")
    return first


def add_commands(parser: argparse.ArgumentParser) -> None:
    """The subcommands of ``assistant staff`` on ``parser``."""
    commands = parser.add_subparsers(dest="staff_command", required=True, metavar="COMMANDE")
    stdin_help = "lire le mot de passe sur l'entrée standard (sans terminal, c'est automatique)"
    add = commands.add_parser("add", help="créer un compte", description="Créer un compte.")
    add.add_argument("username", metavar="IDENTIFIANT")
    add.add_argument("--name", required=True, metavar="PRÉNOM", help="prénom montré aux usagers")
    add.add_argument(
        "--role",
        choices=[r.value for r in StaffRole],
        default="mediator",
        help="rôle (défaut : mediator)",
    )
    add.add_argument("--password-stdin", action="store_true", help=stdin_help)
    password = commands.add_parser(
        "password",
        help="changer le mot de passe (déconnecte partout)",
        description="Changer le mot de passe d'un compte ; ses sessions sont fermées.",
    )
    password.add_argument("username", metavar="IDENTIFIANT")
    password.add_argument("--password-stdin", action="store_true", help=stdin_help)
    for name, label in (("disable", "désactiver"), ("enable", "réactiver")):
        sub = commands.add_parser(name, help=f"{label} un compte")
        sub.add_argument("username", metavar="IDENTIFIANT")
    commands.add_parser("list", help="lister les comptes", description="Lister les comptes.")
    # For scripts/run.sh: the first-login line, printed only while no active admin exists.
    commands.add_parser("hint")


def run(args: argparse.Namespace) -> int:
    """Run ``assistant staff <args>``: 0 done, 1 refused (French reason on stderr)."""
    url = database_url()
    check_database(url)
    upgrade(url)
    engine = make_engine(url)
    store = StaffStore(engine)
    try:
        return _command(store, args)
    except NoPassword as err:
        print(f"Erreur : {err}.", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"Erreur : {err}.", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _command(store: StaffStore, args: argparse.Namespace) -> int:
    command = args.staff_command
    if command == "add":
        user = store.add_user(args.username, args.name, _password(args.password_stdin), args.role)
        print(f"Compte « {user.username} » créé ({ROLE_LABELS[user.role]}).")
    elif command == "password":
        store.set_password(args.username, _password(args.password_stdin))
        print(f"Mot de passe de « {args.username} » changé.")
    elif command in ("disable", "enable"):
        store.set_active(args.username, command == "enable")
        state = "réactivé" if command == "enable" else "désactivé"
        print(f"Compte « {args.username} » {state}.")
    elif command == "hint":
        if not has_admin(store):
            print(
                "premier accès : identifiant « admin », mot de passe CONSOLE_ADMIN_PASSWORD "
                "(s'il n'est pas dans .env : CONSOLE_ADMIN_PASSWORD_GENERATED dans "
                "var/secrets.env)"
            )
    else:
        users = store.users()
        if not users:
            print("Aucun compte.")
        for user, active in users:
            status = "" if active else " (désactivé)"
            print(f"{user.username}\t{user.display_name}\t{ROLE_LABELS[user.role]}{status}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m integrations.console.staff", description="Comptes du personnel."
    )
    add_commands(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ConfigError as err:
        print(f"Erreur de configuration : {err}.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
