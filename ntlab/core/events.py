"""Fan-out of order events to async iterators and callbacks, without slowing the manager down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Literal, NamedTuple

from ntlab.core.records import Fill, Order

log = logging.getLogger(__name__)


EventKind = Literal["order", "fill", "overfill"]


class OrderEvent(NamedTuple):
    """Something happened to an order: a new order or a status change (``order``), an execution (``fill``,
    with the fill), or an execution that took the order past its quantity (``overfill``, booked anyway)."""

    kind: EventKind
    order: Order
    fill: Fill | None = None


Callback = Callable[[OrderEvent], object]


class EventHub:
    """Subscribers get every event published after they subscribed, in order."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[OrderEvent | None]] = []
        self._callbacks: list[Callback] = []

    @property
    def active(self) -> bool:
        return bool(self._queues or self._callbacks)

    def publish(self, event: OrderEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:
                log.exception("event callback %r failed; it stays subscribed", callback)

    def add_callback(self, callback: Callback) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    async def stream(self) -> AsyncIterator[OrderEvent]:
        queue: asyncio.Queue[OrderEvent | None] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            self._queues.remove(queue)

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)
