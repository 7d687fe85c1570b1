"""``python -m integrations.indicators refresh``: bring the aggregates up to date now
(the gateway also does it every ``INDICATORS_REFRESH_S`` seconds)."""

from __future__ import annotations

import argparse
import logging

from common.config import database_url
from common.db import make_engine
from integrations.indicators.refresh import refresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["refresh"])
    parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = make_engine(database_url())
    days = refresh(engine)
    print(f"{len(days)} jour(s) recalculé(s)")
    engine.dispose()


if __name__ == "__main__":
    main()
