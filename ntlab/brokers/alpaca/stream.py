"""The trade_updates websocket: authenticate, listen, hand messages on; reconnect with backoff when cut.

A dropped connection loses whatever Alpaca sent meanwhile, so every reconnect calls ``on_reconnect`` with
the broker time of the last message received; the adapter then sweeps the REST API for what was missed.
Frames are accepted as text or binary (Alpaca's paper stream sends binary).

The websocket library logs frames at DEBUG, and the first frame carries the secret key, so the connection
gets its own logger pinned at INFO: raising the root log level to DEBUG can never print the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import websockets
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ntlab.brokers.alpaca.mapping import parse_time
from ntlab.errors import AuthenticationError, BrokerUnavailable

log = logging.getLogger(__name__)
_wire_log = logging.getLogger(__name__ + ".wire")
_wire_log.setLevel(logging.INFO)

MessageHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]
ReconnectHandler = Callable[[datetime | None], Awaitable[None]]


class TradeStream:
    """One logical subscription to trade_updates that survives dropped connections."""

    def __init__(
        self,
        url: str,
        key_id: str,
        secret_key: SecretStr,
        on_messages: MessageHandler,
        on_reconnect: ReconnectHandler,
        *,
        backoff_initial: float = 0.1,
        backoff_max: float = 10.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self._key_id = key_id
        self._secret = secret_key
        self._on_messages = on_messages
        self._on_reconnect = on_reconnect
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self.listening = asyncio.Event()
        self.connections = 0
        self.reconnects = 0
        self.last_event_time: datetime | None = None
        self.error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._sweeps: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closing = False

    def __repr__(self) -> str:
        return f"TradeStream(url={self.url!r}, listening={self.listening.is_set()})"

    async def start(self, wait: float | None = None) -> None:
        """Connect and wait until listening (raises AuthenticationError for refused keys)."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name="ntlab-alpaca-stream")
        self._dispatcher = loop.create_task(self._dispatch(), name="ntlab-alpaca-dispatch")
        waiter = loop.create_task(self.listening.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=wait or self.open_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            if self.error is not None:
                await self.close()
                raise self.error
            await self.close()
            raise BrokerUnavailable(f"could not open the trade_updates stream at {self.url}")

    async def close(self) -> None:
        self._closing = True
        tasks = [t for t in (self._task, self._dispatcher, *self._sweeps) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = self._dispatcher = None
        self.listening.clear()

    async def drain(self) -> None:
        """Wait until every message received so far, and any recovery sweep, has been handed on."""
        while self._sweeps:
            await asyncio.gather(*self._sweeps, return_exceptions=True)
        await self._queue.join()

    # --- the connection loop ---------------------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        disconnected_at: datetime | None = None
        while not self._closing:
            try:
                async with websockets.connect(
                    self.url,
                    open_timeout=self.open_timeout,
                    ping_interval=20,
                    ping_timeout=20,
                    max_size=2**24,
                    logger=_wire_log,
                ) as ws:
                    await self._handshake(ws)
                    self.connections += 1
                    failures = 0
                    self.listening.set()
                    if self.connections > 1:
                        self.reconnects += 1
                        self._spawn_sweep(disconnected_at)
                    async for raw in ws:
                        self._receive(raw)
            except AuthenticationError as error:
                self.error = error
                log.error("trade_updates stream refused the credentials; not reconnecting")
                return
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, ValueError) as error:
                if isinstance(error, InvalidURI):
                    self.error = BrokerUnavailable(f"bad stream url {self.url!r}")
                    return
                log.warning("trade_updates stream lost (%s); reconnecting", type(error).__name__)
            if self._closing:
                return
            if self.listening.is_set():
                disconnected_at = self.last_event_time or disconnected_at
            self.listening.clear()
            delay = min(self.backoff_max, self.backoff_initial * 2**failures) * random.uniform(0.5, 1.0)
            failures += 1
            await asyncio.sleep(delay)

    async def _handshake(self, ws: Any) -> None:
        auth = {
            "action": "authenticate",
            "data": {"key_id": self._key_id, "secret_key": self._secret.get_secret_value()},
        }
        await ws.send(json.dumps(auth))
        reply = await self._control(ws)
        status = (reply.get("data") or {}).get("status")
        if reply.get("stream") != "authorization" or status != "authorized":
            raise AuthenticationError(f"Alpaca's stream did not authorize the key (status {status!r})")
        await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        reply = await self._control(ws)
        streams = (reply.get("data") or {}).get("streams") or []
        if reply.get("stream") != "listening" or "trade_updates" not in streams:
            raise BrokerUnavailable("Alpaca's stream did not subscribe to trade_updates")

    async def _control(self, ws: Any) -> dict[str, Any]:
        """The next control reply; trade updates arriving first are queued, not lost."""
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that meets the reply
            async with asyncio.timeout(self.open_timeout):
                raw = await ws.recv()
            message = json.loads(raw)
            if message.get("stream") == "trade_updates":
                self._receive(raw)
                continue
            return message  # type: ignore[no-any-return]

    def _receive(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("unreadable stream message dropped")
            return
        if message.get("stream") != "trade_updates":
            return
        data = message.get("data") or {}
        when = parse_time(data.get("timestamp"))
        if when is not None and (self.last_event_time is None or when > self.last_event_time):
            self.last_event_time = when
        self._queue.put_nowait(data)

    async def _dispatch(self) -> None:
        """Hand messages on in batches: whatever arrived while the previous batch was being applied."""
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._on_messages(batch)
            except Exception:
                log.exception("applying %d trade updates failed", len(batch))
            finally:
                for _ in batch:
                    queue.task_done()

    def _spawn_sweep(self, since: datetime | None) -> None:
        task = asyncio.get_running_loop().create_task(self._sweep(since))
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    async def _sweep(self, since: datetime | None) -> None:
        for attempt in range(5):
            try:
                await self._on_reconnect(since)
                return
            except Exception as error:
                log.warning("recovery sweep after reconnect failed (%s); trying again", type(error).__name__)
                await asyncio.sleep(min(self.backoff_max, self.backoff_initial * 2**attempt))
        log.error("recovery sweep gave up; call reconcile() to recover missed events")
