"""Server scaffolding for fakes: HTTP (and websockets) on aiohttp, plain TCP on asyncio, served on loopback.

A fake subclasses :class:`FakeHttpServer` (or :class:`FakeTcpServer`), adds its broker's routes, and says
how its broker spells an error (:meth:`FakeHttpServer.error`) and a rate limit (:meth:`rate_limited`); the
request faults of :mod:`ntlab.testing.faults` are committed here for every route. ``run_fake`` is the
``python -m ntlab.brokers.<x>.fake --port 8765`` entry point, so users can try a broker without an account.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

from aiohttp import web

from ntlab.testing.engine import FakeEngine
from ntlab.testing.faults import Faults, RequestFault

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _loopback(host: str) -> str:
    if host not in LOOPBACK:
        raise ValueError(f"fakes serve on loopback only, not {host!r}")
    return host


class FakeServer:
    """What every fake has: a loopback address, the engine it fills on, its fault plan, a clock to run."""

    def __init__(self, engine: FakeEngine | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine if engine is not None else FakeEngine()
        self.faults = Faults()
        self.host = _loopback(host)
        self.port = port
        self.requests = 0
        self._ticker: asyncio.Task[None] | None = None
        self._stalls: set[asyncio.Task[Any]] = set()

    async def start(self) -> Self:
        await self.engine.start()
        await self._serve()
        return self

    async def _serve(self) -> None:
        raise NotImplementedError

    async def _unserve(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for task in list(self._stalls):
            task.cancel()
        await self._unserve()
        await self.engine.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def advance(self, seconds: float = 1.0) -> None:
        """Step the simulated clock; orders meet the market on the way and the fake's messages go out."""
        await self.engine.advance(seconds)
        await asyncio.sleep(0)

    def run_clock(self, speed: float = 1.0, tick: float = 0.05) -> None:
        """Move the clock in real time, ``speed`` x wall time (what a user trying the fake wants). Each step
        is an :meth:`advance`, so what a fake does as its clock moves happens in real time too."""

        async def tick_on() -> None:
            while True:
                await asyncio.sleep(tick)
                try:
                    await self.advance(tick * speed)
                except Exception:
                    log.exception("the fake's clock step failed; trying again")

        self._ticker = asyncio.get_running_loop().create_task(tick_on())

    async def stall(self, seconds: float) -> None:
        """Say nothing for a while, cancellably (a stalled answer the fake's shutdown must not wait for)."""
        task = asyncio.current_task()
        assert task is not None
        self._stalls.add(task)
        try:
            await asyncio.sleep(seconds)
        finally:
            self._stalls.discard(task)


class FakeHttpServer(FakeServer):
    """An aiohttp application on loopback with the request faults committed for every route."""

    def __init__(self, engine: FakeEngine | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(engine, host=host, port=port)
        self._runner: web.AppRunner | None = None

    # --- what a fake says ---------------------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        """Add the broker's routes."""
        raise NotImplementedError

    def error(self, status: int, message: str, request: web.Request) -> web.StreamResponse:
        """The broker's error body for an injected server error."""
        return web.json_response({"message": message}, status=status)

    def rate_limited(self, fault: RequestFault, request: web.Request) -> web.StreamResponse:
        """The broker's answer to a request refused for rate (429 with Retry-After unless it says otherwise)."""
        response = self.error(429, "rate limit exceeded", request)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        return response

    def faultless(self, request: web.Request) -> bool:
        """Requests faults never touch (a stream's upgrade, for one)."""
        return False

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- serving -------------------------------------------------------------------------------------------
    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._faulty])
        self.routes(app.router)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _unserve(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _faulty(
        self, request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
    ) -> Any:
        self.requests += 1
        if self.faultless(request):
            return await handler(request)
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.kind == "rate_limit":
            return self.rate_limited(fault, request)
        if fault is not None and not fault.after_processing:
            if fault.kind == "status":
                return self.error(fault.status, "internal server error", request)
            if fault.kind == "reset":
                return self._reset(request)
            if fault.kind == "stall":
                await self.stall(fault.seconds)
        response = await handler(request)
        if fault is not None and fault.after_processing:
            if fault.kind == "status":
                return self.error(fault.status, "internal server error", request)
            if fault.kind == "reset":
                return self._reset(request)
            if fault.kind == "stall":
                await self.stall(fault.seconds)
        return response

    @staticmethod
    def _reset(request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never written: the connection is gone


class FakeTcpServer(FakeServer):
    """A plain TCP server on loopback for socket protocols; each connection is handled by ``serve``."""

    def __init__(self, engine: FakeEngine | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(engine, host=host, port=port)
        self._server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Talk the protocol with one client until it leaves."""
        raise NotImplementedError

    async def _serve(self) -> None:
        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.add(writer)
            try:
                await self.serve(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                self.writers.discard(writer)
                with contextlib.suppress(Exception):
                    writer.close()

        self._server = await asyncio.start_server(connection, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _unserve(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def drop_connections(self) -> int:
        """Cut every client connection without a goodbye, as a network failure would."""
        dropped = len(self.writers)
        for writer in list(self.writers):
            writer.transport.abort()
        return dropped


def run_fake(
    make: Callable[[argparse.Namespace], FakeServer],
    argv: Sequence[str] | None,
    *,
    description: str,
    default_port: int,
    banner: Callable[[FakeServer], str],
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """``python -m ...fake --port N``: serve the fake on loopback with its clock in real time until Ctrl-C."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = make(args)
        await fake.start()
        fake.run_clock(args.speed)
        print(banner(fake), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
