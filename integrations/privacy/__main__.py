"""The DPO's commands: what is stored about one person, its export, its erasure.

    python -m integrations.privacy find --phone "06 12 34 56 78"
    python -m integrations.privacy export --email marie@example.fr [--output donnees.json]
    python -m integrations.privacy erase --web 3f1c… [--yes]
    (one of --web, --phone, --email, --telegram, --matrix; "-" reads the identifier
    from standard input, so that it appears neither in the process list nor in the
    shell's history: echo "06 12 34 56 78" | python -m integrations.privacy find --phone -)

Settings come from the environment like the gateway's (``.env.example``); ``--by``
names the person in the audit log (default: the system user, "cli:<login>"). Without
``--yes``, ``erase`` shows what it would erase and asks to type EFFACER.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from common.db import make_engine
from common.migrate import upgrade
from integrations.privacy.service import Kind, Person, Privacy, PrivacyError, describe
from integrations.settings import Settings

CONFIRMATION = "EFFACER"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m integrations.privacy",
        description="Données personnelles : retrouver, exporter ou effacer ce que l'assistant "
        "garde sur une personne.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    helps = {
        "find": "Lister ce qui est enregistré sur la personne",
        "export": "Exporter ces données en JSON (droit d'accès)",
        "erase": "Effacer ces données (droit à l'effacement)",
    }
    for name, help_text in helps.items():
        command = commands.add_parser(name, help=help_text)
        who = command.add_mutually_exclusive_group(required=True)
        who.add_argument("--web", help="identifiant de conversation web (sender)")
        who.add_argument("--phone", help="numéro de téléphone")
        who.add_argument("--email", help="adresse électronique")
        who.add_argument("--telegram", help="identifiant Telegram")
        who.add_argument("--matrix", help="identifiant Matrix (@nom:serveur)")
        command.add_argument("--by")
        if name == "export":
            command.add_argument("--output", type=Path, help="fichier (sinon la sortie standard)")
        if name == "erase":
            command.add_argument("--yes", action="store_true", help="sans demander confirmation")
    return parser


def _person(args: argparse.Namespace) -> Person:
    kind = next(k for k in Kind if getattr(args, str(k)) is not None)
    value = getattr(args, str(kind))
    if value == "-":
        value = sys.stdin.readline()
    return Person.parse(str(kind), value)


def _print_counts(counts: dict[str, int]) -> None:
    for label, count in describe(counts):
        print(f"{count:6d}  {label}")


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    actor = args.by or f"cli:{getpass.getuser()}"
    try:
        person = _person(args)
    except PrivacyError as err:
        print(f"Erreur : {err.reason}", file=sys.stderr)
        return 2
    url = Settings.from_env().database_url
    engine = make_engine(url)
    try:
        upgrade(url)
        privacy = Privacy(engine)
        if args.command == "find":
            found = privacy.find(person, actor)
            print(f"Données enregistrées ({person.label}) :")
            _print_counts(found.counts())
            for conversation in found.conversations:
                print(f"  conversation {conversation['key']} du {conversation['created_at']}")
            return 0
        if args.command == "export":
            data = privacy.export(person, actor, datetime.now(UTC))
            text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
            if args.output:
                args.output.write_text(text + "\n", encoding="utf-8")
                print(f"Export écrit dans {args.output}.", file=sys.stderr)
            else:
                print(text)
            return 0
        if not args.yes:
            found = privacy.find(person, actor)
            if not found.total:
                print("Aucune donnée enregistrée pour cet identifiant : rien à effacer.")
                return 0
            print(f"Seront effacés ({person.label}) :")
            _print_counts(found.counts())
            answer = input(f"Recopiez {CONFIRMATION} pour confirmer : ")
            if answer.strip().upper() != CONFIRMATION:
                print("Rien n'a été effacé.")
                return 1
        counts = privacy.erase(person, actor)
        print("Effacé :")
        _print_counts(counts)
        print(
            "La fiche d'un agent vient de data/agents.yml : retirez-la du fichier, "
            "puis lancez make rooms."
        )
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(run())
