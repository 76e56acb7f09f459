"""Fan-out of a fake's stream messages to its connections, committing the stream faults on the way.

Transport-agnostic: a connection is a ``send`` coroutine and an ``abort`` that cuts it without a goodbye,
so websockets, chunked HTTP streams and socket protocols share one place where messages are dropped,
doubled, reordered and delayed. Messages are whatever the fake's protocol sends (text, bytes, frames).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ntlab.testing.faults import Faults

Send = Callable[[Any], Awaitable[None]]


class Connection:
    """One subscriber: its queue of messages and the task that sends them."""

    def __init__(self, hub: StreamHub, send: Send, abort: Callable[[], None]) -> None:
        self.hub = hub
        self.send = send
        self.abort = abort
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.sent = 0
        self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        faults = self.hub.faults
        held: Any = None
        while True:
            if held is not None:
                try:  # a held message goes out late, never never
                    message = await asyncio.wait_for(self.queue.get(), 0.05)
                except TimeoutError:
                    message, held = held, None
                    if not await self._deliver(message):
                        return
                    continue
            else:
                message = await self.queue.get()
            if faults.reorder_events > 0 and held is None:
                held = message
                continue
            batch = [message]
            if held is not None:
                batch.append(held)
                held = None
                faults.reorder_events -= 1
            for item in batch:
                copies = 1
                if faults.duplicate_events > 0:
                    faults.duplicate_events -= 1
                    copies = 2
                for _ in range(copies):
                    if not await self._deliver(item):
                        return

    async def _deliver(self, message: Any) -> bool:
        faults = self.hub.faults
        if faults.drop_stream_after is not None and self.sent >= faults.drop_stream_after:
            faults.drop_stream_after = None
            faults.hits["drop"] = faults.hits.get("drop", 0) + 1
            self.close()
            self.abort()
            return False
        if faults.delay_events > 0:
            await asyncio.sleep(faults.delay_events)
        await self.send(message)
        self.sent += 1
        return True

    def close(self) -> None:
        self.hub.connections.discard(self)

    async def stop(self) -> None:
        self.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


class StreamHub:
    """Every subscribed connection of one stream; ``broadcast`` queues a message for each of them."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults if faults is not None else Faults()
        self.connections: set[Connection] = set()
        self.sent: deque[Any] = deque(maxlen=100_000)
        self.opened = 0

    def refuse(self) -> bool:
        """Whether to refuse this new connection (``faults.refuse_stream``), counting it down."""
        self.opened += 1
        if self.faults.refuse_stream > 0:
            self.faults.refuse_stream -= 1
            self.faults.hits["refuse"] = self.faults.hits.get("refuse", 0) + 1
            return True
        return False

    def subscribe(self, send: Send, abort: Callable[[], None]) -> Connection:
        connection = Connection(self, send, abort)
        self.connections.add(connection)
        return connection

    def broadcast(self, message: Any) -> None:
        self.sent.append(message)
        for connection in list(self.connections):
            connection.queue.put_nowait(message)

    def drop(self) -> int:
        """Cut every connection without a goodbye, as a network failure would; returns how many."""
        dropped = 0
        for connection in list(self.connections):
            connection.close()
            connection.abort()
            dropped += 1
        return dropped

    async def drain(self, rounds: int = 200) -> None:
        """Wait (bounded) until every queued message has been handed to its connection."""
        for _ in range(rounds):
            if all(c.queue.empty() for c in self.connections):
                return
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        for connection in list(self.connections):
            await connection.stop()
