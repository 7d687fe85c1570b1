"""Constant-time comparison of a secret a client sent with the one expected.

One function for every secret of both environments (the gateway's CSRF and webhook
tokens, the Rasa channel's and the action server's shared secrets): whatever the client
sent (absent, not a string, non-ASCII, a lone surrogate), the answer is a bool, never an
exception.
"""

from __future__ import annotations

import hmac

# The header every caller of the action server sends (Rasa, and the gateway for the .ics).
ACTION_SECRET_HEADER = "X-Action-Secret"


def same_secret(given: object, expected: str | None) -> bool:
    """True when ``given`` is exactly the non-empty ``expected``."""
    if not isinstance(given, str) or not given or not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )
