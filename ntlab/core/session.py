"""The session's state — orders, fills, positions — and the journal records it is rebuilt from.

Both the live manager and journal replay go through the same methods here, so a restarted session is the
same session: there is one way state changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ntlab.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.journal import JournalEvent, read_events
from ntlab.core.lifecycle import OrderState, Outcome, apply_status, apply_update
from ntlab.core.models import Fill, Order, OrderRequest, OrderUpdate, Quote
from ntlab.core.positions import PositionBook
from ntlab.errors import OrderDenied

log = logging.getLogger(__name__)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SessionState:
    """Orders by id, the fill log and positions. Not thread-safe: the manager's actor owns it."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderState] = {}
        self.fills: list[Fill] = []
        self.positions = PositionBook()

    # --- changes -------------------------------------------------------------------------------------
    def new_order(
        self, order_id: str, request: OrderRequest, now: datetime, quote: Quote | None
    ) -> OrderState:
        fields = request.__dict__  # read once: attribute reads on pydantic models are several times dearer
        state = OrderState(  # positional: this runs for every order
            order_id,
            fields["symbol"],
            fields["side"],
            fields["quantity"],
            fields["order_type"],
            fields["time_in_force"],
            now,
            fields["limit_price"],
            fields["stop_price"],
            arrival_bid=quote.bid if quote is not None else None,
            arrival_ask=quote.ask if quote is not None else None,
            parent_id=fields["parent_id"],
            tag=fields["tag"],
            venue=fields["venue"],
        )
        self.orders[order_id] = state
        return state

    def deny(self, state: OrderState, error: OrderDenied) -> None:
        state.changed()
        state.status = OrderStatus.REJECTED
        state.reason_code = error.reason.value
        state.reason = str(error.args[0])

    def apply(self, state: OrderState, update: OrderUpdate) -> list[Outcome]:
        outcomes = apply_update(state, update)
        for outcome in outcomes:
            if outcome.fill is not None:
                self.fills.append(outcome.fill)
                self.positions.apply(outcome.fill)
        if update.status is OrderStatus.REJECTED and update.reason and state.status is OrderStatus.REJECTED:
            state.changed()
            state.reason_code = state.reason_code or "broker_rejected"
        return outcomes

    def request_cancel(self, state: OrderState, now: datetime) -> Outcome:
        return apply_status(state, OrderStatus.PENDING_CANCEL, now)

    def replay(self, events: Iterable[JournalEvent]) -> tuple[bool, str | None]:
        """Rebuild from journal events; returns whether there were any and the halt reason left standing."""
        seen = False
        halted: str | None = None
        for event in events:
            seen = True
            kind, order_id = event.kind, event.order_id
            if kind in ("request", "denied", "adopted"):
                assert order_id is not None
                self.orders[order_id] = order_from_record(order_id, event.data)
            elif kind in ("update", "fill", "cancel_request"):
                target = self.orders.get(order_id or "")
                if target is None:
                    continue
                if kind == "cancel_request":
                    self.request_cancel(target, datetime.fromisoformat(event.data["time"]))
                else:
                    self.apply(target, update_from_record(target.order_id, event.data))
            elif kind == "halt":
                halted = event.data["reason"]
            elif kind == "resume":
                halted = None
        return seen, halted

    def adopt(self, order: Order) -> OrderState:
        """Take in an order the broker holds that this session never placed."""
        state = OrderState(
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=order.quantity,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            created_at=order.created_at,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            status=OrderStatus.ACCEPTED,
            broker_order_id=order.broker_order_id,
            updated_at=order.updated_at,
            external=True,
            venue=order.venue,
            tag=order.tag,
        )
        self.orders[order.order_id] = state
        return state


# --- journal records ---------------------------------------------------------------------------------


def order_record(state: OrderState) -> dict[str, Any]:
    """Everything needed to recreate an order as it was placed (or adopted); fields left out are empty.

    Enums and datetimes go in as they are: the journal's encoder writes them as their values and ISO text.
    """
    record: dict[str, Any] = {
        "symbol": state.symbol,
        "side": state.side,
        "quantity": str(state.quantity),
        "order_type": state.order_type,
        "time_in_force": state.time_in_force,
        "created_at": state.created_at,
        "status": state.status,
    }
    if state.limit_price is not None:
        record["limit_price"] = str(state.limit_price)
    if state.stop_price is not None:
        record["stop_price"] = str(state.stop_price)
    if state.arrival_bid is not None:
        record["arrival_bid"] = str(state.arrival_bid)
    if state.arrival_ask is not None:
        record["arrival_ask"] = str(state.arrival_ask)
    if state.parent_id is not None:
        record["parent_id"] = state.parent_id
    if state.tag is not None:
        record["tag"] = state.tag
    if state.venue is not None:
        record["venue"] = state.venue
    if state.broker_order_id is not None:
        record["broker_order_id"] = state.broker_order_id
    if state.reason_code is not None:
        record["reason_code"] = state.reason_code
    if state.reason is not None:
        record["reason"] = state.reason
    if state.external:
        record["external"] = True
    return record


def order_from_record(order_id: str, data: dict[str, Any]) -> OrderState:
    created = datetime.fromisoformat(data["created_at"])
    get = data.get
    return OrderState(
        order_id=order_id,
        symbol=data["symbol"],
        side=Side(data["side"]),
        quantity=Decimal(data["quantity"]),
        order_type=OrderType(data["order_type"]),
        time_in_force=TimeInForce(data["time_in_force"]),
        created_at=created,
        updated_at=created,
        limit_price=_dec(get("limit_price")),
        stop_price=_dec(get("stop_price")),
        arrival_bid=_dec(get("arrival_bid")),
        arrival_ask=_dec(get("arrival_ask")),
        parent_id=get("parent_id"),
        tag=get("tag"),
        venue=get("venue"),
        external=bool(get("external")),
        broker_order_id=get("broker_order_id"),
        status=OrderStatus(get("status", "pending")),
        reason_code=get("reason_code"),
        reason=get("reason"),
    )


def update_record(update: OrderUpdate) -> dict[str, Any]:
    """A broker report as the journal keeps it: only the fields it carries."""
    fields = update.__dict__  # read once: attribute reads on pydantic models are several times dearer
    record: dict[str, Any] = {}
    if fields["status"] is not None:
        record["status"] = fields["status"]
    if fields["time"] is not None:
        record["time"] = fields["time"]
    if fields["broker_order_id"] is not None:
        record["broker_order_id"] = fields["broker_order_id"]
    if fields["reason"] is not None:
        record["reason"] = fields["reason"]
    if fields["cancel_rejected"]:
        record["cancel_rejected"] = True
    fill = fields["fill"]
    if fill is not None:
        f = fill.__dict__
        record["fill"] = {
            "fill_id": f["fill_id"],
            "symbol": f["symbol"],
            "side": f["side"],
            "quantity": str(f["quantity"]),
            "price": str(f["price"]),
            "time": f["time"],
            "fee": str(f["fee"]),
            "liquidity": f["liquidity"],
            "venue": f["venue"],
        }
    return record


def update_from_record(order_id: str, data: dict[str, Any]) -> OrderUpdate:
    fill = None
    raw = data.get("fill")
    if raw is not None:
        fill = Fill.model_construct(
            fill_id=raw["fill_id"],
            order_id=order_id,
            symbol=raw["symbol"],
            side=Side(raw["side"]),
            quantity=Decimal(raw["quantity"]),
            price=Decimal(raw["price"]),
            time=datetime.fromisoformat(raw["time"]),
            fee=Decimal(raw["fee"]),
            liquidity=None if raw.get("liquidity") is None else Liquidity(raw["liquidity"]),
            venue=raw.get("venue"),
        )
    status = data.get("status")
    return OrderUpdate.model_construct(
        order_id=order_id,
        status=None if status is None else OrderStatus(status),
        fill=fill,
        broker_order_id=data.get("broker_order_id"),
        reason=data.get("reason"),
        cancel_rejected=bool(data.get("cancel_rejected")),
        time=_time(data.get("time")),
    )


def load_session(path: str | Path) -> SessionState:
    """The orders, fills and positions a journal file records, without a broker or a running manager."""
    state = SessionState()
    state.replay(read_events(path))
    return state
