"""The notebook bridge: the core's event loop in its own thread, and sync/async ways to call into it.

Nothing patches asyncio. Sync calls submit a coroutine with ``run_coroutine_threadsafe`` and wait; async
calls wrap the same future for the caller's loop. The core keeps running while a cell computes, so fills
arriving meanwhile are applied at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ntlab.errors import ConfigError, NtlabError, SessionClosed

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0


def _from_caller(error: NtlabError) -> NtlabError:
    """The error as raised at the caller's line: the core's frames say nothing to the caller.

    They are kept on the error (``core_traceback``) for the notebook's ``%tb``.
    """
    error.core_traceback = error.__traceback__  # type: ignore[attr-defined]
    return error.with_traceback(None)


class CoreThread:
    """A daemon thread running one asyncio loop for the trading core."""

    def __init__(self, name: str = "ntlab-core") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def in_core_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if not self.alive:
            coroutine.close()
            raise SessionClosed("this Lab is closed; create a new Lab()")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = DEFAULT_TIMEOUT) -> T:
        """Run on the core loop and wait. Refuses from the core thread itself, which would deadlock."""
        if self.in_core_thread():
            coroutine.close()
            raise ConfigError(
                "a sync Lab method was called from the core thread (inside a callback); use the async "
                "twin instead, e.g. `await lab.abuy(...)`"
            )
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except NtlabError as error:
            raise _from_caller(error) from None
        except concurrent.futures.TimeoutError as error:
            if future.done() and not future.cancelled():  # the coroutine's own TimeoutError
                raise error.with_traceback(None) from None
            future.cancel()
            raise TimeoutError(
                f"the core did not answer within {timeout} s; the call was cancelled"
            ) from None
        except KeyboardInterrupt:
            future.cancel()
            raise

    async def arun(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await a core coroutine from another loop (the kernel's)."""
        if self.in_core_thread():
            return await coroutine
        try:
            return await asyncio.wrap_future(self.submit(coroutine))
        except NtlabError as error:
            raise _from_caller(error) from None

    def call(self, function: Any, *args: Any) -> Any:
        """Run a plain function on the core loop (to read state consistently) and return its result."""

        async def invoke() -> Any:
            return function(*args)

        if self.in_core_thread():
            return function(*args)
        return self.run(invoke())

    def stop(self) -> None:
        if not self.alive:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()
