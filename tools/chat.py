"""``make chat`` / ``assistant chat``: talk to the assistant in the terminal, as an
anonymous web citizen.

Starts the action server and Rasa exactly as ``make run`` does (``tools/stack.py``: the
Procfile's commands, on ``ACTIONS_PORT`` and ``RASA_PORT``, random secrets passed by
environment) and sends each line through Rasa's gateway channel with its secret. Buttons
are numbered: a line that is a button's number or its title chooses it; any other line
is sent as typed. Ctrl-D or Ctrl-C leaves.

    python -m tools.chat [--model PATH]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

import requests

from common.config import PROJECT_ROOT, ConfigError, database_url, env_int, require_free_port
from common.text import fold
from tools.stack import Stack, newest_model, running_stack

# What the gateway's web channel sends for an anonymous visitor (no user_id: no identity).
METADATA = {"channel": "web", "role": "citizen", "locale": "fr"}


def show(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Print the bot's replies; return their buttons, numbered from 1 in the output."""
    buttons: list[dict[str, Any]] = []
    for reply in replies:
        if reply.get("text"):
            print(f"Assistant : {reply['text']}")
        if reply.get("image"):
            print(f"  (image : {reply['image']})")
        for button in reply.get("buttons") or []:
            buttons.append(button)
            print(f"  {len(buttons)}. {button.get('title', '')}")
    return buttons


def button_choice(line: str, buttons: list[dict[str, Any]]) -> str:
    """The payload of the button ``line`` names (its number or its title), else ``line``."""
    chosen = None
    if line.isdigit() and 1 <= int(line) <= len(buttons):
        chosen = buttons[int(line) - 1]
    else:
        chosen = next((b for b in buttons if fold(str(b.get("title", ""))) == fold(line)), None)
    return (chosen or {}).get("payload") or line


def converse(stack: Stack, sender: str) -> None:
    buttons: list[dict[str, Any]] = []
    while True:
        try:
            line = input("Vous : ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if not line:
            continue
        line = button_choice(line, buttons)
        try:
            replies = stack.send(sender, line, metadata=METADATA)
        except requests.RequestException as err:
            print(f"(l'assistant ne répond pas : {err})")
            continue
        buttons = show(replies)


def chat(model_path: str | None = None) -> int:
    """Start the stack on ``RASA_PORT`` and ``ACTIONS_PORT`` and converse; 0 at the end,
    2 with one French line when a port is taken or the model missing."""
    ports = (env_int("RASA_PORT", 5005, minimum=1), env_int("ACTIONS_PORT", 5055, minimum=1))
    require_free_port("RASA_PORT", "127.0.0.1", ports[0])
    require_free_port("ACTIONS_PORT", "127.0.0.1", ports[1])
    try:
        model = Path(model_path) if model_path else newest_model(PROJECT_ROOT / "models")
    except (FileNotFoundError, ValueError) as err:
        raise ConfigError(
            "aucun modèle dans models/ : entraînez-en un avec « make train »"
        ) from err
    if not model.is_file():
        raise ConfigError(f"le modèle {model} n'existe pas : entraînez-en un avec « make train »")
    log_dir = PROJECT_ROOT / "var" / "log" / "chat"
    print(f"chat: démarrage du serveur d'actions (:{ports[1]}) et de Rasa (:{ports[0]}) avec "
          f"{model.name} (journaux dans {log_dir}), environ une minute…")  # fmt: skip
    try:
        with running_stack(model, database_url(), log_dir, ports=ports) as stack:
            print("chat: prêt. Écrivez votre message (Ctrl-D pour quitter).")
            converse(stack, f"web:terminal-{secrets.token_hex(6)}")
    except (RuntimeError, TimeoutError) as err:
        print(f"chat: l'assistant n'a pas démarré ({err}).", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model archive (default: newest of models/)")
    args = parser.parse_args()
    try:
        return chat(args.model)
    except ConfigError as err:
        print(f"chat: erreur de configuration : {err}.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
