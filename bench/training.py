"""Full training time from scratch: --force, and an empty training cache (Rasa otherwise
restores unchanged components from .rasa/cache).

python -m bench.training
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time

from common.config import PROJECT_ROOT


def main() -> None:
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        subprocess.run(
            [str(PROJECT_ROOT / "scripts" / "train.sh"), "--force", "--out", out],
            cwd=PROJECT_ROOT,
            env={**os.environ, "RASA_CACHE_DIRECTORY": cache},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        print(f"full training (NLU + dialogue): {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
