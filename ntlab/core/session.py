"""The session's state — orders, fills, positions — and the journal records it is rebuilt from.

The live manager and journal replay go through the same methods here, so a restarted session is the same
session: there is one way state changes. Records are the core's own (:mod:`ntlab.core.fields` encodes
them), reports are journaled under their kind (``accepted``, ``filled``, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ntlab.core import fields
from ntlab.core.enums import OrderStatus
from ntlab.core.fields import replacer
from ntlab.core.journal import JournalEvent, read_events
from ntlab.core.lifecycle import (
    CHANGED,
    FEE_FOR_THE_SESSION,
    OrderState,
    Outcome,
    ReplaceChange,
    apply,
    move,
    unchanged,
)
from ntlab.core.positions import PositionBook
from ntlab.core.records import Fill, Order
from ntlab.core.reports import BY_KIND, KINDS, FeeCharged, OrderUpdate

log = logging.getLogger(__name__)

ORDER_KINDS = frozenset({"request", "denied", "adopted"})
"""Journal kinds that carry a whole order record."""
OWN_KINDS = ORDER_KINDS | set(BY_KIND) | {"cancel_request", "replace_request", "halt", "resume", "session"}
"""Every kind the manager journals itself; other components pick other names."""


class SessionState:
    """Orders by id, the fill log and positions. Not thread-safe: the manager's actor owns it."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderState] = {}
        self.fills: list[Fill] = []
        self.positions = PositionBook()
        self.children: dict[str, list[str]] = {}  # parent id -> child order ids, in placing order

    # --- changes -------------------------------------------------------------------------------------
    def add(self, order: Order) -> OrderState:
        """Take in a new order (placed, denied or adopted)."""
        state = self.orders[order.order_id] = OrderState(order)
        if order.parent_id is not None:
            self.children.setdefault(order.parent_id, []).append(order.order_id)
        return state

    def apply(self, state: OrderState, report: OrderUpdate) -> Outcome:
        outcome = apply(state, report)
        fill = outcome.fill
        if fill is not None:
            self.fills.append(fill)
            self.positions.apply(fill)
        elif outcome is FEE_FOR_THE_SESSION:
            return self.charge(state, report)  # type: ignore[arg-type]
        return outcome

    def charge(self, state: OrderState, report: FeeCharged) -> Outcome:
        """A fee posted for a fill already booked: the fill, the order's fees and the position's fees take
        the new figure. A fill the session does not hold is logged and left alone."""
        if report.fill_id not in state.fill_ids:
            log.warning(
                "fee %s for fill %s of order %s ignored: the session booked no such fill",
                report.fee,
                report.fill_id,
                report.order_id,
            )
            return unchanged("fee for an unknown fill")
        fills = self.fills
        at = next(i for i in range(len(fills) - 1, -1, -1) if fills[i].fill_id == report.fill_id)
        booked = fills[at]
        change = report.fee - booked.fee
        if not change:
            return unchanged("the fee booked already")
        fills[at] = _fee_of(booked, report.fee)
        state.order = _fees_of(state.order, state.order.fees + change)
        self.positions.charge(booked.symbol, change)
        return CHANGED

    @staticmethod
    def request_cancel(state: OrderState, when: datetime) -> Outcome:
        return move(state, OrderStatus.PENDING_CANCEL, when)

    @staticmethod
    def request_replace(state: OrderState, when: datetime) -> Outcome:
        return move(state, OrderStatus.PENDING_REPLACE, when)

    # --- rebuilding ----------------------------------------------------------------------------------
    def replay(self, events: Iterable[JournalEvent]) -> tuple[bool, str | None]:
        """Rebuild from journal events; returns whether there were any and the halt reason left standing."""
        seen = False
        halted: str | None = None
        for event in events:
            seen = True
            kind, order_id = event.kind, event.order_id
            if kind in ORDER_KINDS:
                assert order_id is not None
                self.add(order_from_record(order_id, event.data))
                continue
            state = self.orders.get(order_id or "")
            report_type = BY_KIND.get(kind)
            if report_type is not None:
                if state is not None:
                    self.apply(state, report_from_record(report_type, order_id or "", event.data))
            elif kind == "cancel_request" and state is not None:
                self.request_cancel(state, datetime.fromisoformat(event.data["time"]))
            elif kind == "replace_request" and state is not None:
                self.request_replace(state, datetime.fromisoformat(event.data["time"]))
            elif kind == "halt":
                halted = event.data["reason"]
            elif kind == "resume":
                halted = None
        return seen, halted

    def snapshots(self) -> Iterator[Order]:
        return (state.order for state in self.orders.values())


_fee_of = replacer(Fill, "fee")
_fees_of = replacer(Order, "fees")

# --- journal records ---------------------------------------------------------------------------------


order_record = fields.encoder(Order, omit=("order_id",))
"""An order as the journal keeps it: its fields that differ from the defaults, without the id (the row has it)."""


def order_from_record(order_id: str, data: dict[str, Any]) -> Order:
    return fields.decode(Order, {**data, "order_id": order_id})


_REPORT_RECORDS = {cls: (kind, fields.encoder(cls, omit=("order_id",))) for cls, kind in KINDS.items()}


def report_record(report: OrderUpdate) -> tuple[str, str, dict[str, Any]]:
    """(kind, order id, data) for a report: the journal row holds the id, so the data leaves it out."""
    kind, encode = _REPORT_RECORDS[type(report)]
    return kind, report.order_id, encode(report)


def report_from_record(report_type: type[OrderUpdate], order_id: str, data: dict[str, Any]) -> OrderUpdate:
    return fields.decode(report_type, {**data, "order_id": order_id})


def replace_record(when: datetime, change: ReplaceChange) -> dict[str, Any]:
    return {"time": when} | {k: v for k, v in change._asdict().items() if v is not None}


def load_session(path: str | Path) -> SessionState:
    """The orders, fills and positions a journal file records, without a broker or a running manager.

    Safe on a journal a live session is writing (it reads what was committed).
    """
    state = SessionState()
    state.replay(read_events(path))
    return state
