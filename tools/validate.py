"""``rasa data validate`` where every warning fails, except responses used by actions.

Rasa reports a response as unused when only a custom action sends it
(``dispatcher.utter_message(response="utter_x")``). Such a response is allowed
when an action of ``actions/`` names it, or when it is one of Rasa's default
responses; any other warning fails.

    python -m tools.validate
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from common.config import PROJECT_ROOT

COMMAND = [
    str(PROJECT_ROOT / ".venv" / "bin" / "rasa"),
    "data",
    "validate",
    "--config",
    "config.yml",
    "--domain",
    "bot/domain",
    "--data",
    "bot/rules",
    "bot/stories",
    "nlu_data/train",
    "nlu_data/lookups",
]
RASA_DEFAULT_RESPONSES = {"utter_default"}
_UNUSED = re.compile(r"The utterance '(\w+)' is not used in any story or rule")
_WARNING = re.compile(r"UserWarning: (.*)")


def responses_used_by_actions() -> set[str]:
    names: set[str] = set()
    for path in (PROJECT_ROOT / "actions").rglob("*.py"):
        names.update(re.findall(r"[\"'](utter_\w+)[\"']", path.read_text(encoding="utf-8")))
    return names | RASA_DEFAULT_RESPONSES


def blocking_warnings(output: str, allowed: set[str]) -> list[str]:
    problems = []
    for line in output.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        warning = _WARNING.search(line)
        if not warning:
            continue
        unused = _UNUSED.search(warning.group(1))
        if unused and unused.group(1) in allowed:
            continue
        problems.append(warning.group(1))
    return problems


@dataclass(frozen=True)
class Validation:
    returncode: int
    output: str  # Rasa's stdout then stderr
    problems: list[str]  # the blocking warnings


def validate(
    project: Path = PROJECT_ROOT,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Validation:
    """``rasa data validate`` on ``project`` (the repository, or a copy of its data)."""
    result = subprocess.run(
        COMMAND, cwd=project, capture_output=True, text=True, env=env, timeout=timeout
    )
    output = result.stdout + result.stderr
    return Validation(
        result.returncode, output, blocking_warnings(output, responses_used_by_actions())
    )


def main() -> int:
    result = validate()
    problems = result.problems
    for problem in problems:
        print(f"validate: {problem}")
    if result.returncode != 0:
        print(result.output[-4000:])
        return result.returncode
    print("validate: clean" if not problems else f"validate: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
