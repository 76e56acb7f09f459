"""The Broker protocol every adapter implements, and the sink through which adapters report news.

An adapter translates between ntlab's models and one broker's API. It never keeps order state of its own
beyond what the API needs (ids); the OrderManager owns state. Errors are mapped onto ``ntlab.errors``:

- ``BrokerUnavailable`` (and ``RateLimited``): the request provably did not arrive; the manager may retry.
- ``BrokerTimeout``: it may have arrived; the manager looks the order up by client id before retrying.
- ``OrderRejected``: the broker refused the order; final.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from ntlab.core.models import Fill, Order, OrderUpdate, Position, Quote


class UpdateSink(Protocol):
    """Where adapters send acks, fills and cancels (the OrderManager)."""

    async def handle_order_update(self, update: OrderUpdate) -> None: ...

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None: ...


class BrokerOrder(Order):
    """An order as the broker reports it, used by lookups and reconciliation."""


@runtime_checkable
class Broker(Protocol):
    """What the OrderManager needs from a venue.

    ``local`` is True for in-process venues whose calls never wait on I/O; the manager then calls them
    inline instead of in a task, which keeps the paper path fast. A local venue may also set
    ``copies_orders = True`` when ``submit_order``/``cancel_order`` only read the order during the call
    (accepting any :class:`~ntlab.core.models.OrderTicket`): it is then handed the manager's own order
    record instead of an immutable snapshot. News that happens later (a resting order filling, a day order
    expiring) goes to the sink given to ``connect``.
    """

    name: str
    local: bool

    async def connect(self, sink: UpdateSink) -> None:
        """Open connections and start streaming updates into ``sink``."""

    async def close(self) -> None:
        """Stop streaming and release connections. Safe to call twice."""

    def now(self) -> datetime:
        """The venue's clock (simulated time on the paper venue), tz-aware UTC."""

    def last_quote(self, symbol: str) -> Quote | None:
        """The latest known top of book, or None; must not do I/O (used by pre-trade risk)."""

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        """Send a new order whose ``order_id`` is the client order id.

        Returns the ack and whatever else the broker said at once (an immediate fill or rejection). Never
        await the sink from here: the manager is waiting for this call, so report through the return value.
        """

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """Ask to cancel; return what the broker said at once (maybe nothing: the outcome streams later)."""

    async def lookup_order(self, order_id: str) -> BrokerOrder | None:
        """The broker's view of the order with this client order id, or None if it never arrived."""

    async def open_orders(self) -> list[BrokerOrder]:
        """Every order the broker holds open, including ones placed outside this session."""

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """Executions since a time (all of the session's when None), for reconciliation."""

    async def positions(self) -> list[Position]:
        """The broker's positions, to compare with the journal's."""
