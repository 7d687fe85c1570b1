"""Staff accounts from the command line.

    python -m integrations.console.staff add annick --name Annick --role mediator
    python -m integrations.console.staff add admin2 --name Paul --role admin --password-stdin
    python -m integrations.console.staff add l.briand --name Lucie --role agent  (no SSO)
    python -m integrations.console.staff list
    python -m integrations.console.staff password annick
    python -m integrations.console.staff disable annick   (enable to undo)

Uses DATABASE_URL like the gateway. Passwords are asked twice on a terminal, or read
from the first line of standard input with --password-stdin (for scripts).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from common.config import database_url
from common.db import make_engine
from common.migrate import upgrade
from integrations.console.auth import ROLE_LABELS, StaffRole, StaffStore


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Confirmez le mot de passe : ") != first:
        raise ValueError("les deux mots de passe diffèrent")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.console.staff")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="first name shown to citizens")
    add.add_argument("--role", choices=[r.value for r in StaffRole], default="mediator")
    add.add_argument("--password-stdin", action="store_true")
    password = commands.add_parser("password", help="set a new password (logs out everywhere)")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    for name in ("disable", "enable"):
        commands.add_parser(name, help=f"{name} an account").add_argument("username")
    commands.add_parser("list", help="list the accounts")
    args = parser.parse_args(argv)

    upgrade(database_url())
    store = StaffStore(make_engine(database_url()))
    try:
        if args.command == "add":
            user = store.add_user(
                args.username, args.name, _password(args.password_stdin), args.role
            )
            print(f"Compte « {user.username} » créé ({ROLE_LABELS[user.role]}).")
        elif args.command == "password":
            store.set_password(args.username, _password(args.password_stdin))
            print(f"Mot de passe de « {args.username} » changé.")
        elif args.command in ("disable", "enable"):
            store.set_active(args.username, args.command == "enable")
            state = "réactivé" if args.command == "enable" else "désactivé"
            print(f"Compte « {args.username} » {state}.")
        else:
            for user, active in store.users():
                status = "" if active else " (désactivé)"
                print(f"{user.username}\t{user.display_name}\t{ROLE_LABELS[user.role]}{status}")
    except ValueError as err:
        print(f"Erreur : {err}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
