"""Lime Trader API's vocabulary to ntlab's and back: one table per direction, a test per row.

Ids: Lime calls its own order id ``client_id`` and takes an optional ``client_order_id`` (at most 32
alphanumeric characters, "used to prevent duplicate orders") plus a free ``tag`` (32 characters, ``-``
allowed). ntlab's id goes out as the client order id when it fits, else as a fixed hash of it (the same id
always gives the same client order id, so a lookup by it works after a restart), and whole in the tag.

Fills: Lime's trades (``trade_id``, symbol, signed quantity, price, side, time) do not name their order;
orders report their cumulative ``executed_quantity``. :class:`TradeBook` joins the two: a trade belongs to
an order of the same symbol and side whose executed quantity has room for it, preferring the order whose
unallocated quantity equals the trade exactly (the order update that came with it), then the oldest. A
trade with no such order yet waits for the order update. Two orders on one symbol and side that execute
the same quantity at the same moment can swap prices; quantities per order are always right.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Fill, Order, Position
from ntlab.errors import Reason

S = OrderStatus
VENUE = "lime"

#: Every ``order_status`` Lime reports (its docs and the SDK's enum), and what it means in ntlab.
ORDER_STATUS: dict[str, OrderStatus] = {
    "pending_new": S.PENDING,
    "new": S.ACCEPTED,
    "partially_filled": S.PARTIALLY_FILLED,
    "filled": S.FILLED,
    "pending_cancel": S.PENDING_CANCEL,
    "canceled": S.CANCELLED,
    "pending_replace": S.PENDING_REPLACE,  # older docs only
    "replaced": S.CANCELLED,  # this Lime order is closed (replaced outside ntlab)
    "rejected": S.REJECTED,
    "done_for_day": S.EXPIRED,  # a day order at the close: no more executions
    "expired": S.EXPIRED,  # older docs only
    "suspended": S.ACCEPTED,  # not eligible for trading right now, still open
}

#: ntlab's order types as Lime spells them (``order_type``): Lime offers market and limit only.
ORDER_TYPE: dict[OrderType, str] = {OrderType.MARKET: "market", OrderType.LIMIT: "limit"}
ORDER_TYPE_BACK: dict[str, OrderType] = {wire: ours for ours, wire in ORDER_TYPE.items()}

#: ntlab's times in force as Lime spells them; ``ext`` (extended hours) reads back as a day order.
TIME_IN_FORCE: dict[TimeInForce, str] = {
    TimeInForce.DAY: "day",
    TimeInForce.IOC: "ioc",
    TimeInForce.FOK: "fok",
    TimeInForce.OPG: "on-open",
    TimeInForce.CLS: "on-close",
}
TIME_IN_FORCE_BACK: dict[str, TimeInForce] = {
    **{wire: ours for ours, wire in TIME_IN_FORCE.items()},
    "ext": TimeInForce.DAY,
}

SIDE: dict[str, Side] = {"buy": Side.BUY, "sell": Side.SELL}

#: Lime's error ``code`` (non-2xx bodies ``{"code", "message"}``) -> what it means for a call.
ERROR_KIND: dict[str, str] = {
    "not_found": "missing",
    "validation_error": "refused",
    "api_error": "server",
}

#: Words in a refusal (``validation_message`` of /orders/validate, an error's message) -> ntlab reason.
REFUSAL_WORDS: list[tuple[str, Reason]] = [
    ("buying power", Reason.INSUFFICIENT_FUNDS),
    ("insufficient funds", Reason.INSUFFICIENT_FUNDS),
    ("not enough shares", Reason.INSUFFICIENT_POSITION),
    ("symbol", Reason.UNKNOWN_SYMBOL),
    ("restricted", Reason.NOT_ALLOWED),
    ("market is closed", Reason.TRADING_HALTED),
]

_CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[0-9a-zA-Z !#$()*+\-.,/:;=_]{1,32}")


def parse_json(raw: bytes) -> Any:
    """Lime's JSON with every non-integer number as ``Decimal`` from its own digits."""
    return json.loads(raw, parse_float=Decimal)


def dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return value if isinstance(value, Decimal) else Decimal(value)


def parse_time(value: Any) -> datetime | None:
    """Lime's Unix times: seconds, or milliseconds when the number is that large (as the SDK reads them)."""
    if value in (None, 0, "0"):
        return None
    number = Decimal(str(value))
    if number > 9_999_999_999:
        number /= 1000
    return datetime.fromtimestamp(float(number), tz=UTC)


def unix(when: datetime) -> int:
    return int(when.timestamp())


def client_order_id(order_id: str) -> str:
    """Lime's client order id for an ntlab id: itself when it fits (32 alphanumerics), else a fixed hash."""
    if _CLIENT_ID.fullmatch(order_id):
        return order_id
    return "n" + hashlib.sha256(order_id.encode()).hexdigest()[:31]


def tag_for(order_id: str) -> str | None:
    return order_id if _TAG.fullmatch(order_id) else None


def ntlab_id(data: dict[str, Any]) -> str:
    """ntlab's id for a Lime order: the tag when it is the id behind the client order id, else the client
    order id, else (an order with neither) Lime's own id."""
    tag, coid = data.get("tag"), data.get("client_order_id")
    if tag and coid and client_order_id(str(tag)) == coid:
        return str(tag)
    return str(coid or f"lime-{data['client_id']}")


def order_status(data: dict[str, Any]) -> OrderStatus:
    """An unknown status keeps the order open, never closes it."""
    return ORDER_STATUS.get(str(data.get("order_status")), S.ACCEPTED)


def refusal_reason(message: str) -> str:
    text = message.lower()
    for words, reason in REFUSAL_WORDS:
        if words in text:
            return reason.value
    return Reason.BROKER_REJECTED.value


def order_body(order: Order, account_number: str) -> dict[str, Any]:
    """The JSON body of ``POST /orders/place`` (and ``/orders/validate``)."""
    if order.quantity != order.quantity.to_integral_value():
        raise ValueError(f"Lime trades whole shares; {order.quantity} is fractional")
    body: dict[str, Any] = {
        "account_number": account_number,
        "symbol": order.symbol,
        "quantity": int(order.quantity),
        "time_in_force": TIME_IN_FORCE[order.time_in_force],
        "order_type": ORDER_TYPE[order.order_type],
        "side": order.side.value,
        "exchange": "auto",
        "client_order_id": client_order_id(order.order_id),
    }
    tag = tag_for(order.order_id)
    if tag is not None:
        body["tag"] = tag
    if order.limit_price is not None:
        body["price"] = order.limit_price
    return body


def broker_order(data: dict[str, Any], *, created: datetime | None = None) -> Order:
    """A Lime order (``GET /orders/{id}``, active orders, the ``o`` frames) as ntlab's order."""
    order_id = ntlab_id(data)
    when = parse_time(data.get("transaction_timestamp")) or parse_time(data.get("executed_timestamp"))
    when = when or created or datetime.now(UTC)
    filled = dec(data.get("executed_quantity")) or Decimal(0)
    status = order_status(data)
    if status is S.ACCEPTED and filled > 0:
        status = S.PARTIALLY_FILLED
    price = dec(data.get("price"))
    avg = dec(data.get("executed_price"))
    return Order(
        order_id=order_id,
        symbol=str(data["symbol"]),
        side=SIDE[str(data["order_side"])],
        quantity=dec(data.get("quantity")) or Decimal(0),
        order_type=ORDER_TYPE_BACK.get(str(data.get("order_type")), OrderType.LIMIT),
        time_in_force=TIME_IN_FORCE_BACK.get(str(data.get("time_in_force")), TimeInForce.DAY),
        status=status,
        created_at=created or when,
        updated_at=when,
        limit_price=price if price else None,
        filled_quantity=filled,
        avg_fill_price=avg if filled > 0 and avg else None,
        broker_order_id=str(data["client_id"]),
        venue=VENUE,
    )


def position(data: dict[str, Any]) -> Position:
    return Position(
        symbol=str(data["symbol"]),
        quantity=dec(data.get("quantity")) or Decimal(0),
        avg_cost=dec(data.get("average_open_price")),
    )


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    symbol: str
    side: Side
    quantity: Decimal  # positive
    price: Decimal
    time: datetime

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Trade:
        when = parse_time(data.get("timestamp"))
        assert when is not None, "a Lime trade always has a timestamp"
        return cls(
            trade_id=str(data["trade_id"]),
            symbol=str(data["symbol"]),
            side=SIDE[str(data["side"])],
            quantity=abs(dec(data["quantity"]) or Decimal(0)),
            price=dec(data["price"]) or Decimal(0),
            time=when,
        )


@dataclass(slots=True)
class Slot:
    """One Lime order as the trade book sees it."""

    owner: str  # ntlab id
    symbol: str
    side: Side
    executed: Decimal = Decimal(0)
    allocated: Decimal = Decimal(0)
    seq: int = 0

    @property
    def room(self) -> Decimal:
        return self.executed - self.allocated


@dataclass
class TradeBook:
    """Joins Lime's trades to its orders (see the module's note) and hands out each fill once."""

    slots: dict[str, Slot] = field(default_factory=dict)  # Lime order id -> slot
    trades: dict[str, Trade] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # trade id -> Lime order id
    pending: list[str] = field(default_factory=list)

    def order(self, data: dict[str, Any]) -> list[Fill]:
        lime_id = str(data["client_id"])
        slot = self.slots.get(lime_id)
        if slot is None:
            slot = Slot(
                ntlab_id(data), str(data["symbol"]), SIDE[str(data["order_side"])], seq=len(self.slots)
            )
            self.slots[lime_id] = slot
        slot.executed = max(slot.executed, dec(data.get("executed_quantity")) or Decimal(0))
        return self._allocate()

    def trade(self, trade: Trade) -> list[Fill]:
        if trade.trade_id not in self.trades:
            self.trades[trade.trade_id] = trade
            self.pending.append(trade.trade_id)
        return self._allocate()

    def _allocate(self) -> list[Fill]:
        made: list[Fill] = []
        waiting = sorted(self.pending, key=lambda t: (self.trades[t].time, self.trades[t].trade_id))
        for trade_id in waiting:
            trade = self.trades[trade_id]
            fits = [
                (lime_id, s)
                for lime_id, s in self.slots.items()
                if s.symbol == trade.symbol and s.side is trade.side and s.room >= trade.quantity
            ]
            if not fits:
                continue
            exact = [f for f in fits if f[1].room == trade.quantity]
            lime_id, slot = min(exact or fits, key=lambda f: f[1].seq)
            slot.allocated += trade.quantity
            self.owner[trade_id] = lime_id
            self.pending.remove(trade_id)
            made.append(self.fill(trade_id))
        return made

    def fill(self, trade_id: str) -> Fill:
        trade = self.trades[trade_id]
        slot = self.slots[self.owner[trade_id]]
        return Fill(
            fill_id=trade.trade_id,
            order_id=slot.owner,
            symbol=trade.symbol,
            side=trade.side,
            quantity=trade.quantity,
            price=trade.price,
            time=trade.time,
            venue=VENUE,
        )

    def fills(self) -> list[Fill]:
        return [self.fill(t) for t in self.owner]

    def settled(self, lime_id: str) -> bool:
        """Every execution of this order has its trade (so its final state may be told)."""
        slot = self.slots.get(lime_id)
        return slot is None or slot.room <= 0
