"""The core's plain records: orders, fills, positions, quotes and answers, as immutable NamedTuples.

Records are built on every order event, so they are plain tuples (a positional NamedTuple costs well under a
microsecond to build; a validated pydantic model about ten). Pydantic stays where input arrives
(:class:`~ntlab.core.models.OrderRequest`, limits, configs). A record's fields are its one field list: the
journal, the paper ledger and every orders DataFrame derive from them (:mod:`ntlab.core.fields`), so adding
a field with a default is one edit here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce

ZERO = Decimal(0)


class Fill(NamedTuple):
    """One execution. ``fill_id`` is the broker's execution id: a replay of the same id is ignored.

    ``fee`` is in ``fee_currency`` when the broker charges in something other than the instrument's
    currency (a crypto exchange's commission in BNB or in the asset received); None: the instrument's.
    """

    fill_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    time: datetime
    fee: Decimal = ZERO
    liquidity: Liquidity | None = None
    venue: str | None = None
    fee_currency: str | None = None

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


class Order(NamedTuple):
    """An order's state at one moment. Snapshots never change; ask the manager again for news.

    Brokers report their view of an order (lookups, reconciliation) in the same record. A notional order
    (``notional`` set) is for an amount of money: its ``quantity`` is 0 until the broker says how much that
    amount bought (a :class:`~ntlab.core.reports.Replaced` with the quantity), and its fills until then
    leave it partially filled.
    """

    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    filled_quantity: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    fees: Decimal = ZERO
    broker_order_id: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    arrival_bid: Decimal | None = None
    arrival_ask: Decimal | None = None
    parent_id: str | None = None
    tag: str | None = None
    venue: str | None = None
    external: bool = False
    overfilled: bool = False
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_limit: Decimal | None = None
    linked_to: str | None = None  # a leg's entry order (or, for an oco stop-loss, the take-profit order)
    post_only: bool = False
    notional: Decimal | None = None  # an amount of money to trade: quantity is 0 until the broker sizes it

    @property
    def remaining_quantity(self) -> Decimal:
        return max(self.quantity - self.filled_quantity, ZERO)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def arrival_mid(self) -> Decimal | None:
        if self.arrival_bid is None or self.arrival_ask is None:
            return None
        return (self.arrival_bid + self.arrival_ask) / 2


class Position(NamedTuple):
    """Net holding in one symbol. ``quantity`` is signed (negative = short); ``avg_cost`` of the open part."""

    symbol: str
    quantity: Decimal
    avg_cost: Decimal | None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO


class Quote(NamedTuple):
    """Top of book at a moment."""

    symbol: str
    time: datetime
    bid: Decimal
    ask: Decimal
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


class OrderResponse(NamedTuple):
    """What place_order, cancel_order and replace_order return: the order's id and state once settled."""

    order_id: str
    status: OrderStatus
    filled_quantity: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    broker_order_id: str | None = None
    message: str | None = None


class Account(NamedTuple):
    """An account at a moment. Money is Decimal in ``currency``; None where the broker reports nothing."""

    broker: str
    currency: str
    cash: Decimal
    equity: Decimal
    buying_power: Decimal | None
    margin_used: Decimal | None
    day_pnl: Decimal | None
    time: datetime | None = None
