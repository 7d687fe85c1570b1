"""Full training time from scratch (Rasa's fingerprint cache bypassed with --force).

python -m bench.training
"""

from __future__ import annotations

import subprocess
import tempfile
import time

from common.config import PROJECT_ROOT


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [str(PROJECT_ROOT / "scripts" / "train.sh"), "--force", "--out", out],
            cwd=PROJECT_ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        print(f"full training (NLU + dialogue): {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
