"""``python -m integrations.cli``: the ``assistant`` tool without its console script."""

import sys

from integrations.cli import main

if __name__ == "__main__":
    sys.exit(main())
