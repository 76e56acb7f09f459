"""The order state machine: one table of legal transitions, and the rules that apply each kind of report.

Real brokers report out of order, twice, and late. The rules accept the real-world edges (a fill before the
ack, a fill after a cancel request, a late ack after fills, a rejected cancel or replace) and refuse the
rest without touching state: an illegal transition, a late ack or a duplicate fill leaves the order exactly
as it was. Fills are facts: they are booked even when they exceed the order (flagged ``overfilled``) or
arrive after it was closed, because positions must equal the broker's truth.

An order's snapshot (:class:`~ntlab.core.records.Order`) is immutable; each change makes a new one, so a
snapshot handed out never moves under its reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ntlab.core.enums import OrderStatus
from ntlab.core.fields import replacer
from ntlab.core.records import ZERO, Fill, Order
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    FeeCharged,
    Filled,
    OrderUpdate,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
    Triggered,
)

log = logging.getLogger(__name__)

S = OrderStatus
# the statuses read per report, bound to module names (see ntlab.core.enums)
_PENDING, _ACCEPTED, _PARTIALLY_FILLED, _FILLED = S.PENDING, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED
_CANCELLED, _REJECTED, _EXPIRED = S.CANCELLED, S.REJECTED, S.EXPIRED
_PENDING_CANCEL, _PENDING_REPLACE = S.PENDING_CANCEL, S.PENDING_REPLACE

# The changes the rules make, each a copy of the snapshot with a few fields set (see fields.replacer)
_acked = replacer(Order, "status", "updated_at", "broker_order_id")
_learned = replacer(Order, "broker_order_id")
_moved = replacer(Order, "status", "updated_at", "reason")
_refused = replacer(Order, "status", "updated_at", "reason", "reason_code")
_touched = replacer(Order, "updated_at")
_filled = replacer(Order, "status", "filled_quantity", "avg_fill_price", "fees", "updated_at", "overfilled")
_retrailed = replacer(Order, "trail_price", "trail_percent")
_changed = replacer(
    Order, "quantity", "limit_price", "stop_price", "broker_order_id", "updated_at", "status", "overfilled"
)

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
    # A replace in flight can see fills, be cancelled, and returns to accepted/partially filled when done.
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


class ReplaceChange(NamedTuple):
    """What a replace asks to change (None = keep). ``trail`` is a trailing stop's new distance, in the
    order's own terms: a price for a ``trail_price`` order, a percentage for a ``trail_percent`` one."""

    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail: Decimal | None = None


@dataclass(slots=True)
class OrderState:
    """The manager's record of one order: its current snapshot and the bookkeeping behind it.

    Owned by the manager's actor task; nobody else holds it (venues get the immutable snapshot).
    """

    order: Order
    fill_ids: tuple[str, ...] = ()  # most orders fill a few times: a tuple is a fraction of a set's size
    filled_notional: Decimal = ZERO
    in_flight: bool = False  # a submit is on its way to the broker: reconciliation keeps its hands off

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def status(self) -> OrderStatus:
        return self.order.status


class Outcome(NamedTuple):
    """What applying a report did, so the manager knows what to journal and announce."""

    changed: bool
    fill: Fill | None = None
    overfill: bool = False
    note: str | None = None


CHANGED = Outcome(True)
FEE_FOR_THE_SESSION = Outcome(False, note="a fee amends a booked fill: SessionState.apply books it")


def unchanged(note: str) -> Outcome:
    return Outcome(False, note=note)


def _working(filled: Decimal, quantity: Decimal) -> OrderStatus:
    """Where a working order (no cancel or replace pending) stands given its executions (a quantity of 0:
    a notional order not yet sized, which only the broker can call filled)."""
    if filled >= quantity and quantity:
        return _FILLED
    return _PARTIALLY_FILLED if filled > 0 else _ACCEPTED


def book_fill(state: OrderState, fill: Fill) -> Outcome:
    """Book an execution, deduplicated by fill id. One that takes the order past its quantity is booked
    and flagged (the broker's positions include it); one on a closed order is booked and logged."""
    if fill.fill_id in state.fill_ids:
        return unchanged("duplicate fill")
    quantity, price = fill.quantity, fill.price
    if quantity <= 0 or price <= 0:
        log.warning("order %s: ignored fill %s of %s at %s", state.order_id, fill.fill_id, quantity, price)
        return unchanged("non-positive fill")
    order = state.order
    first = not order.filled_quantity  # most orders fill once: keep that fill's own values
    filled = quantity if first else order.filled_quantity + quantity
    state.fill_ids += (fill.fill_id,)
    state.filled_notional = quantity * price if first else state.filled_notional + quantity * price
    overfill = filled > order.quantity
    if overfill:
        if not order.quantity and order.notional is not None:
            return _book_unsized(state, fill, filled, price if first else state.filled_notional / filled)
        log.error(
            "order %s: fill %s of %s takes it to %s of %s: booked as an overfill",
            order.order_id,
            fill.fill_id,
            quantity,
            filled,
            order.quantity,
        )
    status = order.status
    if status.is_open:
        status = _FILLED if filled >= order.quantity else _partial(status)
    else:
        log.warning("order %s: late fill %s booked on a %s order", order.order_id, fill.fill_id, status.value)
    state.order = _filled(
        order,
        status,
        filled,
        price if first else state.filled_notional / filled,
        fill.fee if not order.fees else order.fees + fill.fee,
        fill.time,
        order.overfilled or overfill,
    )
    return Outcome(True, fill=fill, overfill=overfill)


def _book_unsized(state: OrderState, fill: Fill, filled: Decimal, average: Decimal) -> Outcome:
    """A fill of a notional order the broker has not sized yet: no quantity to be over, and not done until
    the broker gives the quantity (a Replaced) or closes the order."""
    order = state.order
    status = order.status
    if status.is_open:
        status = _partial(status)
    else:
        log.warning("order %s: late fill %s booked on a %s order", order.order_id, fill.fill_id, status.value)
    state.order = _filled(order, status, filled, average, order.fees + fill.fee, fill.time, order.overfilled)
    return Outcome(True, fill=fill)


def _partial(status: OrderStatus) -> OrderStatus:
    return status if status in (_PENDING_CANCEL, _PENDING_REPLACE) else _PARTIALLY_FILLED


def move(state: OrderState, status: OrderStatus, when: datetime, reason: str | None = None) -> Outcome:
    """Move to ``status`` if the table allows it; otherwise log and keep the current state."""
    order = state.order
    if status is order.status and status not in (_PENDING_CANCEL, _PENDING_REPLACE):
        return unchanged("unchanged")
    if not can_transition(order.status, status):
        log.info("order %s: ignored transition %s -> %s", order.order_id, order.status.value, status.value)
        return unchanged(f"illegal {order.status.value} -> {status.value}")
    state.order = _moved(order, status, when, reason or order.reason)
    return CHANGED


def _back(state: OrderState, pending: OrderStatus, when: datetime, reason: str) -> Outcome:
    """A refused cancel or replace puts the order back where its executions say it is."""
    order = state.order
    if order.status is not pending:
        return unchanged(f"no {pending.value} to refuse")
    state.order = _moved(order, _working(order.filled_quantity, order.quantity), when, reason)
    return CHANGED


def _replaced(state: OrderState, report: Replaced) -> Outcome:
    order = state.order
    if order.status.is_final:
        return unchanged(f"replace of a {order.status.value} order")
    quantity = report.quantity if report.quantity is not None else order.quantity
    status = _working(order.filled_quantity, quantity)
    if order.status is _PENDING_CANCEL and status is not _FILLED:
        status = _PENDING_CANCEL  # a cancel sent after the replace is still to be answered
    state.order = _changed(
        order,
        quantity,
        report.limit_price if report.limit_price is not None else order.limit_price,
        report.stop_price if report.stop_price is not None else order.stop_price,
        report.broker_order_id or order.broker_order_id,
        report.time,
        status,
        order.overfilled or order.filled_quantity > quantity,
    )
    if report.trail is not None:  # a trailing stop's new distance, in the terms it trails by
        changed = state.order
        if changed.trail_percent is not None:
            state.order = _retrailed(changed, None, report.trail)
        else:
            state.order = _retrailed(changed, report.trail, None)
    return CHANGED


def apply(state: OrderState, report: OrderUpdate) -> Outcome:
    """Apply one broker report to an order."""
    match report:
        case Filled(fill=fill):
            return book_fill(state, fill)
        case Accepted(time=when, broker_order_id=broker_id):
            order = state.order
            learned = bool(broker_id) and not order.broker_order_id
            if order.status is _PENDING:
                state.order = _acked(order, _ACCEPTED, when, broker_id or order.broker_order_id)
                return CHANGED
            if learned:  # a late ack still tells the broker's id
                state.order = _learned(order, broker_id)
                return CHANGED
            log.debug("order %s: late ack ignored (already %s)", order.order_id, order.status.value)
            return unchanged("late ack")
        case Rejected(time=when, reason=reason, code=code):
            if not can_transition(state.order.status, _REJECTED):
                return move(state, _REJECTED, when, reason)  # refused and logged there
            state.order = _refused(state.order, _REJECTED, when, reason, code)
            return CHANGED
        case Triggered(time=when):
            if state.order.status.is_final:
                return unchanged("trigger of a closed order")
            state.order = _touched(state.order, when)
            return CHANGED
        case PendingCancel(time=when):
            return move(state, _PENDING_CANCEL, when)
        case Cancelled(time=when, reason=reason):
            return move(state, _CANCELLED, when, reason)
        case Expired(time=when, reason=reason):
            return move(state, _EXPIRED, when, reason)
        case CancelRejected(time=when, reason=reason):
            return _back(state, _PENDING_CANCEL, when, reason)
        case ReplaceRejected(time=when, reason=reason):
            return _back(state, _PENDING_REPLACE, when, reason)
        case Replaced():
            return _replaced(state, report)
        case FeeCharged():  # it amends a booked fill, which the session holds: SessionState.apply does it
            return FEE_FOR_THE_SESSION
    raise TypeError(f"not a broker report: {report!r}")
