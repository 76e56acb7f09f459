"""Plumbing shared by ntlab's HTTP data sources (News API, The Odds API) and their local fakes.

- :class:`SourceError`: the base of what a data source refused or failed, with the vendor's ``code``, the
  HTTP ``status`` and whether trying again can help (``retryable``, ``retry_after``).
- :class:`RetryPolicy`: exponential backoff (tenacity) that retries only errors marked retryable.
- :func:`run_sync`: the sync twin of any coroutine, usable from a notebook cell whose thread runs a loop.
- :func:`redact` / :func:`protect_logs`: API keys sent as query parameters (The Odds API takes no other
  way) are masked in every URL ntlab shows and in httpx's own request log lines.
- :class:`LoopbackServer`: the aiohttp lifecycle of a fake API on 127.0.0.1, and :func:`serve_cli` to run
  one from the command line.

The clients import httpx and the fakes aiohttp; this module imports neither at load time.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from ntlab.errors import NtlabError

if TYPE_CHECKING:
    from aiohttp import web

T = TypeVar("T")

SECRET_PARAMS = ("apiKey", "apikey", "api_key", "key", "token")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#\s\"']*")


class SourceError(NtlabError):
    """A data source (news, odds) refused a request or did not answer.

    ``code`` is the vendor's own error code (``"rateLimited"``, ``"OUT_OF_USAGE_CREDITS"``) or ntlab's for
    failures without one (``"unreachable"``); ``retryable`` says whether the same request can succeed later.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"[{self.code}] {self.args[0]}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``attempts`` tries in all, waiting ``initial`` s then doubling up to ``maximum`` s (or the
    source's ``retry_after`` when it says so); only :class:`SourceError` with ``retryable`` is tried again."""

    attempts: int = 3
    initial: float = 0.5
    maximum: float = 8.0

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        backoff = wait_exponential(multiplier=self.initial, max=self.maximum)

        def wait(state: Any) -> float:
            error = state.outcome.exception() if state.outcome else None
            hint = error.retry_after if isinstance(error, SourceError) else None
            return min(self.maximum, hint) if hint else float(backoff(state))

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.attempts)),
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, SourceError) and e.retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end from sync code.

    With no loop running in this thread it runs here; in a notebook cell (whose thread runs the kernel's
    loop, where ``asyncio.run`` is refused) it runs on a short-lived worker thread with a loop of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ntlab-sync") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def redact(url: object) -> str:
    """``url`` as text with the values of key-like query parameters replaced by ``***``."""
    return _SECRET_QUERY.sub(r"\1***", str(url))


class RedactSecrets(logging.Filter):
    """Rewrites a log record's message with :func:`redact` (httpx logs every request's full URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = RedactSecrets()


def protect_logs(*names: str) -> None:
    """Mask keys in the records of these loggers (default: httpx's and httpcore's); safe to call often."""
    for name in names or ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class LoopbackServer:
    """A fake API served by aiohttp on a loopback address; ``port=0`` picks a free port.

    Subclasses add their routes in :meth:`routes`. ``async with Fake() as fake:`` starts and stops it;
    ``fake.base_url`` is what a client is pointed at.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fake serves on loopback only")
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._background: tuple[asyncio.AbstractEventLoop, Any] | None = None
        self.requests = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def middlewares(self) -> list[Any]:
        return []

    async def start(self) -> Self:
        from aiohttp import web

        app = web.Application(middlewares=self.middlewares())
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_background(self) -> Self:
        """Serve from a thread with its own loop, so sync callers (a notebook cell, ``lab.news``, a
        requests-based client) can block on it without blocking the server."""
        import threading

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=f"{type(self).__name__}-server", daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(30)
        self._background = (loop, thread)
        return self

    def stop_background(self) -> None:
        if self._background is None:
            return
        loop, thread = self._background
        self._background = None
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"


def serve_cli(
    prog: str,
    description: str,
    build: Callable[[argparse.Namespace], LoopbackServer],
    banner: Callable[[LoopbackServer], str],
    argv: list[str] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """``python -m <fake> --port N``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    async def main() -> None:
        server = await build(args).start()
        print(banner(server), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
