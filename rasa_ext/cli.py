"""Rasa's command line with ``rasa_ext.speedups`` installed: ``python -m rasa_ext.cli ARGS``
is ``rasa ARGS`` with models loaded as the workers load them (``rasa test core`` in the
tests); ``rasa_ext.serve`` starts each worker through :func:`run`."""

from __future__ import annotations

import sys


def run(argv: list[str], speedups: bool = True) -> None:
    """Rasa's CLI on ``argv`` (``["rasa", "test", ...]``); ``speedups=False``: as it ships."""
    from rasa.__main__ import main as rasa_main

    if speedups:
        from rasa_ext.speedups import install

        install()
    # Rasa's CLI parses sys.argv; /proc/<pid>/cmdline keeps the command that started us.
    sys.argv = argv
    rasa_main()


if __name__ == "__main__":
    run(["rasa", *sys.argv[1:]])
