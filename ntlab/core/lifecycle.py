"""The order state machine: one table of legal transitions, and the pure rules that apply broker news.

Real brokers report out of order, twice, and late. The rules here accept the real-world edges
(fill before ack, fill after a cancel request, cancel rejected) and refuse the rest without touching state:
an illegal transition, a late ack or a duplicate fill leaves the order exactly as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.models import Fill, Order, OrderUpdate, trusted

log = logging.getLogger(__name__)

S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset(
        {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELLED, S.EXPIRED, S.PENDING_CANCEL}
    ),
    S.ACCEPTED: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.CANCELLED,
            S.EXPIRED,
            S.REJECTED,
            S.PENDING_CANCEL,
            S.PENDING_REPLACE,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.PENDING_CANCEL, S.PENDING_REPLACE}
    ),
    # A cancel request can still see fills, and a rejected cancel returns to accepted/partially filled.
    S.PENDING_CANCEL: frozenset(
        {S.PENDING_CANCEL, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}
    ),
    S.PENDING_REPLACE: frozenset(
        {
            S.PENDING_REPLACE,
            S.ACCEPTED,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.CANCELLED,
            S.EXPIRED,
            S.PENDING_CANCEL,
        }
    ),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return new in TRANSITIONS[current]


def transition_table() -> str:
    """The state machine as text, one status per line with where it may go next."""
    width = max(len(s.value) for s in OrderStatus)
    lines = []
    for status in OrderStatus:
        nexts = TRANSITIONS[status]
        targets = ", ".join(s.value for s in OrderStatus if s in nexts) or "(final)"
        lines.append(f"{status.value:<{width}} -> {targets}")
    return "\n".join(lines)


@dataclass(slots=True)
class OrderState:
    """The mutable state of one order, owned by the OrderManager's actor task."""

    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    created_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: OrderStatus = OrderStatus.PENDING
    filled_quantity: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None  # kept with the fills: read on every response and snapshot
    fees: Decimal = Decimal(0)
    broker_order_id: str | None = None
    updated_at: datetime | None = None
    reason_code: str | None = None
    reason: str | None = None
    arrival_bid: Decimal | None = None
    arrival_ask: Decimal | None = None
    parent_id: str | None = None
    tag: str | None = None
    venue: str | None = None
    external: bool = False
    fill_ids: tuple[str, ...] = ()  # most orders fill a few times: a tuple is a fraction of a set's size
    cached: Order | None = None  # the last snapshot, dropped whenever the state changes

    def changed(self) -> None:
        self.cached = None

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def snapshot(self) -> Order:
        if self.cached is not None:
            return self.cached
        self.cached = trusted(
            Order,
            {
                "order_id": self.order_id,
                "symbol": self.symbol,
                "side": self.side,
                "quantity": self.quantity,
                "order_type": self.order_type,
                "time_in_force": self.time_in_force,
                "status": self.status,
                "limit_price": self.limit_price,
                "stop_price": self.stop_price,
                "filled_quantity": self.filled_quantity,
                "avg_fill_price": self.avg_fill_price,
                "fees": self.fees,
                "broker_order_id": self.broker_order_id,
                "created_at": self.created_at,
                "updated_at": self.updated_at or self.created_at,
                "reason_code": self.reason_code,
                "reason": self.reason,
                "arrival_bid": self.arrival_bid,
                "arrival_ask": self.arrival_ask,
                "parent_id": self.parent_id,
                "tag": self.tag,
                "venue": self.venue,
                "external": self.external,
            },
        )
        return self.cached


class Outcome:
    """What applying an update did, so the manager knows what to journal and announce."""

    __slots__ = ("changed", "fill", "note")

    def __init__(self, changed: bool, fill: Fill | None = None, note: str | None = None) -> None:
        self.changed = changed
        self.fill = fill
        self.note = note


IGNORED_DUPLICATE = "duplicate fill"
CHANGED = Outcome(True)  # shared: most transitions carry nothing else, and outcomes are never modified


def _status_after_fill(order: OrderState) -> OrderStatus:
    if order.filled_quantity >= order.quantity:
        return S.FILLED
    if order.status in (S.PENDING_CANCEL, S.PENDING_REPLACE):
        return order.status
    return S.PARTIALLY_FILLED


def apply_fill(order: OrderState, fill: Fill, when: datetime | None = None) -> Outcome:
    """Book an execution: deduplicated by fill id, refused when it would overfill."""
    fill_id, quantity, price = fill.fill_id, fill.quantity, fill.price
    if fill_id in order.fill_ids:
        return Outcome(False, note=IGNORED_DUPLICATE)
    if quantity <= 0 or price <= 0:
        log.warning(
            "order %s: refused fill %s with quantity %s at %s",
            order.order_id,
            fill.fill_id,
            fill.quantity,
            fill.price,
        )
        return Outcome(False, note="non-positive fill")
    if order.filled_quantity + quantity > order.quantity:
        log.error(
            "order %s: refused fill %s of %s: would overfill (%s of %s already filled)",
            order.order_id,
            fill.fill_id,
            fill.quantity,
            order.filled_quantity,
            order.quantity,
        )
        return Outcome(False, note="overfill refused")
    order.changed()
    order.fill_ids += (fill_id,)
    # The first fill's values are taken as they are: most orders fill once, and a million orders keep a
    # million fewer Decimals that way.
    first = not order.filled_quantity
    order.filled_quantity = quantity if first else order.filled_quantity + quantity
    if first:
        order.filled_notional = quantity * price
        order.avg_fill_price = price
    else:
        order.filled_notional += quantity * price
        order.avg_fill_price = order.filled_notional / order.filled_quantity
    order.fees = fill.fee if not order.fees else order.fees + fill.fee
    order.updated_at = when or fill.time
    if order.status.is_open:
        order.status = _status_after_fill(order)
    else:
        log.warning(
            "order %s: late fill %s booked on a %s order", order.order_id, fill.fill_id, order.status.value
        )
    return Outcome(True, fill=fill)


def apply_status(
    order: OrderState, status: OrderStatus, when: datetime | None = None, reason: str | None = None
) -> Outcome:
    """Move to a reported status if the table allows it; otherwise log and keep the current state."""
    if status is order.status and status not in (S.PENDING_CANCEL, S.PENDING_REPLACE):
        return Outcome(False, note="unchanged")
    if status is S.ACCEPTED and order.filled_quantity > 0:
        # A late ack after executions: the fills already say more than the ack.
        log.info("order %s: late ack ignored (already %s)", order.order_id, order.status.value)
        return Outcome(False, note="late ack")
    if status is S.FILLED and order.filled_quantity < order.quantity:
        # "filled" without the executions: wait for the fills, they carry price and quantity.
        log.info("order %s: filled status before its fills; waiting for executions", order.order_id)
        return Outcome(False, note="filled before fills")
    if not can_transition(order.status, status):
        log.info("order %s: ignored transition %s -> %s", order.order_id, order.status.value, status.value)
        return Outcome(False, note=f"illegal {order.status.value} -> {status.value}")
    order.changed()
    order.status = status
    order.updated_at = when or order.updated_at
    if reason is not None:
        order.reason = reason
    return CHANGED


def cancel_rejected(order: OrderState, when: datetime | None = None, reason: str | None = None) -> Outcome:
    """A refused cancel puts the order back where its executions say it is."""
    if order.status is not S.PENDING_CANCEL:
        return Outcome(False, note="no cancel pending")
    order.changed()
    order.status = S.PARTIALLY_FILLED if order.filled_quantity > 0 else S.ACCEPTED
    order.updated_at = when or order.updated_at
    order.reason = reason or "cancel rejected"
    return CHANGED


def apply_update(order: OrderState, update: OrderUpdate) -> list[Outcome]:
    """Apply one broker report: the fill first (it carries facts), then the status."""
    outcomes: list[Outcome] = []
    broker_order_id, fill, status, when = update.broker_order_id, update.fill, update.status, update.time
    if broker_order_id and not order.broker_order_id:
        order.changed()
        order.broker_order_id = broker_order_id
    if fill is not None:
        outcomes.append(apply_fill(order, fill, when))
    if update.cancel_rejected:
        outcomes.append(cancel_rejected(order, when, update.reason))
    elif status is not None and not (fill is not None and status in (S.PARTIALLY_FILLED, S.FILLED)):
        outcomes.append(apply_status(order, status, when, update.reason))
    return outcomes
