"""Calls into Rasa's environment from the gateway's tests, through one real process.

The gateway's environment cannot import rasa, rasa_sdk or actions (SQLAlchemy 2 there,
1.4 here). A gateway test that needs what only that side makes (Rasa's tracker events
table and events, the booking store's schema and bookings, imported places) calls a
function of ``tests/rasa/seed.py``: ``call("user_says", url, ...)``. The functions run in
one ``.venv/bin/python -m tests.rasa.worker`` process, started on the first call and
kept for the session; arguments and results travel as JSON lines.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import column, table

from common.config import PROJECT_ROOT

RASA_PYTHON = Path(os.environ.get("RASA_VENV", PROJECT_ROOT / ".venv")) / "bin" / "python"


# The columns of Rasa's ``events`` table that the tests write and read; the table itself is
# created by Rasa's own definition: ``call("tracker_table", database_url)``.
EVENTS = table(
    "events", column("sender_id"), column("type_name"), column("timestamp"), column("data")
)
# The booking store's slots (created by the migrations, ``common.migrate.upgrade``).
BOOKING_SLOTS = table("booking_slots", column("id"))


class RasaEnvError(RuntimeError):
    """A call failed in Rasa's environment (its traceback is the message)."""


class _Worker:
    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def call(self, function: str, *args: Any) -> Any:
        with self.lock:
            process = self._running()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps({"function": function, "args": args}) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            raise RasaEnvError(f"the worker of Rasa's environment exited ({function})")
        reply = json.loads(line)
        if "error" in reply:
            raise RasaEnvError(reply["error"])
        return reply["result"]

    def _running(self) -> subprocess.Popen[str]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [str(RASA_PYTHON), "-m", "tests.rasa.worker"],
                cwd=PROJECT_ROOT,
                env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            atexit.register(self.close)
        return self.process

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


_WORKER = _Worker()


def call(function: str, *args: Any) -> Any:
    """``tests.rasa.seed.<function>(*args)`` run in Rasa's environment; its result."""
    return _WORKER.call(function, *args)
