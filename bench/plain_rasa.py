"""``python -m bench.plain_rasa``: ``rasa run`` as Rasa ships it, configured from the same
environment as ``rasa_ext.serve`` (one worker), without ``rasa_ext.speedups``: the
baseline of ``bench.scale``."""

import sys

from rasa_ext.serve import main

if __name__ == "__main__":
    sys.exit(main(speedups=False))
