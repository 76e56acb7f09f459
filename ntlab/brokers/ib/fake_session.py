"""One API client's connection to the fake TWS: the handshake, startApi, and the way messages go out.

Answers to requests go straight to the socket. Order news (openOrder, orderStatus, executions, commission
reports, order errors) goes through a :class:`~ntlab.testing.streams.StreamHub`, where the stream faults are
committed (dropped connection, duplicated, reordered and delayed messages), and can be held back for a while
(a stall, an interruption of TWS's own connectivity) and released in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ntlab.brokers.ib import fake_messages as msg
from ntlab.brokers.ib.wire import HANDSHAKE, Out, frame, read_message
from ntlab.testing.streams import Connection, StreamHub

if TYPE_CHECKING:
    from ntlab.brokers.ib.fake import FakeTWS

log = logging.getLogger(__name__)

MIN_CLIENT_VERSION = 100
_RANGE = re.compile(r"^v(\d+)\.\.(\d+)")


class Session:
    """One connection: who it is (client id, negotiated version), what it subscribed to, how it sends."""

    def __init__(self, fake: FakeTWS, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.fake = fake
        self.reader = reader
        self.writer = writer
        self.client_id: int | None = None
        self.version = msg.SERVER_VERSION
        self.hub = StreamHub(fake.faults)
        self.stream: Connection | None = None
        self.positions = False
        self.account_updates = False
        self.account_multi: set[int] = set()
        self.summaries: dict[int, set[str] | None] = {}
        self.pnl: set[int] = set()
        self.market: dict[int, str] = {}  # streaming market data: reqId -> ntlab symbol
        self.last_quote: dict[int, tuple[object, ...]] = {}
        self._held: list[bytes] | None = None
        self._holds = 0
        self.closed = False
        self._allowance: tuple[float, float] | None = None  # pacing: (messages allowed now, as of when)

    def within_rate(self, limit: int) -> bool:
        """Whether one more message now keeps within TWS's pacing of ``limit`` messages a second (a bucket of
        ``limit`` that refills at ``limit`` a second, so a client that keeps under it is never refused for
        the jitter of the wire); the message is counted if so."""
        now = asyncio.get_running_loop().time()
        allowed, then = self._allowance or (float(limit), now)
        allowed = min(float(limit), allowed + (now - then) * limit)
        if allowed < 1.0:
            self._allowance = (allowed, now)
            return False
        self._allowance = (allowed - 1.0, now)
        return True

    # --- sending ------------------------------------------------------------------------------------------
    def send(self, fields: msg.Fields) -> None:
        """An answer to a request: straight to the socket (not into one already going away)."""
        if not self.closed and not self.writer.is_closing():
            self.writer.write(frame(fields))

    def event(self, fields: msg.Fields) -> None:
        """Order news: through the stream faults, or held while the session is on hold."""
        if self.closed:
            return
        data = frame(fields)
        if self._held is not None:
            self._held.append(data)
        else:
            self.hub.broadcast(data)

    def later(self, delay: float, fields: msg.Fields) -> None:
        """Order news that goes out ``delay`` seconds from now (a delayed execution)."""
        asyncio.get_running_loop().call_later(delay, self.event, fields)

    def hold(self) -> None:
        """Keep order news back until :meth:`release` (nested holds release with the last one)."""
        self._holds += 1
        if self._held is None:
            self._held = []

    def release(self) -> None:
        self._holds = max(self._holds - 1, 0)
        if self._holds or self._held is None:
            return
        held, self._held = self._held, None
        for data in held:
            self.hub.broadcast(data)

    def hold_for(self, seconds: float) -> None:
        self.hold()
        asyncio.get_running_loop().call_later(seconds, self.release)

    def abort(self) -> None:
        """Cut the connection without a goodbye."""
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    async def _write(self, data: bytes) -> None:
        if not self.closed and not self.writer.is_closing():
            self.writer.write(data)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

    # --- the conversation ---------------------------------------------------------------------------------
    async def run(self, dispatch: Callable[[Session, list[str]], object]) -> None:
        """Handshake, then read and dispatch messages until the client leaves."""
        try:
            if not await self._handshake():
                return
            while not self.closed:
                fields = await read_message(self.reader)
                if not fields:
                    continue
                outcome = dispatch(self, fields)
                if asyncio.iscoroutine(outcome):
                    await outcome
        finally:
            self.closed = True
            await self.hub.close()

    async def _handshake(self) -> bool:
        if await self.reader.readexactly(4) != HANDSHAKE:
            log.info("a connection did not open with API\\0; closed")
            return False
        offer = await read_message(self.reader)
        versions = _RANGE.match(offer[0]) if offer else None
        if versions is None or int(versions.group(2)) < MIN_CLIENT_VERSION:
            log.info("a client offered versions %r; closed", offer)
            return False
        if self.hub.refuse():
            log.info("refusing a connection (fault: refuse_stream)")
            return False
        self.version = min(int(versions.group(2)), msg.SERVER_VERSION)
        self.send(msg.hello(self.version, self.fake.engine.now()))
        start = await read_message(self.reader)
        if not start or int(start[0]) != Out.START_API:
            log.info("expected startApi, got %r; closed", start[:1])
            return False
        client_id = int(start[2]) if len(start) > 2 and start[2] else 0
        if not self.fake.register(self, client_id):
            self.send(
                msg.error(
                    -1,
                    326,
                    "Unable to connect as the client id is already in use. Retry with a unique client id.",
                )
            )
            await self.writer.drain()
            return False
        self.client_id = client_id
        self.stream = self.hub.subscribe(self._write, self.abort)
        self.fake.welcome(self)
        return True
