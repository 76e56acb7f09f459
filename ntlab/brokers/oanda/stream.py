"""v20's chunked streams, and putting the transaction stream back in order.

Both v20 streams (``/transactions/stream`` and ``/pricing/stream``) are long-lived chunked HTTP responses,
one JSON object per line, with a HEARTBEAT line every 5 seconds. :class:`LineStream` reads one, hands each
chunk's lines on, notices silence (no heartbeat for ``idle_timeout``) and reconnects with backoff.

The transaction stream only carries what happens after it connects, and a network can drop, double or
reorder lines. v20 transaction ids are consecutive integers per account, so :class:`TransactionFeed` keeps
a watermark (every id up to it has been applied, in order), drops repeats, holds early arrivals, and fills a
gap from ``GET /transactions/sinceid?id=<watermark>``: on every (re)connect, when a held line stays early
for a moment, and when a heartbeat's ``lastTransactionID`` is ahead of the watermark.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import orjson

log = logging.getLogger(__name__)

Lines = Callable[[list[dict[str, Any]]], Awaitable[None]]
Opened = Callable[[bool], Awaitable[None]]


class LineStream:
    """One v20 stream, reconnecting until closed. ``on_open(reconnected)`` runs once the response started
    (before any line is read); ``on_lines`` gets each chunk's parsed lines."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        path: str,
        params: dict[str, str] | None,
        on_lines: Lines,
        on_open: Opened,
        *,
        name: str,
        idle_timeout: float = 20.0,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
    ) -> None:
        self._client = client
        self.path = path
        self.params = params
        self._on_lines = on_lines
        self._on_open = on_open
        self.name = name
        self.idle_timeout = idle_timeout
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.listening = asyncio.Event()
        self.opens = 0
        self.drops = 0
        self.lines = 0
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"oanda-{self.name}")

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.listening.clear()

    async def _run(self) -> None:
        failures = 0
        while not self._closed:
            try:
                await self._listen()
                failures = 0
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, TimeoutError, OSError, _Refused) as error:
                log.info("oanda %s stream: %s; reconnecting", self.name, error or type(error).__name__)
            except Exception:
                log.exception("oanda %s stream failed; reconnecting", self.name)
            if self.listening.is_set():
                self.drops += 1
            self.listening.clear()
            failures += 1
            delay = min(self.retry_max, self.retry_initial * 2 ** min(failures - 1, 10))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _listen(self) -> None:
        async with self._client.stream("GET", self.path, params=self.params) as response:
            if response.status_code != 200:
                await response.aread()
                raise _Refused(f"HTTP {response.status_code}")
            reconnected = self.opens > 0
            self.opens += 1
            self.listening.set()
            await self._on_open(reconnected)
            rest = b""
            chunks = response.aiter_raw()
            while True:
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), self.idle_timeout)
                except StopAsyncIteration:
                    raise _Refused("the server ended the stream") from None
                except TimeoutError:
                    raise _Refused(f"no heartbeat for {self.idle_timeout:g}s") from None
                rest += chunk
                if b"\n" not in rest:
                    continue
                *complete, rest = rest.split(b"\n")
                parsed = []
                for line in complete:
                    if line.strip():
                        try:
                            parsed.append(orjson.loads(line))
                        except orjson.JSONDecodeError:
                            log.warning("oanda %s stream: unreadable line %r", self.name, line[:120])
                self.lines += len(parsed)
                if parsed:
                    await self._on_lines(parsed)


class _Refused(Exception):
    """The stream ended or never started (a status other than 200, silence, or the end of the body)."""


Fetch = Callable[[int], Awaitable[tuple[list[dict[str, Any]], int]]]
Deliver = Callable[[list[dict[str, Any]]], Awaitable[None]]


class TransactionFeed:
    """Transactions in id order, each once, from a stream that may drop, double and reorder them.

    ``fetch(after)`` returns the transactions after an id and the account's last transaction id
    (``/transactions/sinceid``); ``deliver`` gets consecutive runs of new transactions.
    """

    def __init__(self, fetch: Fetch, deliver: Deliver, *, gap_wait: float = 0.2) -> None:
        self._fetch = fetch
        self._deliver = deliver
        self.gap_wait = gap_wait
        self.applied = 0  # every transaction id up to here has been delivered
        self.last_known = 0  # the highest id the account is known to have
        self.catch_ups = 0
        self._early: dict[int, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        self._gap: asyncio.Task[None] | None = None

    def start_at(self, last_transaction_id: int) -> None:
        """Begin after this id (the account's ``lastTransactionID`` when the session connected)."""
        self.applied = max(self.applied, last_transaction_id)
        self.last_known = max(self.last_known, last_transaction_id)

    @property
    def behind(self) -> bool:
        return self.last_known > self.applied

    async def take(self, items: Sequence[dict[str, Any]]) -> None:
        """Stream lines: transactions and heartbeats, in whatever order they came."""
        fresh = False
        for item in items:
            if item.get("type") == "HEARTBEAT":
                last = _id(item.get("lastTransactionID"))
                if last is not None and last > self.last_known:
                    self.last_known = last
                continue
            number = _id(item.get("id"))
            if number is None or number <= self.applied or number in self._early:
                continue
            self._early[number] = item
            self.last_known = max(self.last_known, number)
            fresh = True
        if fresh:
            async with self._lock:
                await self._release()
        if self.behind:
            self._watch_gap()

    async def _release(self) -> None:
        run = []
        while self.applied + 1 in self._early:
            self.applied += 1
            run.append(self._early.pop(self.applied))
        # held lines at or below the watermark (delivered by a catch-up meanwhile) are repeats
        for stale in [n for n in self._early if n <= self.applied]:
            del self._early[stale]
        if run:
            await self._deliver(run)

    async def catch_up(self) -> int:
        """Fetch and deliver everything after the watermark; returns how many transactions that was."""
        async with self._lock:
            self.catch_ups += 1
            found, last = await self._fetch(self.applied)
            self.last_known = max(self.last_known, last)
            before = self.applied
            for item in found:
                number = _id(item.get("id"))
                if number is not None and number > self.applied:
                    self._early[number] = item
            await self._release()
            if self._early and self.applied < min(self._early):
                # sinceid returned a hole (the account cannot have one): jump it rather than wait forever
                log.warning("oanda transactions %d..%d never arrived", self.applied + 1, min(self._early) - 1)
                self.applied = min(self._early) - 1
                await self._release()
            return self.applied - before

    def _watch_gap(self) -> None:
        if self._gap is None or self._gap.done():
            self._gap = asyncio.get_running_loop().create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        await asyncio.sleep(self.gap_wait)
        if not self.behind:
            return
        try:
            await self.catch_up()
        except Exception as error:  # the next heartbeat or reconnect tries again
            log.info("oanda transaction catch-up failed: %r", error)

    async def close(self) -> None:
        if self._gap is not None:
            self._gap.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._gap


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
