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


_pack_order = fields.packer(Order)
_unpack_order = fields.unpacker(Order)
_WIDTH = len(Order._fields)  # a packed order: its fields, then its filled notional, then its fill ids
_CREATED, _STATUS = Order._fields.index("created_at"), Order._fields.index("status")
_STATUSES = {status.value: status for status in OrderStatus}


class Orders:
    """The session's orders by id, in the order they were placed.

    A finished order is kept packed (:func:`ntlab.core.fields.packer`): an exact tuple of plain values, which
    CPython's collector does not track, so a session holding a million finished orders does not make every
    full collection walk a million records. It is rebuilt when read, and comes back to life when a report
    changes it (a late fill, a posted fee).
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, OrderState | tuple[Any, ...]] = {}

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, state: OrderState) -> None:
        self._entries[state.order.order_id] = state

    def get(self, order_id: str) -> OrderState | None:
        """The order's state, to change it (a packed one is rebuilt and kept live until packed again)."""
        entry = self._entries.get(order_id)
        if entry is None or isinstance(entry, OrderState):
            return entry
        state = _revive(entry)
        self._entries[order_id] = state
        return state

    def __getitem__(self, order_id: str) -> OrderState:
        state = self.get(order_id)
        if state is None:
            raise KeyError(order_id)
        return state

    def peek(self, order_id: str) -> OrderState | None:
        """The order's state, for reading: a packed order is rebuilt but stays packed."""
        entry = self._entries.get(order_id)
        if entry is None or isinstance(entry, OrderState):
            return entry
        return _revive(entry)

    def order(self, order_id: str) -> Order | None:
        """The order's snapshot, for reading: a packed order stays packed."""
        entry = self._entries.get(order_id)
        if entry is None or isinstance(entry, OrderState):
            return None if entry is None else entry.order
        return _unpack_order(entry)

    def status(self, order_id: str) -> OrderStatus | None:
        """The order's status alone: read straight from a packed order, without rebuilding it."""
        entry = self._entries.get(order_id)
        if entry is None or isinstance(entry, OrderState):
            return None if entry is None else entry.order.status
        return _STATUSES[entry[_STATUS]]

    def snapshots(self) -> Iterator[Order]:
        for entry in self._entries.values():
            yield entry.order if isinstance(entry, OrderState) else _unpack_order(entry)

    def live(self) -> Iterator[OrderState]:
        """The orders not packed: every open order, and those finished since they were last packed."""
        for entry in self._entries.values():
            if isinstance(entry, OrderState):
                yield entry

    def earliest(self) -> datetime | None:
        """When the session's first order was created (None before any)."""
        for entry in self._entries.values():
            return entry.order.created_at if isinstance(entry, OrderState) else entry[_CREATED]
        return None

    def pack(self, state: OrderState) -> None:
        """Keep a finished order packed (an order whose submit is in flight, or reopened, stays live)."""
        order = state.order
        if order.status.is_final and not state.in_flight and self._entries.get(order.order_id) is state:
            self._entries[order.order_id] = _pack_order(order, state.filled_notional, *state.fill_ids)


def _revive(packed: tuple[Any, ...]) -> OrderState:
    return OrderState(_unpack_order(packed), packed[_WIDTH + 1 :], packed[_WIDTH])


class SessionState:
    """Orders by id, the fill log and positions. Not thread-safe: the manager's actor owns it."""

    def __init__(self) -> None:
        self.orders = Orders()
        self.fills: list[Fill] = []
        self.positions = PositionBook()
        self.children: dict[str, list[str]] = {}  # parent id -> child order ids, in placing order

    # --- changes -------------------------------------------------------------------------------------
    def add(self, order: Order) -> OrderState:
        """Take in a new order (placed, denied or adopted)."""
        state = OrderState(order)
        self.orders.add(state)
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
        for state in list(self.orders.live()):
            self.orders.pack(state)
        return seen, halted

    def snapshots(self) -> Iterator[Order]:
        return self.orders.snapshots()


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
