"""Reconciliation: bring the session in line with the broker's truth.

Run on start (after replaying the journal) and whenever an adapter asks (its stream reconnected). It
recovers fills and final states the session missed, adopts orders the broker holds that the session never
placed (marked ``external``), and closes orders that never reached the broker. It never touches an order
whose submit is still in flight: that submit's own answer (or its lookup) settles it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ntlab.core.broker import Broker
from ntlab.core.enums import OrderStatus
from ntlab.core.records import Fill, Order
from ntlab.core.reports import Filled, OrderUpdate
from ntlab.core.session import SessionState
from ntlab.core.submit import broker_truth

NEVER_ARRIVED = "never reached the broker before the session stopped; not resubmitted"


@dataclass(slots=True)
class ReconcileReport:
    """What one reconciliation did."""

    checked: int = 0
    fills_recovered: int = 0
    closed: int = 0
    adopted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "fills_recovered": self.fills_recovered,
            "closed": self.closed,
            "adopted": self.adopted,
        }


@dataclass(slots=True)
class Actions:
    """How reconciliation changes the session: through the manager's actor, like every other change."""

    apply: Callable[[Sequence[OrderUpdate]], Awaitable[None]]
    adopt: Callable[[Order], Awaitable[bool]]
    close_unsent: Callable[[str, str], Awaitable[bool]]


async def reconcile(state: SessionState, broker: Broker, act: Actions) -> ReconcileReport:
    """One pass: the broker's open orders in one call, a lookup only for the session's open orders the
    broker no longer lists (they finished, or never arrived), the fills since the session's first order."""
    report = ReconcileReport()
    open_ids = [s.order_id for s in state.orders.live() if s.status.is_open and not s.in_flight]
    since = state.orders.earliest()
    broker_open = {o.order_id: o for o in await broker.open_orders()}
    broker_fills: list[Fill] | None = None
    updates: list[OrderUpdate] = []
    for order_id in open_ids:
        report.checked += 1
        found = broker_open.get(order_id) or await broker.lookup_order(order_id)
        current = state.orders.peek(order_id)
        assert current is not None  # orders are never removed
        if current.in_flight:  # a submit started while we asked
            continue
        if found is None:
            if current.status is OrderStatus.PENDING and await act.close_unsent(order_id, NEVER_ARRIVED):
                report.closed += 1
            continue
        fills: Sequence[Fill] = ()
        if found.filled_quantity > current.order.filled_quantity:
            if broker_fills is None:
                broker_fills = await broker.fills_since(since)
            fills = broker_fills
        now = state.orders.peek(order_id)  # as it stands after the awaits
        truth = broker_truth(found, order_id, fills, now.fill_ids if now is not None else ())
        report.fills_recovered += sum(1 for r in truth if isinstance(r, Filled))
        updates.extend(truth)
    if updates:
        await act.apply(updates)
    known = set(state.orders)
    for order in broker_open.values():
        if order.order_id not in state.orders and await act.adopt(order):
            report.adopted += 1
    # Orders placed elsewhere that traded, open or already closed, moved the positions too: adopt the
    # closed ones as well, then book every fill of an order this session did not know.
    foreign = [f for f in await broker.fills_since(since) if f.order_id not in known]
    booked: list[OrderUpdate] = []
    for order_id in dict.fromkeys(f.order_id for f in foreign):
        found = broker_open.get(order_id)
        if order_id not in state.orders:
            found = await broker.lookup_order(order_id)
            if found is not None and await act.adopt(found):
                report.adopted += 1
        if found is not None:
            truth = broker_truth(found, order_id, foreign, ())
            report.fills_recovered += sum(1 for r in truth if isinstance(r, Filled))
            booked.extend(truth)
    if booked:
        await act.apply(booked)
    return report
