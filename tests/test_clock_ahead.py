"""No date bomb: the tests that read the clock pass with it moved two years ahead.

They run again in a child pytest under Debian's ``faketime`` (``scripts/faketime.sh``,
which installs it when missing), so that a test comparing today with a date shipped in
the data or written in the test fails now, not on the day it would start failing. The
tests that need the trained model stay out: TensorFlow does not run under libfaketime;
they take their dates from a frozen clock or from the data they check. The OpenID
Connect provider (Node.js) runs under the same moved clock: its tokens' dates are checked
by the gateway against its own.
"""

from __future__ import annotations

import subprocess

from common.config import PROJECT_ROOT

# Test modules (found wherever they are under tests/) whose outcome depends on the date.
CLOCK_MODULES = (
    "test_knowledge.py",  # review dates shipped in data/ against today
    "test_places.py",  # opening hours "now"
    "test_place_hours.py",
    "test_retention_periods.py",  # every retention period against now
    "test_console_sessions.py",  # session expiry
    "test_oidc.py",  # ID token iat / exp, the provider's clock and ours
)
NOT_WITH_FAKETIME = "not model and not stack and not browser and not matrix"


def test_the_clock_dependent_tests_pass_two_years_ahead() -> None:
    paths = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for name in CLOCK_MODULES
        for path in (PROJECT_ROOT / "tests").rglob(name)
    )
    assert len(paths) == len(CLOCK_MODULES), paths
    run = subprocess.run(
        [
            str(PROJECT_ROOT / "scripts" / "faketime.sh"),
            "+2y",
            str(PROJECT_ROOT / "scripts" / "test.sh"),
            *paths,
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-m",
            NOT_WITH_FAKETIME,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
