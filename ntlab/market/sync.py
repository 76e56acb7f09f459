"""Sync twins of async calls that work in scripts and in notebooks alike.

In a script there is no running event loop, so ``asyncio.run`` does. In a notebook the kernel's loop is
running in this thread, so the coroutine runs on a helper thread with a loop of its own, and the cell waits for
it. Nothing patches asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to completion from sync code, whether or not a loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1, thread_name_prefix="ntlab-market") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
