"""When a caller runs its own batch instead of handing it to the OrderManager's actor, and how.

One order at a time (a notebook, a strategy stepping the market) would otherwise pay two trips through the
event loop per order: one to wake the actor, one to be woken by it. A task whose previous command was also
its own may run the batch in place while the actor is parked and nothing is queued; callers gathered
together still queue and share one batch. At most ``limit`` such batches run before the event loop gets a
turn, so a tight loop does not starve other tasks, and a batch that has to wait on its venue goes on in a
task of its own, so a cancelled caller never leaves it half done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from ntlab.core.commands import Inbox


class CallerTurns:
    __slots__ = ("_background", "_inbox", "_last", "_limit", "_taken")

    def __init__(self, inbox: Inbox, background: set[asyncio.Task[None]], limit: int = 16) -> None:
        self._inbox = inbox
        self._background = background  # tasks the manager cancels when it closes
        self._limit = limit
        self._taken = 0  # batches run by callers since the event loop last ran
        self._last: asyncio.Task[Any] | None = None

    def mine(self) -> bool:
        """Whether the calling task runs its command's batch itself (see the module's docstring)."""
        task = asyncio.current_task()
        if task is not self._last:
            self._last = task
            return False
        return self._taken < self._limit and self._inbox.idle()

    def run(self, batch: Coroutine[Any, Any, None]) -> None:
        """Run ``batch`` now with the inbox held; if it has to wait, a task of its own takes it on."""
        if not self._taken:
            asyncio.get_running_loop().call_soon(self._reset)
        self._taken += 1
        inbox = self._inbox
        inbox.hold()
        try:
            waiting = batch.send(None)
        except StopIteration:
            inbox.release()
            return
        except BaseException:
            inbox.release()
            raise
        task = asyncio.get_running_loop().create_task(_resume(batch, waiting))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(lambda _: inbox.release())

    def _reset(self) -> None:
        """The event loop ran: callers may run batches themselves again."""
        self._taken = 0


async def _resume(started: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive a coroutine that already ran up to ``waiting`` (the future it awaits) to its end."""
    await _Rest(started, waiting)


class _Rest:
    __slots__ = ("_coroutine", "_waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coroutine, self._waiting = coroutine, waiting

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, waiting = self._coroutine, self._waiting
        while True:
            try:
                try:
                    yield waiting
                except BaseException as error:  # a cancel for the task goes on to the coroutine
                    waiting = coroutine.throw(error)
                else:
                    waiting = coroutine.send(None)
            except StopIteration:
                return
