"""An httpx transport for many small requests in flight: HTTP/1.1 keep-alive on asyncio streams, parsed by h11.

httpx's default transport (httpcore over anyio) rescans its whole pool, and probes every idle socket, for
each request; with 32 requests in flight that costs more CPU than the request itself (httpx issue #3215),
and the adapter is CPU-bound on a small machine. This transport keeps idle connections in a stack and hands
a free one over in O(1); h11 (already under httpx) does the parsing, so chunked bodies, keep-alive rules
and malformed responses are handled as strictly as before. Errors are httpx's own exception types, so the
adapter's classification (connect errors = not sent; anything later = unknown) is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from typing import Any

import h11
import httpx

_READ = 65536


class _Connection:
    __slots__ = ("h11", "origin", "reader", "writer")

    def __init__(
        self, origin: tuple[str, str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    @property
    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof() and self.h11.our_state is h11.IDLE

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class PooledTransport(httpx.AsyncBaseTransport):
    """Keep-alive pool with at most ``max_connections`` sockets per origin; waiting is FIFO."""

    def __init__(self, *, max_connections: int = 8, ssl_context: ssl.SSLContext | None = None) -> None:
        self.max_connections = max_connections
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._open: dict[tuple[str, str, int], int] = {}
        self._waiters: dict[tuple[str, str, int], deque[asyncio.Future[None]]] = {}
        self._closed = False

    # --- the pool ---------------------------------------------------------------------------------------
    async def _acquire(self, origin: tuple[str, str, int], timeouts: dict[str, float | None]) -> _Connection:
        idle = self._idle.setdefault(origin, deque())
        while True:
            while idle:
                conn = idle.pop()
                if conn.usable:
                    return conn
                self._discard(conn)
            if self._open.get(origin, 0) < self.max_connections:
                self._open[origin] = self._open.get(origin, 0) + 1
                try:
                    return await self._connect(origin, timeouts.get("connect"))
                except BaseException:
                    self._open[origin] -= 1
                    self._wake(origin)
                    raise
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(origin, deque()).append(waiter)
            try:
                await asyncio.wait_for(waiter, timeouts.get("pool"))
            except TimeoutError:
                raise httpx.PoolTimeout("no connection free in time") from None
            finally:
                if not waiter.done():
                    waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters[origin].remove(waiter)

    def _wake(self, origin: tuple[str, str, int]) -> None:
        waiters = self._waiters.get(origin)
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, conn: _Connection) -> None:
        if not self._closed and conn.usable:
            self._idle.setdefault(conn.origin, deque()).append(conn)
        else:
            self._discard(conn)
            return
        self._wake(conn.origin)

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._open[conn.origin] = max(self._open.get(conn.origin, 1) - 1, 0)
        self._wake(conn.origin)

    async def _connect(self, origin: tuple[str, str, int], timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            context = self._ssl or ssl.create_default_context()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None, limit=_READ
                ),
                timeout,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as error:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {error.strerror or error}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(origin, reader, writer)

    # --- one exchange ---------------------------------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed")
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        conn = await self._acquire(origin, timeouts)
        try:
            response = await self._exchange(conn, request, timeouts)
        except BaseException:
            self._discard(conn)
            raise
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            self._release(conn)
        else:
            self._discard(conn)
        return response

    async def _exchange(
        self, conn: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        headers = [(k, v) for k, v in request.headers.raw]
        if body and not request.headers.get("content-length"):
            headers.append((b"Content-Length", str(len(body)).encode()))
        target = request.url.raw_path
        try:
            parts = [
                conn.h11.send(h11.Request(method=request.method.encode(), target=target, headers=headers))
            ]
            if body:
                parts.append(conn.h11.send(h11.Data(data=body)))
            parts.append(conn.h11.send(h11.EndOfMessage()))
            data = b"".join(p for p in parts if p)
        except h11.LocalProtocolError as error:
            raise httpx.LocalProtocolError(str(error)) from None
        try:
            conn.writer.write(data)
            await asyncio.wait_for(conn.writer.drain(), timeouts.get("write"))
        except TimeoutError:
            raise httpx.WriteTimeout("sending the request timed out") from None
        except OSError as error:
            raise httpx.WriteError(f"sending the request failed: {error}") from None
        read_timeout = timeouts.get("read")
        status = 0
        reason = b""
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        while True:
            event = conn.h11.next_event()
            if event is h11.NEED_DATA:
                try:
                    received = await asyncio.wait_for(conn.reader.read(_READ), read_timeout)
                except TimeoutError:
                    raise httpx.ReadTimeout("no answer in time") from None
                except OSError as error:
                    raise httpx.ReadError(f"reading the answer failed: {error}") from None
                if not received and status == 0:
                    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
                try:
                    conn.h11.receive_data(received)
                except h11.RemoteProtocolError as error:
                    raise httpx.RemoteProtocolError(str(error)) from None
                continue
            if isinstance(event, h11.Response):
                status, reason, response_headers = event.status_code, event.reason, list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
            elif isinstance(event, h11.InformationalResponse):
                continue
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
        return httpx.Response(
            status, headers=response_headers, content=b"".join(chunks), extensions=extensions
        )

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(httpx.PoolTimeout("the transport closed"))
