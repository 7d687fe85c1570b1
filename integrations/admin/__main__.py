"""``python -m integrations.admin …``: ``assistant admin …`` without the tool (see cli.py)."""

import sys

from integrations.admin.cli import run

if __name__ == "__main__":
    sys.exit(run())
