"""The adapter's news: ccxt pro's ``watch_orders`` and ``watch_my_trades``, or polling where there are none.

Watching: two loops await ccxt's two watches. ccxt resolves both from the same exchange message (the trade
first, then the order), so each loop only hands what it got to one queue, and one forwarder turns the queue
into ntlab reports in the exchange's order: trades become ``Filled`` (with the fee in its currency), order
updates ``Accepted`` / ``Cancelled`` / ``Expired`` / ``Rejected``. When a watch fails (the connection
dropped) both loops start again after a backoff and, once the new subscription has held for ``settle``
seconds, the session is reconciled for whatever the gap hid.

Polling: a reconciliation every ``poll_interval`` seconds (open orders, lookups of what closed, trades since
the session began), doubling the wait on errors up to 30 s: the same path a restart takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ntlab.brokers.crypto import mapping
from ntlab.core.broker import UpdateSink
from ntlab.core.reports import Filled, OrderUpdate
from ntlab.errors import SessionClosed

if TYPE_CHECKING:
    from ntlab.brokers.crypto.adapter import CcxtBroker

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class OrderWatch:
    def __init__(self, broker: CcxtBroker, sink: UpdateSink, *, mode: str, settle: float = 0.3) -> None:
        self.broker = broker
        self.sink = sink
        self.mode = mode
        self.settle = settle
        self.queue: asyncio.Queue[tuple[str, list[dict[str, Any]]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self.connected = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.mode == "watch":
            self._tasks = [loop.create_task(self._supervise()), loop.create_task(self._forward())]
        else:
            self._tasks = [loop.create_task(self._poll())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def drain(self) -> None:
        """Wait (bounded) until what has arrived has been handed to the sink."""
        for _ in range(400):
            if self.queue.empty() and self._busy == 0:
                return
            await asyncio.sleep(0.005)

    # --- watching ------------------------------------------------------------------------------------------
    async def _supervise(self) -> None:
        backoff = 0.05
        first = True
        while True:
            loops = [
                asyncio.create_task(self._watch("trades", self.broker.exchange.watch_my_trades)),
                asyncio.create_task(self._watch("orders", self.broker.exchange.watch_orders)),
            ]
            recovery = None if first else asyncio.create_task(self._recover(loops))
            try:
                await asyncio.wait(loops, return_when=asyncio.FIRST_EXCEPTION)
            finally:  # on a failed watch, and on stop(): end both loops and take their errors
                for task in [*loops, *([recovery] if recovery is not None else [])]:
                    task.cancel()
                for task in loops:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            self.connected.clear()
            first = False
            self.broker.stats["reconnects"] += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _watch(self, kind: str, watch: Any) -> None:
        while True:
            try:
                got = await watch()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.info("%s %s stream ended (%s); reconnecting", self.broker.name, kind, error)
                raise
            self.connected.set()
            if got:
                self.queue.put_nowait((kind, list(got)))

    async def _recover(self, loops: list[asyncio.Task[None]]) -> None:
        """Reconcile once the new subscription has held (what the gap hid comes from REST)."""
        await asyncio.sleep(self.settle)
        if any(task.done() for task in loops):
            return
        try:
            await self.sink.reconcile()
        except SessionClosed:
            pass
        except Exception:
            log.exception("%s: reconciliation after a reconnect failed", self.broker.name)

    async def _forward(self) -> None:
        while True:
            kind, items = await self.queue.get()
            self._busy += 1
            try:
                await asyncio.sleep(0)  # the order update of the same message is queued right behind
                batch = [(kind, items)]
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                reports = await self._reports(batch)
                if reports:
                    await self.sink.handle_order_updates(reports)
            except SessionClosed:
                log.debug("news arrived after the session closed")
            except Exception:
                log.exception("%s: could not apply streamed news", self.broker.name)
            finally:
                self._busy -= 1

    async def _reports(self, batch: list[tuple[str, list[dict[str, Any]]]]) -> list[OrderUpdate]:
        broker = self.broker
        for kind, items in batch:  # learn every order's client id first: its trade may come before it
            if kind == "orders":
                for raw in items:
                    if raw.get("clientOrderId"):
                        broker._clients[str(raw["id"])] = mapping.ntlab_id(raw["clientOrderId"])
        reports: list[OrderUpdate] = []
        for kind, items in batch:
            for raw in items:
                if kind == "trades":
                    client = await broker._client_of(raw)
                    if client is not None:
                        reports.append(Filled(client, mapping.fill(raw, client, broker.name)))
                    continue
                client = broker._clients.get(str(raw["id"]))
                if client is None and raw.get("clientOrderId"):
                    client = mapping.ntlab_id(raw["clientOrderId"])
                if client is None or raw.get("symbol") is None:
                    continue
                broker._orders.setdefault(client, raw["symbol"])
                if str(raw["id"]) in broker._superseded:
                    continue  # an edit's cancel of the old order: the edit's answer says what happened
                report = mapping.order_report(raw, client, broker.name)
                if report is not None:
                    reports.append(report)
        return reports

    # --- polling -------------------------------------------------------------------------------------------
    async def _poll(self) -> None:
        wait = self.broker.poll_interval
        while True:
            await asyncio.sleep(wait)
            self._busy += 1
            try:
                self.broker.stats["polls"] += 1
                await self.sink.reconcile()
                wait = self.broker.poll_interval
            except SessionClosed:
                return
            except Exception as error:
                wait = min(wait * 2, MAX_BACKOFF)
                log.warning("%s: poll failed (%s); next in %.1fs", self.broker.name, error, wait)
            finally:
                self._busy -= 1
