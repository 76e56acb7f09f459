"""The broker port: what the OrderManager needs from a venue, and the capabilities some venues add.

An adapter translates between ntlab's records and one broker's API. It never keeps order state of its own
beyond what the API needs (ids); the OrderManager owns state. Errors are mapped onto ``ntlab.errors``:

- ``BrokerUnavailable`` (and ``RateLimited``): the request provably did not arrive; the manager may retry.
- ``BrokerTimeout``: it may have arrived; the manager looks the order up by client id before retrying.
- ``OrderRejected``: the broker refused the order; final.

Capabilities beyond the port are protocols of their own, checked with ``isinstance``: a simulated venue
(:class:`SimulatedVenue`) has a market and a clock that code steps; a :class:`QuoteSource` can fetch a quote
on demand when none has streamed in yet; an :class:`AssetSource` says whether a symbol can be sold short; an
:class:`InstrumentSource` knows its instruments' increments and minimums; a :class:`NotionalOrders` broker
takes orders for an amount of money; a :class:`QuoteStream` streams quotes for the symbols it watches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, runtime_checkable

from ntlab.core.instruments import Instrument
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Account, Fill, Order, Position, Quote
from ntlab.core.reports import OrderUpdate

if TYPE_CHECKING:
    import pandas as pd

    from ntlab.market.frames import Market


class UpdateSink(Protocol):
    """Where adapters send news that comes later than a call's answer (the OrderManager)."""

    async def handle_order_update(self, update: OrderUpdate) -> None: ...

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None: ...

    async def reconcile(self) -> dict[str, int]:
        """Bring the session in line with the broker (an adapter calls this after its stream reconnects)."""
        ...


BrokerOrder = Order
"""An order as the broker reports it (lookups, reconciliation): the core's own order record."""


@runtime_checkable
class Broker(Protocol):
    """What the OrderManager needs from a venue.

    ``local`` is True for in-process venues whose calls never wait on I/O; the manager then calls them
    inline instead of in a task, which keeps the paper path fast. ``durable`` says whether the broker's
    record of orders outlives this process (a real broker, a paper venue with a ledger): only then must the
    journal hold an order before the broker hears of it; for a venue that dies with the process, an order
    and its answer are journaled together. News that happens later (a resting order filling, a day order
    expiring) goes to the sink given to ``connect``.
    """

    name: str
    local: bool
    durable: bool

    async def connect(self, sink: UpdateSink) -> None:
        """Open connections and start streaming updates into ``sink``."""

    async def close(self) -> None:
        """Stop streaming and release connections. Safe to call twice."""

    def now(self) -> datetime:
        """The venue's clock (simulated time on the paper venue), tz-aware UTC."""

    def last_quote(self, symbol: str) -> Quote | None:
        """The latest known top of book, or None; must not do I/O (used by pre-trade risk)."""

    async def submit_order(self, order: Order) -> Sequence[OrderUpdate]:
        """Send a new order once; its ``order_id`` is the client order id.

        Returns the ack and whatever else the broker said at once (an immediate fill or rejection). Never
        await the sink from here: the manager is waiting for this call, so report through the return value.
        Never retry a submit here either: the manager does that, in one place, when it is safe.
        """

    async def cancel_order(self, order: Order) -> Sequence[OrderUpdate]:
        """Ask to cancel; return what the broker said at once (maybe nothing: the outcome streams later)."""

    async def replace_order(self, order: Order, change: ReplaceChange) -> Sequence[OrderUpdate]:
        """Change a working order's quantity or prices: ``Replaced`` (with the broker's new id when it makes
        a new order) or ``ReplaceRejected``, or nothing yet when the outcome streams later."""

    async def lookup_order(self, order_id: str) -> BrokerOrder | None:
        """The broker's view of the order with this client order id, or None if it never arrived."""

    async def open_orders(self) -> list[BrokerOrder]:
        """Every order the broker holds open, including ones placed outside this session."""

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """Executions since a time (all of the session's when None), for reconciliation."""

    async def positions(self) -> list[Position]:
        """The broker's positions, to compare with the journal's."""


@runtime_checkable
class SimulatedVenue(Protocol):
    """A venue on a market whose clock code can step: the paper venue and the router over paper venues.

    The Lab, the algos and the manager ask for this capability with ``isinstance`` (never by probing
    attributes): its market gives instruments, symbols and the data TCA needs; its clock moves with
    ``advance``; its session has an open and a close.
    """

    @property
    def market(self) -> Market: ...

    @property
    def now_ns(self) -> int: ...

    @property
    def session_open(self) -> datetime: ...

    @property
    def session_close(self) -> datetime: ...

    async def advance(self, step: timedelta | pd.Timedelta | str | float) -> datetime: ...

    async def advance_to(self, when: datetime | str | int) -> datetime: ...


@runtime_checkable
class QuoteSource(Protocol):
    """A broker that can fetch a quote on demand (a REST snapshot) when none has streamed in yet."""

    async def fetch_quote(self, symbol: str) -> Quote | None: ...


class AssetFlags(NamedTuple):
    """What a broker says about trading one symbol (Alpaca: the flags of ``GET /v2/assets/{symbol}``).

    A sale beyond the long position needs ``shortable`` and ``easy_to_borrow`` (or a locate).
    """

    symbol: str
    tradable: bool
    shortable: bool
    easy_to_borrow: bool
    fractionable: bool


@runtime_checkable
class AssetSource(Protocol):
    """A broker that knows which symbols are tradable and shortable.

    ``asset_flags`` answers from what the broker already told (no I/O: pre-trade risk calls it for every
    short sale); ``fetch_asset_flags`` asks the broker and remembers the answer.
    """

    def asset_flags(self, symbol: str) -> AssetFlags | None: ...

    async def fetch_asset_flags(self, symbol: str) -> AssetFlags | None: ...


@runtime_checkable
class AccountSource(Protocol):
    """A broker that reports its account: cash, equity, buying power, margin in use and the day's P&L (the
    paper venue from its own fills and marks, Alpaca from ``GET /v2/account``). A figure the broker does not
    report is None, never a made-up zero."""

    async def account(self) -> Account: ...


@runtime_checkable
class InstrumentSource(Protocol):
    """A broker that knows the increments and minimums of what it trades (a crypto exchange's markets).

    ``venue_instruments`` answers from what ``connect`` loaded (no I/O); the manager registers them after
    connecting, so validation refuses what the venue would (off-tick prices, quantities off the lot, orders
    under the minimum notional) before anything is sent.
    """

    def venue_instruments(self) -> Sequence[Instrument]: ...


@runtime_checkable
class NotionalOrders(Protocol):
    """A broker that takes notional orders (``Order.notional`` set, ``quantity`` 0) and works out the
    quantity itself: it reports the quantity an order came to as a :class:`~ntlab.core.reports.Replaced`
    (with ``quantity``) once it knows it, at the latest with the fill that completes the order. Pre-trade
    risk refuses a notional order for any other broker."""

    notional_orders: Literal[True]


@runtime_checkable
class QuoteStream(Protocol):
    """A broker that streams quotes for the symbols it is told to watch into ``last_quote`` (Alpaca's
    market-data websocket), so pre-trade risk has a reference price without a request per order."""

    async def watch_quotes(self, symbols: Iterable[str]) -> None: ...


@runtime_checkable
class TrailReplace(Protocol):
    """A broker whose ``replace_order`` changes a trailing stop's trail (``ReplaceChange.trail``) and says
    so in its ``Replaced``. The manager refuses a trail change for any other broker."""

    trail_replace: Literal[True]
