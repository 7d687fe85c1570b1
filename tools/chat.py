"""``make chat``: talk to the assistant in the terminal, as an anonymous web citizen.

Starts the action server and Rasa exactly as ``make run`` does (``tools/stack.py``: the
Procfile's commands, on free loopback ports, random secrets passed by environment) and
sends each line through Rasa's gateway channel with its secret. Buttons are numbered:
answer with the number to choose one. Ctrl-D or Ctrl-C leaves.

    python -m tools.chat [--model PATH]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

import requests

from common.config import PROJECT_ROOT, database_url
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
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = buttons[int(line) - 1].get("payload") or line
        try:
            replies = stack.send(sender, line, metadata=METADATA)
        except requests.RequestException as err:
            print(f"(l'assistant ne répond pas : {err})")
            continue
        buttons = show(replies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model archive (default: newest of models/)")
    args = parser.parse_args()
    model = args.model or newest_model(PROJECT_ROOT / "models")
    log_dir = PROJECT_ROOT / "var" / "log" / "chat"
    print(f"chat: starting the action server and Rasa with {model.name} (logs in {log_dir})…")
    with running_stack(model, database_url(), log_dir) as stack:
        print("chat: prêt. Écrivez votre message (Ctrl-D pour quitter).")
        converse(stack, f"web:terminal-{secrets.token_hex(6)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
