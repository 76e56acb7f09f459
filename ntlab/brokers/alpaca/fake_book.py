"""The fake Alpaca's account: orders, executions, positions and cash, with Alpaca's field names and spellings.

Pure state, no I/O: the HTTP layer (``fake.py``) validates and routes; this module decides what an order
does against the quote feed at the fake's simulated time, and records every event the trade stream sends.
Orders are stored as plain dicts in Alpaca's JSON shape so what goes on the wire is what is kept here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ntlab.brokers.alpaca.fake_feed import START, QuoteFeed

CENT = Decimal("0.01")

OPEN_STATUSES = frozenset(
    {
        "new",
        "partially_filled",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "pending_cancel",
        "pending_replace",
        "stopped",
        "held",
        "calculated",
        "suspended",
        "done_for_day",
    }
)
TYPES = ("market", "limit", "stop", "stop_limit", "trailing_stop")
TIFS = ("day", "gtc", "opg", "cls", "ioc", "fok")


def iso(t: datetime | None) -> str | None:
    """Alpaca's timestamp spelling: RFC 3339 with a Z."""
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def num(value: Decimal | None) -> str | None:
    """Money and quantities travel as strings, without exponent."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


@dataclass
class FakeOrder:
    """One order with Alpaca's fields; ``to_json`` is exactly what the API returns."""

    id: str
    client_order_id: str
    symbol: str
    qty: Decimal
    side: str
    type: str
    time_in_force: str
    created_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    extended_hours: bool = False
    status: str = "accepted"
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    expired_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    triggered: bool = False
    asset_id: str = ""
    seq: int = 0

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def avg_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return (self.filled_notional / self.filled_qty).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at),
            "submitted_at": iso(self.created_at),
            "filled_at": iso(self.filled_at),
            "expired_at": iso(self.expired_at),
            "expires_at": None,
            "canceled_at": iso(self.canceled_at),
            "failed_at": iso(self.failed_at),
            "replaced_at": iso(self.replaced_at),
            "replaced_by": self.replaced_by,
            "replaces": self.replaces,
            "asset_id": self.asset_id,
            "symbol": self.symbol,
            "asset_class": "crypto" if "/" in self.symbol else "us_equity",
            "notional": None,
            "qty": num(self.qty),
            "filled_qty": num(self.filled_qty),
            "filled_avg_price": num(self.avg_price),
            "order_class": "",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": ("buy_to_open" if self.side == "buy" else "sell_to_close"),
            "time_in_force": self.time_in_force,
            "limit_price": num(self.limit_price),
            "stop_price": num(self.stop_price),
            "status": self.status,
            "extended_hours": self.extended_hours,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }


@dataclass
class FakePosition:
    symbol: str
    qty: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)  # signed cost of the open quantity

    def apply(self, side: str, qty: Decimal, price: Decimal) -> None:
        signed = qty if side == "buy" else -qty
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            self.qty += signed
            self.cost += signed * price
            return
        closing = min(abs(signed), abs(self.qty))
        avg = self.cost / self.qty
        direction = 1 if self.qty > 0 else -1
        self.qty -= direction * closing
        self.cost -= direction * closing * avg
        rest = abs(signed) - closing
        if rest:
            self.qty = (1 if signed > 0 else -1) * rest
            self.cost = self.qty * price
        if self.qty == 0:
            self.cost = Decimal(0)

    @property
    def avg_entry_price(self) -> Decimal:
        return (self.cost / self.qty) if self.qty else Decimal(0)


class BookError(Exception):
    """An API error: HTTP status and Alpaca's body."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message, **extra}


NOT_FOUND = (404, 40410000, "order not found")


@dataclass
class FakeBook:
    """The account behind the fake API. Every mutation appends the trade_updates events it causes."""

    feed: QuoteFeed
    now: datetime = START
    cash: Decimal = Decimal(100_000)
    shorting_enabled: bool = True
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    open_orders: dict[str, FakeOrder] = field(default_factory=dict)
    by_client_id: dict[str, FakeOrder] = field(default_factory=dict)
    positions: dict[str, FakePosition] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    submit_attempts: list[str] = field(default_factory=list)
    session_end: datetime | None = None
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    account_id: str = "fa4e1f2e-0000-4000-8000-00000000a1ca"
    _seq: int = 0

    # --- events -----------------------------------------------------------------------------------------
    def _emit(self, event: str, order: FakeOrder, **extra: Any) -> None:
        data: dict[str, Any] = {"event": event, "timestamp": iso(self.now), "order": order.to_json()}
        data.update(extra)
        message = {"stream": "trade_updates", "data": data}
        for listener in list(self.listeners):
            listener(message)

    # --- requests ---------------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any]) -> FakeOrder:
        """POST /v2/orders: validate like Alpaca, then accept (fills come from ``match``)."""
        client_id = body.get("client_order_id") or str(uuid.uuid4())
        self.submit_attempts.append(client_id)
        symbol = str(body.get("symbol") or "")
        if not symbol:
            raise BookError(422, 40010001, "symbol is required")
        if self.feed.quote(symbol, self.now) is None:
            raise BookError(422, 40010001, f'asset "{symbol}" not found')
        if not isinstance(client_id, str) or len(client_id) > 48:
            raise BookError(422, 40010001, "client_order_id must be no more than 48 characters")
        side = body.get("side")
        if side not in ("buy", "sell"):
            raise BookError(422, 40010001, "invalid side")
        kind = body.get("type")
        if kind not in TYPES or kind == "trailing_stop":
            raise BookError(422, 40010001, f"invalid order type {kind!r}" if kind else "type is required")
        tif = body.get("time_in_force")
        if tif not in TIFS:
            raise BookError(422, 40010001, "invalid time_in_force")
        if "/" in symbol and tif not in ("gtc", "ioc"):
            raise BookError(422, 40010001, "invalid crypto time_in_force")
        qty = _decimal(body.get("qty"), "qty")
        if qty is None:
            raise BookError(422, 40010001, "qty or notional is required")
        if qty <= 0:
            raise BookError(422, 40010001, "qty must be > 0")
        limit = _decimal(body.get("limit_price"), "limit_price")
        stop = _decimal(body.get("stop_price"), "stop_price")
        if kind in ("limit", "stop_limit") and limit is None:
            raise BookError(422, 40010001, "limit_price is required")
        if kind in ("stop", "stop_limit") and stop is None:
            raise BookError(422, 40010001, "stop_price is required")
        if kind in ("market", "stop") and limit is not None:
            raise BookError(422, 40010001, f"limit_price must not be specified for {kind} orders")
        for price in (limit, stop):
            if price is not None and price <= 0:
                raise BookError(422, 40010001, "price must be > 0")
        if client_id in self.by_client_id:
            raise BookError(422, 40010001, "client_order_id must be unique")
        if side == "buy":
            _bid, ask, _, _ = self.feed.quote(symbol, self.now)  # type: ignore[misc]
            cost = qty * (limit if limit is not None else ask)
            if cost > self.buying_power():
                raise BookError(
                    403,
                    40310000,
                    "insufficient buying power",
                    buying_power=num(self.buying_power()),
                    cost_basis=num(cost.quantize(CENT)),
                )
        elif not self.shorting_enabled and qty > self._available(symbol):
            raise BookError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {num(qty)}, available: "
                f"{num(self._available(symbol))})",
            )
        self._seq += 1
        order = FakeOrder(
            id=str(uuid.uuid4()),
            client_order_id=client_id,
            symbol=symbol,
            qty=qty,
            side=side,
            type=kind,
            time_in_force=tif,
            created_at=self.now,
            limit_price=limit,
            stop_price=stop,
            extended_hours=bool(body.get("extended_hours", False)),
            asset_id=str(uuid.uuid5(uuid.NAMESPACE_OID, symbol)),
            seq=self._seq,
        )
        self.orders[order.id] = order
        self.open_orders[order.id] = order
        self.by_client_id[client_id] = order
        return order

    def get(self, order_id: str) -> FakeOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise BookError(*NOT_FOUND)
        return order

    def get_by_client_id(self, client_id: str) -> FakeOrder:
        order = self.by_client_id.get(client_id)
        if order is None:
            raise BookError(*NOT_FOUND)
        return order

    def cancel(self, order_id: str) -> None:
        """DELETE /v2/orders/{id}: 204 now, the ``canceled`` event follows on the stream."""
        order = self.get(order_id)
        if not order.open or order.status == "pending_cancel":
            raise BookError(422, 42210000, "order is not cancelable")
        order.status = "canceled"
        order.canceled_at = order.updated_at = self.now
        self.open_orders.pop(order.id, None)
        self._emit("canceled", order)

    def replace(self, order_id: str, body: dict[str, Any]) -> FakeOrder:
        """PATCH /v2/orders/{id}: a new order takes the old one's place; the old one becomes ``replaced``."""
        old = self.get(order_id)
        if not old.open or old.status in ("pending_cancel", "pending_replace"):
            raise BookError(422, 42210000, "order is not replaceable")
        qty = _decimal(body.get("qty"), "qty") or old.qty
        if qty <= old.filled_qty:
            raise BookError(422, 40010001, "qty must be greater than the filled quantity")
        client_id = body.get("client_order_id") or str(uuid.uuid4())
        if client_id in self.by_client_id:
            raise BookError(422, 40010001, "client_order_id must be unique")
        self._seq += 1
        new = FakeOrder(
            id=str(uuid.uuid4()),
            client_order_id=client_id,
            symbol=old.symbol,
            qty=qty,
            side=old.side,
            type=old.type,
            time_in_force=body.get("time_in_force") or old.time_in_force,
            created_at=self.now,
            limit_price=_decimal(body.get("limit_price"), "limit_price") or old.limit_price,
            stop_price=_decimal(body.get("stop_price"), "stop_price") or old.stop_price,
            replaces=old.id,
            asset_id=old.asset_id,
            seq=self._seq,
        )
        old.status = "replaced"
        old.replaced_at = old.updated_at = self.now
        old.replaced_by = new.id
        self.orders[new.id] = new
        self.open_orders[new.id] = new
        self.open_orders.pop(old.id, None)
        self.by_client_id[client_id] = new
        self._emit("replaced", old)
        return new

    def list_orders(
        self,
        status: str = "open",
        *,
        limit: int = 50,
        after: datetime | None = None,
        until: datetime | None = None,
        direction: str = "desc",
        symbols: Iterable[str] | None = None,
    ) -> list[FakeOrder]:
        wanted = set(symbols) if symbols else None
        chosen = []
        for order in self.orders.values():
            if (status == "open" and not order.open) or (status == "closed" and order.open):
                continue
            if wanted is not None and order.symbol not in wanted:
                continue
            if after is not None and order.created_at <= after:
                continue
            if until is not None and order.created_at >= until:
                continue
            chosen.append(order)
        chosen.sort(key=lambda o: (o.created_at, o.seq), reverse=direction == "desc")
        return chosen[:limit]

    def fill_activities(
        self, *, after: datetime | None = None, until: datetime | None = None, direction: str = "desc"
    ) -> list[dict[str, Any]]:
        chosen = [
            a
            for a in self.activities
            if (after is None or a["_time"] > after) and (until is None or a["_time"] < until)
        ]
        if direction == "desc":
            chosen = chosen[::-1]
        return chosen

    # --- the account ---------------------------------------------------------------------------------------
    def _available(self, symbol: str) -> Decimal:
        held = self.positions.get(symbol)
        return held.qty if held is not None else Decimal(0)

    def buying_power(self) -> Decimal:
        reserved = Decimal(0)
        for order in self.open_orders.values():
            if order.side == "buy":
                quote = self.feed.quote(order.symbol, self.now)
                price = order.limit_price or (quote[1] if quote else Decimal(0))
                reserved += order.remaining * price
        return max(self.cash - reserved, Decimal(0)).quantize(CENT)

    def market_value(self) -> Decimal:
        total = Decimal(0)
        for pos in self.positions.values():
            quote = self.feed.quote(pos.symbol, self.now)
            if quote is not None and pos.qty:
                total += pos.qty * (quote[0] + quote[1]) / 2
        return total

    # --- time and matching ---------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the clock and let every open order meet the market, one simulated second at a time."""
        end = self.now + timedelta(seconds=seconds)
        while self.now < end:
            self.now = min(self.now + timedelta(seconds=1), end)
            self.match()

    def match(self) -> None:
        """Route new orders, trigger stops, fill what the touch allows, settle IOC/FOK and expiries."""
        for order in list(self.open_orders.values()):
            if order.status in ("accepted", "pending_new"):
                order.status = "new"
                order.updated_at = self.now
                self._emit("new", order)
            self._match_one(order)
            if not order.open:
                self.open_orders.pop(order.id, None)

    def _match_one(self, order: FakeOrder) -> None:
        quote = self.feed.quote(order.symbol, self.now)
        if quote is None:
            return
        bid, ask, bid_size, ask_size = quote
        buy = order.side == "buy"
        if self.session_end is not None and self.now >= self.session_end and order.time_in_force == "day":
            self._finish(order, "expired")
            return
        if order.type in ("stop", "stop_limit") and not order.triggered:
            touched = ask >= order.stop_price if buy else bid <= order.stop_price  # type: ignore[operator]
            if not touched:
                return
            order.triggered = True
        touch, size = (ask, ask_size) if buy else (bid, bid_size)
        limit = order.limit_price if order.type in ("limit", "stop_limit") else None
        marketable = limit is None or (touch <= limit if buy else touch >= limit)
        if order.time_in_force == "fok" and (not marketable or size < order.remaining):
            self._finish(order, "canceled")
            return
        if marketable and size > 0:
            self._execute(order, min(size, order.remaining), touch)
        if order.open and order.time_in_force == "ioc":
            self._finish(order, "canceled")

    def _execute(self, order: FakeOrder, qty: Decimal, price: Decimal) -> None:
        order.filled_qty += qty
        order.filled_notional += qty * price
        order.updated_at = self.now
        done = order.filled_qty >= order.qty
        order.status = "filled" if done else "partially_filled"
        if done:
            order.filled_at = self.now
        position = self.positions.setdefault(order.symbol, FakePosition(order.symbol))
        position.apply(order.side, qty, price)
        self.cash += -qty * price if order.side == "buy" else qty * price
        execution_id = str(uuid.uuid4())
        kind = "fill" if done else "partial_fill"
        stamp = self.now.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:-3]
        self.activities.append(
            {
                "id": f"{stamp}::{execution_id}",
                "activity_type": "FILL",
                "transaction_time": iso(self.now),
                "type": kind,
                "price": num(price),
                "qty": num(qty),
                "side": order.side,
                "symbol": order.symbol,
                "leaves_qty": num(order.qty - order.filled_qty),
                "order_id": order.id,
                "cum_qty": num(order.filled_qty),
                "order_status": order.status,
                "_time": self.now,
            }
        )
        self._emit(
            kind,
            order,
            execution_id=execution_id,
            price=num(price),
            qty=num(qty),
            position_qty=num(position.qty),
        )

    def _finish(self, order: FakeOrder, status: str) -> None:
        order.status = status
        order.updated_at = self.now
        if status == "canceled":
            order.canceled_at = self.now
        elif status == "expired":
            order.expired_at = self.now
        self._emit(status, order)

    # --- what tests compare against --------------------------------------------------------------------
    def accepted_client_ids(self) -> list[str]:
        """Client order ids of every order the fake accepted, in order (a repeat would mean placed twice)."""
        return [o.client_order_id for o in sorted(self.orders.values(), key=lambda o: o.seq)]

    def fills(self) -> list[dict[str, Any]]:
        """Every execution the fake made, as FILL activities plus the client order id."""
        return [
            {
                **{k: v for k, v in a.items() if not k.startswith("_")},
                "client_order_id": self.orders[a["order_id"]].client_order_id,
            }
            for a in self.activities
        ]

    def position_quantities(self) -> dict[str, Decimal]:
        return {s: p.qty for s, p in self.positions.items() if p.qty}


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise BookError(422, 40010001, f"invalid {name}") from None
    if not result.is_finite():
        raise BookError(422, 40010001, f"invalid {name}")
    return result
