"""The Rasa-environment end of tests/rasa_env.py: runs tests/rasa/seed.py's functions.

Reads one JSON call per line on stdin, answers one JSON line on stdout (the result, or
the traceback as ``error``); anything else the code prints goes to stderr.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import traceback

from tests.rasa import seed


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever else writes to stdout, Python or C, lands on stderr
    for line in sys.stdin:
        request = json.loads(line)
        try:
            function = seed.FUNCTIONS[request["function"]]
            result = function(*request["args"])
            if inspect.isawaitable(result):
                result = asyncio.run(result)
            reply = {"result": result}
        except Exception:  # the caller raises it, with this traceback
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
