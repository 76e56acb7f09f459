"""Streamed quotes for what a Lab session trades, on a broker that streams them (:class:`QuoteStream`).

Every order event names a symbol; the first time one is seen, the broker is asked to watch it too, so the
next order in it has a streamed reference price. Watching restarts the broker's subscription with the whole
set (Alpaca's market-data websocket takes one list), so the symbols that turn up while a restart is under way
wait for the next one: one watch at a time, each with everything new since the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from ntlab.core.broker import QuoteStream
from ntlab.core.events import OrderEvent
from ntlab.core.manager import OrderManager

log = logging.getLogger(__name__)


class TradedQuotes:
    """Keeps a QuoteStream broker watching every symbol the session has orders in. Runs on the core loop."""

    def __init__(self, om: OrderManager, broker: QuoteStream, symbols: Iterable[str] = ()) -> None:
        self._om = om
        self._broker = broker
        self.watched: set[str] = set(symbols)
        self._wanted: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> Callable[[], None]:
        """Watch the symbols of the orders the session holds and of every order from now on; returns the
        function that stops it."""
        for order in self._om.orders():
            self._want(order.symbol)
        self._unsubscribe = self._om.on_event(self._on_event)
        return self.stop

    def _on_event(self, event: OrderEvent) -> None:
        if event.order.symbol not in self.watched:
            self._want(event.order.symbol)

    def _want(self, symbol: str) -> None:
        if symbol in self.watched:
            return
        self.watched.add(symbol)
        self._wanted.append(symbol)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="ntlab-lab-quotes")

    async def _watch(self) -> None:
        while self._wanted:
            symbols, self._wanted = self._wanted, []
            try:
                await self._broker.watch_quotes(symbols)
            except Exception as error:  # a quote stream that cannot start leaves orders to fetch a quote
                log.warning("could not stream quotes for %s: %s", ", ".join(symbols), error)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()

    async def idle(self) -> None:
        """Wait until the watches asked for so far are done (tests, notebooks)."""
        while self._task is not None and not self._task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)
