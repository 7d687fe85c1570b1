"""Benchmarks: they print their figures, not the libraries' logs.

Importing the package (every ``python -m bench.…`` does, first) silences TensorFlow's C++
log and keeps Python's loggers at WARNING unless ``BENCH_LOG_LEVEL`` says otherwise; the
servers a benchmark starts write their logs to files (``tools/stack.py``).
"""

import logging
import os

LEVEL = os.environ.get("BENCH_LOG_LEVEL", "WARNING").upper()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow loads
logging.basicConfig(level=LEVEL, format="%(levelname)s %(name)s: %(message)s")
for name in ("rasa", "tensorflow", "absl", "urllib3", "matplotlib", "h5py"):
    logging.getLogger(name).setLevel(LEVEL)
