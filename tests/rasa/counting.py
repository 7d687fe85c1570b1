"""A function wrapped to count its calls (to check that a patched path ran, or not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Counted:
    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.function(*args, **kwargs)
