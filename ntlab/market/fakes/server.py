"""What every vendor fake shares: an aiohttp app on 127.0.0.1, a request count, rate limits and a CLI.

A fake counts every request it receives (``fake.requests``, and ``fake.paths`` in order), so a test can prove
that a cached read made no network call. Rate limits come two ways, both answered in the vendor's own words:

- ``per_minute=N``: the vendor's plan, enforced per key over each clock minute;
- ``fake.faults.limit_next(count, after=k)``: let ``k`` more requests through, then refuse ``count`` of them
  (a rate limit that strikes in the middle of a paginated download).

``await fake.start()`` serves on the running loop; ``fake.start_in_thread()`` serves from a thread of its own,
which a notebook needs when a cell makes a blocking call that the fake must answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Faults:
    """Injected refusals: after ``pass_through`` more requests, ``refuse`` requests get the rate-limit answer."""

    pass_through: int = 0
    refuse: int = 0
    refused: int = 0  # rate-limit answers sent so far (faults and plan limits alike)

    def limit_next(self, count: int = 1, *, after: int = 0) -> None:
        self.pass_through, self.refuse = after, count

    def take(self) -> bool:
        """True when this request must be refused."""
        if self.refuse <= 0:
            return False
        if self.pass_through > 0:
            self.pass_through -= 1
            return False
        self.refuse -= 1
        return True


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


class FakeServer:
    """Base of the vendor fakes. Subclasses add routes in ``routes`` and say how they refuse for rate."""

    vendor: ClassVar[str] = "fake"
    default_port: ClassVar[int] = 8770

    def __init__(
        self, *, seed: int = 7, per_minute: int | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fakes serve on loopback only")
        from ntlab.market.fakes.tape import Tape

        self.tape = Tape(seed)
        self.seed = seed
        self.per_minute = per_minute
        self.faults = Faults()
        self.requests = 0
        self.paths: list[str] = []
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._minutes: dict[str, tuple[int, int]] = {}
        self._ids = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- what subclasses provide --------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def rate_limited(self, request: web.Request) -> web.StreamResponse:
        """The vendor's answer to one request too many."""
        raise NotImplementedError

    def key_of(self, request: web.Request) -> str:
        """Which key a request spends (for ``per_minute``)."""
        return ""

    # --- serving ------------------------------------------------------------------------------------------------
    def request_id(self) -> str:
        """A vendor-style request id, deterministic so notebook outputs stay put."""
        self._ids += 1
        return hashlib.md5(f"{self.vendor}:{self._ids}".encode()).hexdigest()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        self.paths.append(request.path_qs)
        if self.faults.take() or self._over_plan(request):
            self.faults.refused += 1
            return self.rate_limited(request)
        return await handler(request)

    def _over_plan(self, request: web.Request) -> bool:
        if self.per_minute is None:
            return False
        key = self.key_of(request)
        minute = int(time.time() // 60)
        seen_minute, used = self._minutes.get(key, (minute, 0))
        if seen_minute != minute:
            used = 0
        if used >= self.per_minute:
            return True
        self._minutes[key] = (minute, used + 1)
        return False

    async def start(self) -> Any:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app.router)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Any:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> Any:
        """Serve from a daemon thread with its own loop (returns once listening); ``stop_thread()`` ends it."""
        started = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"fake-{self.vendor}", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError(f"the fake {self.vendor} did not start")
        return self

    def threaded(self, coroutine: Any) -> Any:
        """Run a coroutine (``fake.publish(3)``) on the fake's own thread; a concurrent future of its result."""
        if self._loop is None:
            raise RuntimeError("the fake is not serving from a thread: call start_in_thread() first")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = self._loop = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"


def serve_main(
    factory: Callable[[argparse.Namespace], FakeServer], description: str, argv: list[str] | None
) -> None:
    """``python -m ntlab.market.fakes.<vendor> --port N``: serve until interrupted."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1")
    parser.add_argument("--seed", type=int, default=7, help="sample market seed for the data served")
    parser.add_argument("--per-minute", type=int, default=0, help="the plan's requests per minute (0: none)")
    args = parser.parse_args(argv)

    async def run() -> None:
        fake = factory(args)
        await fake.start()
        print(f"fake {fake.vendor} on {fake.base_url} (Ctrl-C to stop)")
        for line in getattr(fake, "banner", lambda: [])():
            print(line)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
