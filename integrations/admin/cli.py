"""The admin console's actions from a terminal.

    assistant admin collect                 # unsure messages from Rasa's tracker
    assistant admin inbox [--status all]
    assistant admin intents
    assistant admin annotate ID --intent ask_fibre [--split test]
    assistant admin annotate ID --new-intent ask_carte_grise --response "…"
    assistant admin annotate ID --out-of-scope | --ignore
    assistant admin retrain                 # train, evaluate, activate if not worse
    assistant admin status                  # the running training, if any
    assistant admin models
    assistant admin activate ID [--force]   # --force: an admin's override
    assistant admin rollback
    assistant admin adopt                   # record the model Rasa runs as active
    assistant admin audit [--limit 50]

Settings come from the environment like the gateway's (``.env.example``; the tool reads
``.env`` itself); ``--by`` names the person in the audit log (default: the system user,
"cli:<login>"). ``python -m integrations.admin …`` is the same without the tool (the
console starts retraining that way). Times are shown in Europe/Paris with the zone.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence

from common.config import ConfigError
from common.db import check_database, make_engine
from common.migrate import upgrade
from integrations.admin.activation import ActivationError
from integrations.admin.annotate import Action, AnnotationError
from integrations.admin.compare import Comparison
from integrations.admin.inbox import Status
from integrations.admin.registry import ModelVersion, TrainingBusy
from integrations.admin.service import Admin
from integrations.admin.views import (
    AUDIT_LABELS,
    INBOX_STATUS_LABELS,
    describe_progress,
    format_when,
    status_label,
)
from integrations.settings import Settings


def _actor(args: argparse.Namespace) -> str:
    return args.by or f"cli:{getpass.getuser()}"


DESCRIPTION = (
    "Administration de l'assistant : boîte de réception NLU, annotation, réentraînement, "
    "versions de modèles."
)


def add_commands(parser: argparse.ArgumentParser) -> None:
    """The subcommands of ``assistant admin`` on ``parser``."""
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    commands.add_parser("collect", help="Collecter les messages incertains enregistrés par Rasa")
    inbox = commands.add_parser("inbox", help="Lister la boîte de réception")
    inbox.add_argument("--status", choices=[*(s.value for s in Status), "all"], default="open")
    commands.add_parser("intents", help="Lister les intentions existantes")
    annotate = commands.add_parser("annotate", help="Annoter un message de la boîte")
    annotate.add_argument("item", type=int)
    what = annotate.add_mutually_exclusive_group(required=True)
    what.add_argument("--intent", help="une intention existante")
    what.add_argument("--new-intent", help="le nom d'une nouvelle intention (avec --response)")
    what.add_argument("--out-of-scope", action="store_true", help="hors du périmètre")
    what.add_argument("--ignore", action="store_true", help="ignorer le message")
    annotate.add_argument("--response", help="la réponse de la nouvelle intention")
    annotate.add_argument("--split", choices=["train", "test"], default="train")
    annotate.add_argument("--by")
    retrain = commands.add_parser("retrain", help="Réentraîner, évaluer, activer si pas moins bon")
    retrain.add_argument("--job", type=int, help=argparse.SUPPRESS)  # started by the console
    retrain.add_argument("--by")
    commands.add_parser("status", help="Avancement de l'entraînement en cours")
    commands.add_parser("models", help="Lister les versions de modèles et leurs scores")
    activate = commands.add_parser("activate", help="Activer une version de modèle")
    activate.add_argument("model", type=int)
    activate.add_argument("--force", action="store_true", help="activer même si moins bon")
    activate.add_argument("--by")
    rollback = commands.add_parser("rollback", help="Revenir au modèle actif précédent")
    rollback.add_argument("--by")
    adopt = commands.add_parser("adopt", help="Enregistrer le modèle en service comme actif")
    adopt.add_argument("--by")
    audit = commands.add_parser("audit", help="Journal des actions, les plus récentes d'abord")
    audit.add_argument("--limit", type=int, default=50, help="nombre de lignes (défaut : 50)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m integrations.admin", description=DESCRIPTION)
    add_commands(parser)
    return parser


def _print_model(model: ModelVersion) -> None:
    scores = model.scores
    figures = (
        f"exactitude {scores.accuracy:.3f}  F1 macro {scores.macro_f1:.3f}"
        if scores
        else "non évalué"
    )
    active = " [ACTIF]" if model.active else ""
    name = model.name or "—"
    print(f"#{model.id:<4} {name:45s} {status_label(model.status):12s} {figures}{active}")
    print(f"      créé le {format_when(model.created_at)} par {model.created_by}")
    if model.decision:
        print(f"      {model.decision.get('reason', '')}")
    if model.error:
        print(f"      {model.error.splitlines()[-1] if model.error else ''}")


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run_args(args)
    except ConfigError as err:
        print(f"Erreur de configuration : {err}.", file=sys.stderr)
        return 2


def run_args(args: argparse.Namespace) -> int:
    """Run a parsed ``assistant admin`` command: 0 done, 1 failed or refused."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    check_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        upgrade(settings.database_url)
        admin = Admin.build(settings, engine)
        return _command(admin, args)
    except (AnnotationError, ActivationError) as err:
        print(f"Erreur : {err.reason}", file=sys.stderr)
        return 1
    except TrainingBusy:
        print("Erreur : un entraînement est déjà en cours.", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _command(admin: Admin, args: argparse.Namespace) -> int:
    if args.command == "collect":
        print(f"{admin.inbox.collect()} message(s) ajouté(s) à la boîte de réception.")
        return 0
    if args.command == "inbox":
        admin.inbox.collect()
        status = None if args.status == "all" else Status(args.status)
        items = admin.inbox.items(status)
        if not items:
            print("La boîte de réception est vide (aucun message à revoir).")
        for item in items:
            guess = item.predicted_intent or "?"
            confidence = f"{item.confidence:.2f}" if item.confidence is not None else "—"
            label = INBOX_STATUS_LABELS[item.status]
            print(f"#{item.id:<5} ×{item.count:<3} {guess} ({confidence}) [{label}]  {item.text}")
        return 0
    if args.command == "intents":
        print("\n".join(admin.data.intents()))
        return 0
    if args.command == "annotate":
        if args.new_intent and not args.response:
            print("Erreur : --response est requis avec --new-intent.", file=sys.stderr)
            return 2
        action, intent = (
            (Action.INTENT, args.intent)
            if args.intent
            else (Action.NEW_INTENT, args.new_intent)
            if args.new_intent
            else (Action.OUT_OF_SCOPE, None)
            if args.out_of_scope
            else (Action.IGNORE, None)
        )
        result = admin.annotator.annotate(
            args.item, action, _actor(args), intent=intent, response=args.response, split=args.split
        )
        written = "ajouté aux données" if result.written else "aucune donnée modifiée"
        intent = result.intent or ""
        print(f"Message #{result.item_id} : {result.action.value} {intent} ({written}).")
        return 0
    if args.command == "retrain":
        job = admin.registry.get(args.job) if args.job else admin.registry.start_job(_actor(args))
        if job is None:
            print(f"Erreur : tâche #{args.job} introuvable.", file=sys.stderr)
            return 1
        print(f"Entraînement #{job.id} lancé (journal dans {admin.retraining.log_dir}).")
        result = admin.retraining.run(job.id, job.created_by if args.job else _actor(args))
        _print_model(result)
        return 0 if result.status.value in ("ready", "refused") else 1
    if args.command == "status":
        job = admin.registry.running()
        print(describe_progress(job) if job else "Aucun entraînement en cours.")
        return 0
    if args.command == "models":
        active = admin.registry.active()
        versions = admin.registry.versions()
        if not versions:
            print("Aucune version de modèle enregistrée.")
        for model in versions:
            _print_model(model)
            if model.scores and active and active.scores and not model.active:
                comparison = Comparison(model.scores, active.scores, admin.settings.admin.tolerance)
                if comparison.comparable:
                    print(
                        f"      contre l'actif : exactitude {comparison.accuracy_delta:+.3f}, "
                        f"F1 macro {comparison.macro_f1_delta:+.3f}"
                    )
        return 0
    if args.command == "activate":
        _print_model(admin.activator.activate(args.model, _actor(args), force=args.force))
        return 0
    if args.command == "rollback":
        _print_model(admin.activator.rollback(_actor(args)))
        return 0
    if args.command == "adopt":
        _print_model(admin.activator.adopt_running(_actor(args)))
        return 0
    if args.command == "audit":
        entries = admin.audit.latest(args.limit)
        if not entries:
            print("Le journal est vide.")
        for entry in entries:
            label = AUDIT_LABELS.get(entry.action, entry.action)
            print(f"{format_when(entry.at)}  {entry.actor:20s} {label} {entry.detail}")
        return 0
    return 2
