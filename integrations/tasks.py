"""Background tasks tied to a context: started on entry, cancelled and awaited on exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any


@asynccontextmanager
async def background(coroutine: Coroutine[Any, Any, Any], name: str) -> AsyncIterator[None]:
    """Run ``coroutine`` as a task while the context is open; cancel it cleanly on exit."""
    task = asyncio.create_task(coroutine, name=name)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
