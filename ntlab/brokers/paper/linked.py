"""Orders that move together on the paper venue: a bracket's or oto's exits, and one-cancels-other groups.

- An entry's exits are held until it has filled, then start working and meet the quote in force like new
  arrivals. An entry that ends partly filled (cancelled or expired) hands them its filled quantity; one that
  ends with nothing filled cancels them. A replace of the entry's quantity resizes exits still held.
- The members of a one-cancels-other group (a bracket's two exits, an oco order and its stop-loss) close
  one position: when one fills, the others are cut so that none has more left than it, and a member left
  with nothing is cancelled. Cancelling one member cancels the group.

What happens to an order here besides its own fills (resized, cancelled, expired) is a :class:`Link`; the
venue turns each into the report the manager gets, in time order with the fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ntlab.core.enums import OrderStatus, TimeInForce

if TYPE_CHECKING:
    from ntlab.brokers.paper.book import Execution, SymbolBook, VenueOrder


@dataclass(slots=True)
class Link:
    """An order resized (``quantity``) or closed (``status``, ``reason``) because of an order linked to it."""

    order: VenueOrder
    time_ns: int
    quantity: Decimal | None = None
    status: OrderStatus | None = None
    reason: str | None = None


Happened = list["Execution | Link"]


def after_fill(
    book: SymbolBook, order: VenueOrder, now_ns: int, slippage_bps: Decimal, out: Happened
) -> bool:
    """An order with links has just filled (in part). Returns whether orders started working."""
    started = False
    if order.oco:
        _cut(book, order, now_ns, out)
    if order.exits and order.remaining <= 0:
        started = _release(book, order, now_ns, slippage_bps, out)
    return started


def after_close(
    book: SymbolBook,
    order: VenueOrder,
    now_ns: int,
    slippage_bps: Decimal,
    out: Happened,
    *,
    cancelled: bool,
    session_over: bool = False,
) -> bool:
    """An order with links has closed without filling all of it (``cancelled`` by its owner, or expired)."""
    if order.oco and cancelled:
        for other in order.oco:
            _close(other, OrderStatus.CANCELLED, f"oco: {order.order_id} was cancelled", now_ns, book, out)
    if not order.exits:
        return False
    if order.filled <= 0:
        why = f"its entry {order.order_id} ended unfilled"
        for leg in order.exits:
            _close(leg, OrderStatus.CANCELLED, why, now_ns, book, out)
        return False
    for leg in order.exits:
        if leg.held and leg.quantity != order.filled:
            _resize(leg, order.filled, now_ns, out)
    return _release(book, order, now_ns, slippage_bps, out, session_over=session_over)


def after_resize(order: VenueOrder, now_ns: int, out: Happened) -> None:
    """An entry's quantity was replaced: its exits still held follow it."""
    for leg in order.exits or ():
        if leg.held and leg.status.is_open and leg.quantity != order.quantity:
            _resize(leg, order.quantity, now_ns, out)


def _release(
    book: SymbolBook,
    entry: VenueOrder,
    now_ns: int,
    slippage_bps: Decimal,
    out: Happened,
    *,
    session_over: bool = False,
) -> bool:
    """The entry's held exits start working now, each meeting the quote in force as a new arrival would."""
    started = False
    assert entry.exits is not None
    for leg in entry.exits:
        if not leg.held or leg.status.is_final:
            continue
        leg.held = False
        leg.active_ns = leg.updated_ns = now_ns
        if session_over and leg.time_in_force is not TimeInForce.GTC:
            _close(leg, OrderStatus.EXPIRED, "day order expired at the close", now_ns, book, out)
            continue
        if not leg.triggered:
            leg.triggered = book.touches(leg)
        if leg.triggered and not session_over:
            execution = book.take(leg, now_ns, slippage_bps)
            if execution is not None:
                out.append(execution)
                if leg.oco:
                    _cut(book, leg, now_ns, out)
        if leg.remaining > 0 and leg.status.is_open:
            book.resting.add(leg)
            started = True
    return started


def _cut(book: SymbolBook, member: VenueOrder, now_ns: int, out: Happened) -> None:
    """A member of an oco group filled: no other member may have more left than it does."""
    left = member.remaining
    for other in member.oco or ():
        if other.status.is_final:
            continue
        if left <= 0:
            _close(other, OrderStatus.CANCELLED, f"oco: {member.order_id} filled", now_ns, book, out)
        elif other.remaining > left:
            _resize(other, other.filled + left, now_ns, out)


def _resize(order: VenueOrder, quantity: Decimal, now_ns: int, out: Happened) -> None:
    order.quantity = quantity
    order.updated_ns = now_ns
    out.append(Link(order, now_ns, quantity=quantity))


def _close(
    order: VenueOrder,
    status: OrderStatus,
    reason: str,
    now_ns: int,
    book: SymbolBook,
    out: Happened,
) -> None:
    if order.status.is_final:
        return
    order.status = status
    order.reason = reason
    order.updated_ns = now_ns
    order.held = False
    book.resting.remove(order)
    out.append(Link(order, now_ns, status=status, reason=reason))
