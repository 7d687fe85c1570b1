"""Benchmarks: they print their figures, not the libraries' logs.

Importing the package (every ``python -m bench.…`` does, first) silences TensorFlow's C++
log, the libraries' warnings, and keeps Python's loggers at WARNING unless
``BENCH_LOG_LEVEL`` says otherwise (DEBUG shows everything); the
servers a benchmark starts write their logs to files (``tools/stack.py``).
"""

import logging
import os
import warnings

LEVEL = os.environ.get("BENCH_LOG_LEVEL", "WARNING").upper()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow loads
logging.basicConfig(level=LEVEL, format="%(levelname)s %(name)s: %(message)s")
for name in ("rasa", "tensorflow", "absl", "urllib3", "matplotlib", "h5py"):
    logging.getLogger(name).setLevel(LEVEL)
if LEVEL != "DEBUG":  # the libraries' deprecation notices say nothing about the figures
    warnings.simplefilter("ignore")
    # Some import turns the default filters back on: the notices then go to a logger
    # that is kept quiet.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.ERROR)
