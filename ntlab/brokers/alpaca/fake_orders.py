"""The fake Alpaca's orders: Alpaca's order records, spellings and rules over the kit's matching engine.

Each request is checked as Alpaca checks it (its error codes and messages), then handed to the
:class:`~ntlab.testing.FakeEngine` as an ntlab order whose id is the Alpaca order id; the engine's reports
become Alpaca's order states, ``trade_updates`` messages and FILL activities. So the fake fills exactly as
the paper venue does, and the things Alpaca adds are only Alpaca's words for them:

- a replace (``PATCH``) makes a new Alpaca order that takes the old one's place (``replaced_by`` /
  ``replaces``); the engine changes its one order in place, so every incarnation maps to one engine order;
- the legs of a bracket, oto or oco order are Alpaca orders with ids of their own, ``held`` until their
  entry has filled (an oco's stop-loss works at once); the engine works them as the paper venue's legs;
- a notional order is sent to the engine as the fractional quantity the notional buys at the touch.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from ntlab.core.enums import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.instruments import AssetKind, classify_symbol
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Order
from ntlab.core.reports import (
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.testing import FakeEngine

TYPES = {t.value: t for t in OrderType}
TIFS = {t.value: t for t in TimeInForce}
CLASSES = {"": OrderClass.SIMPLE, **{c.value: c for c in OrderClass}}
OPEN = frozenset(
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
SHARES = Decimal("0.000000001")  # Alpaca takes quantities to 9 decimals
CENT = Decimal("0.01")


class ApiError(Exception):
    """An answer Alpaca gives instead of an order: HTTP status and its ``{"code", "message"}`` body."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message, **extra}


def invalid(message: str) -> ApiError:
    return ApiError(422, 40010001, message)


NOT_FOUND = ApiError(404, 40410000, "order not found")


def iso(t: datetime | None) -> str | None:
    """Alpaca's timestamp spelling: RFC 3339, microseconds, Z."""
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def num(value: Decimal | None) -> str | None:
    """Money and quantities travel as strings, without exponent."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def decimal(value: Any, name: str) -> Decimal | None:
    """A number as Alpaca's clients send it (a string, or a JSON number as alpaca-py does)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid(f"invalid {name}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"invalid {name}") from None
    if not result.is_finite():
        raise invalid(f"invalid {name}")
    return result


def asset_class(symbol: str) -> str:
    return "crypto" if "/" in symbol else "us_equity"


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-alpaca-asset:{symbol}"))


@dataclass(slots=True, eq=False)
class Record:
    """One Alpaca order as the API shows it. ``key`` is the engine's id for the order it stands for."""

    id: str
    client_order_id: str
    key: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    order_class: str
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    created_at: datetime
    status: str
    seq: int
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool = False
    updated_at: datetime | None = None
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    filled_at: datetime | None = None
    expired_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    hwm: Decimal | None = None
    legs: list[Record] = field(default_factory=list)
    parent: Record | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def avg_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return (self.filled_notional / self.filled_qty).quantize(Decimal("0.0001"))

    def json(self, nested: bool = True) -> dict[str, Any]:
        """Exactly what the API returns for the order; its legs inside when ``nested``."""
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
            "asset_id": asset_id(self.symbol),
            "symbol": self.symbol,
            "asset_class": asset_class(self.symbol),
            "notional": num(self.notional),
            "qty": num(self.qty),
            "filled_qty": num(self.filled_qty),
            "filled_avg_price": num(self.avg_price()),
            "order_class": self.order_class,
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": "buy_to_open" if self.side == "buy" else "sell_to_close",
            "time_in_force": self.time_in_force,
            "limit_price": num(self.limit_price),
            "stop_price": num(self.stop_price),
            "status": self.status,
            "extended_hours": self.extended_hours,
            "legs": [leg.json(nested) for leg in self.legs] if nested and self.legs else None,
            "trail_percent": num(self.trail_percent),
            "trail_price": num(self.trail_price),
            "hwm": num(self.hwm),
            "subtag": None,
            "source": "access_key",
        }


Emit = Callable[[str, Record, dict[str, Any]], None]


class FakeOrders:
    """Every Alpaca order the fake holds, kept in step with the engine.

    ``emit(event, record, extra)`` is called for each ``trade_updates`` message (the server streams it);
    ``activities`` holds the FILL activities; ``fills_posted`` is called with each fill as it is booked.
    """

    def __init__(self, engine: FakeEngine, emit: Emit, *, seed: int = 7) -> None:
        self.engine = engine
        self.emit = emit
        self.records: dict[str, Record] = {}  # Alpaca order id -> record (every incarnation)
        self.by_client_id: dict[str, Record] = {}
        self.by_key: dict[str, Record] = {}  # engine id -> its live incarnation
        self.activities: list[dict[str, Any]] = []
        self.attempts: list[str] = []  # the client order id of every POST that reached the order checks
        self.position_qty: dict[str, Decimal] = {}
        self.on_fill: list[Callable[[Record, Any], None]] = []
        self.buying_power: Callable[[], Decimal] = lambda: Decimal("Infinity")
        self.shorting_enabled = True
        self._rng = random.Random(seed)
        self._seq = 0
        self._trailing: set[Record] = set()
        self._live: list[Record] = []
        engine.on_report(self.later)
        engine.on_clock(self._follow)

    # --- ids ------------------------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A version-4 UUID from the fake's seeded stream: the same run gives the same ids."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # --- POST /v2/orders ------------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check an order as Alpaca does and hand it to the engine; the answer is the order as accepted."""
        client_id = body.get("client_order_id") or self.new_id()
        self.attempts.append(str(client_id))
        if not isinstance(client_id, str) or len(client_id) > 48:
            raise invalid("client_order_id must be no more than 48 characters")
        if client_id in self.by_client_id:
            raise invalid("client_order_id must be unique")
        order, record = self._parse(body, client_id)
        reports = self.engine.submit(order)
        refused = next((r for r in reports if isinstance(r, Rejected) and r.order_id == order.order_id), None)
        if refused is not None:
            raise invalid(refused.reason)
        self._keep(record)
        for leg in self._legs_of(record, order):
            self._keep(leg)
            record.legs.append(leg)
        if record.type == "trailing_stop":
            self._trailing.add(record)
            self.trail(record)
        answer = record.json()
        self._go_live(record)
        self.apply(reports)
        self.trail(record)
        return answer

    async def _follow(self, before: datetime, after: datetime) -> None:
        for record in list(self._trailing):
            self.trail(record)

    def trail(self, record: Record) -> None:
        """A trailing stop's stop and high-water mark, as the engine has moved them."""
        if record.type != "trailing_stop":
            return
        if not record.open:
            self._trailing.discard(record)
            return
        order = self.engine.order(record.key)
        stop = None if order is None else order.stop_price
        if stop is None:
            return
        record.stop_price = stop.quantize(CENT)
        sells = record.side == "sell"
        if record.trail_price is not None:
            mark = stop + record.trail_price if sells else stop - record.trail_price
        else:
            assert record.trail_percent is not None
            away = record.trail_percent / 100
            mark = stop / (1 - away) if sells else stop / (1 + away)
        record.hwm = mark.quantize(CENT)

    def open_records(self) -> list[Record]:
        """The orders still open, oldest first (closed ones leave the list the first time it is read)."""
        self._live = [r for r in self._live if r.open]
        return self._live

    def _keep(self, record: Record) -> None:
        self._live.append(record)
        self.records[record.id] = record
        self.by_client_id[record.client_order_id] = record
        self.by_key[record.key] = record

    def _parse(self, body: dict[str, Any], client_id: str) -> tuple[Order, Record]:
        symbol = body.get("symbol")
        if not symbol or not isinstance(symbol, str):
            raise invalid("symbol is required")
        kind_of = classify_symbol(symbol)
        known = symbol in self.engine.symbols and kind_of in (AssetKind.EQUITY, AssetKind.CRYPTO)
        quote = self.engine.quote(symbol) if known else None
        if quote is None:
            raise invalid(f'asset "{symbol}" not found')
        crypto = "/" in symbol
        side = body.get("side")
        if side not in ("buy", "sell"):
            raise invalid("side must be buy or sell")
        kind = body.get("type") or body.get("order_type")
        if kind not in TYPES:
            raise invalid(f"invalid order type {kind!r}" if kind else "type is required")
        tif = body.get("time_in_force")
        if tif not in TIFS:
            raise invalid(f"invalid time_in_force {tif!r}")
        if crypto and tif not in ("gtc", "ioc"):
            raise invalid("invalid crypto time_in_force")
        klass = body.get("order_class") or ""
        if klass not in CLASSES:
            raise invalid(f"invalid order_class {klass!r}")
        order_class = CLASSES[klass]
        qty = decimal(body.get("qty"), "qty")
        notional = decimal(body.get("notional"), "notional")
        if (qty is None) == (notional is None):
            raise invalid(
                "qty or notional is required" if qty is None else "only one of qty or notional is allowed"
            )
        if qty is not None and qty <= 0:
            raise invalid("qty must be > 0")
        if notional is not None and notional <= 0:
            raise invalid("notional must be > 0")
        if notional is not None and (kind != "market" or (tif != "day" and not crypto)):
            raise invalid("notional orders must be market orders with time_in_force day")
        if qty is not None and qty != qty.to_integral_value():
            if crypto:
                pass
            elif kind not in ("market", "limit") or tif != "day":
                raise invalid("fractional orders must be market or limit orders with time_in_force day")
            if qty.quantize(SHARES, ROUND_DOWN) != qty:
                raise invalid("qty is limited to 9 decimal places")
        limit = decimal(body.get("limit_price"), "limit_price")
        stop = decimal(body.get("stop_price"), "stop_price")
        trail_price = decimal(body.get("trail_price"), "trail_price")
        trail_percent = decimal(body.get("trail_percent"), "trail_percent")
        take = body.get("take_profit") or {}
        loss = body.get("stop_loss") or {}
        if not isinstance(take, dict) or not isinstance(loss, dict):
            raise invalid("take_profit and stop_loss are objects")
        take_limit = decimal(take.get("limit_price"), "take_profit.limit_price")
        loss_stop = decimal(loss.get("stop_price"), "stop_loss.stop_price")
        loss_limit = decimal(loss.get("limit_price"), "stop_loss.limit_price")
        if order_class is OrderClass.OCO:
            if kind != "limit":
                raise invalid("oco orders must be limit orders")
            limit = take_limit if take_limit is not None else limit
        if kind in ("limit", "stop_limit") and limit is None:
            raise invalid("limit_price is required")
        if kind in ("stop", "stop_limit") and stop is None:
            raise invalid("stop_price is required")
        if kind in ("market", "stop", "trailing_stop") and limit is not None:
            raise invalid(f"limit_price must not be specified for {kind} orders")
        if kind in ("market", "limit", "trailing_stop") and stop is not None:
            raise invalid(f"stop_price must not be specified for {kind} orders")
        if kind == "trailing_stop":
            if (trail_price is None) == (trail_percent is None):
                raise invalid("trailing_stop orders need exactly one of trail_price or trail_percent")
            if tif not in ("day", "gtc"):
                raise invalid("trailing_stop orders must be day or gtc")
        elif trail_price is not None or trail_percent is not None:
            raise invalid(f"trail_price and trail_percent are for trailing_stop orders, not {kind}")
        for name, price in (
            ("limit_price", limit),
            ("stop_price", stop),
            ("trail_price", trail_price),
            ("trail_percent", trail_percent),
            ("take_profit.limit_price", take_limit),
            ("stop_loss.stop_price", loss_stop),
            ("stop_loss.limit_price", loss_limit),
        ):
            if price is not None and price <= 0:
                raise invalid(f"{name} must be > 0")
        if tif in ("opg", "cls") and kind not in ("market", "limit"):
            raise invalid(f"{tif} orders must be market or limit orders")
        extended = bool(body.get("extended_hours", False))
        if extended and (kind != "limit" or tif != "day"):
            raise invalid("extended hours order must be DAY limit orders")
        self._check_legs(order_class, side, kind, tif, extended, take_limit, loss_stop, loss_limit, quote)
        if order_class is OrderClass.SIMPLE and (take or loss):
            raise invalid("take_profit and stop_loss need order_class bracket, oto or oco")
        touch = quote.ask if side == "buy" else quote.bid
        shares = qty if qty is not None else (notional / touch).quantize(SHARES, ROUND_DOWN)  # type: ignore[operator]
        self._check_funds(symbol, side, shares, limit, quote.ask, notional)
        now = self.engine.now()
        self._seq += 1
        alpaca_id = self.new_id()
        record = Record(
            id=alpaca_id,
            client_order_id=client_id,
            key=alpaca_id,
            symbol=symbol,
            side=side,
            type=kind,
            time_in_force=tif,
            order_class="" if order_class is OrderClass.SIMPLE else order_class.value,
            qty=qty,
            notional=notional,
            limit_price=limit,
            stop_price=stop,
            created_at=now,
            status="accepted" if tif in ("opg", "cls") else "pending_new",
            seq=self._seq,
            trail_price=trail_price,
            trail_percent=trail_percent,
            extended_hours=extended,
        )
        order = Order(
            order_id=alpaca_id,
            symbol=symbol,
            side=Side(side),
            quantity=shares,
            order_type=TYPES[kind],
            time_in_force=TIFS[tif],
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            limit_price=limit,
            stop_price=stop,
            trail_price=trail_price,
            trail_percent=trail_percent,
            order_class=order_class,
            take_profit=take_limit if order_class is not OrderClass.OCO else None,
            stop_loss=loss_stop,
            stop_loss_limit=loss_limit,
        )
        return order, record

    @staticmethod
    def _check_legs(
        order_class: OrderClass,
        side: str,
        kind: str,
        tif: str,
        extended: bool,
        take: Decimal | None,
        stop: Decimal | None,
        stop_limit: Decimal | None,
        quote: Any,
    ) -> None:
        """Alpaca's rules for advanced orders: the exits each class needs, and where they may sit."""
        if order_class is OrderClass.SIMPLE:
            return
        name = order_class.value
        if order_class in (OrderClass.BRACKET, OrderClass.OCO) and (take is None or stop is None):
            raise invalid(f"{name} orders require take_profit.limit_price and stop_loss.stop_price")
        if order_class is OrderClass.OTO and (take is None) == (stop is None):
            raise invalid("oto orders require either take_profit or stop_loss")
        if stop_limit is not None and stop is None:
            raise invalid("stop_loss.stop_price is required")
        if tif not in ("day", "gtc"):
            raise invalid(f"{name} orders must be day or gtc")
        if extended:
            raise invalid(f"extended hours are not supported for {name} orders")
        if kind == "trailing_stop":
            raise invalid(f"trailing_stop is not supported for {name} orders")
        exit_sells = (side == "buy") != (order_class is OrderClass.OCO)
        base = quote.bid if exit_sells else quote.ask
        if take is not None and stop is not None:
            if exit_sells and take <= stop:
                raise invalid("take_profit.limit_price must be > stop_loss.stop_price")
            if not exit_sells and take >= stop:
                raise invalid("take_profit.limit_price must be < stop_loss.stop_price")
        if stop is not None and order_class is not OrderClass.OCO:
            if exit_sells and stop > base - CENT:
                raise invalid(f"stop_loss.stop_price must be <= base_price - 0.01 (base_price: {base})")
            if not exit_sells and stop < base + CENT:
                raise invalid(f"stop_loss.stop_price must be >= base_price + 0.01 (base_price: {base})")

    def _check_funds(
        self,
        symbol: str,
        side: str,
        shares: Decimal,
        limit: Decimal | None,
        ask: Decimal,
        notional: Decimal | None,
    ) -> None:
        """403 40310000 for a buy beyond the buying power, or (shorting off) a sale beyond the holding."""
        if side == "buy":
            cost = notional if notional is not None else shares * (limit if limit is not None else ask)
            power = self.buying_power()
            if cost > power:
                raise ApiError(
                    403,
                    40310000,
                    "insufficient buying power",
                    buying_power=num(power),
                    cost_basis=num(cost.quantize(CENT)),
                )
        elif not self.shorting_enabled or "/" in symbol:
            held = self.position_qty.get(symbol, Decimal(0))
            if shares > held:
                raise ApiError(
                    403,
                    40310000,
                    f"insufficient qty available for order (requested: {num(shares)}, available: {num(held)})",
                    symbol=symbol,
                    available=num(held),
                    existing_qty=num(held),
                    held_for_orders="0",
                )

    def _legs_of(self, entry: Record, order: Order) -> list[Record]:
        """The Alpaca orders for an order's exits: the engine knows them as ``<id>-tp`` / ``<id>-sl``."""
        if order.order_class is OrderClass.SIMPLE:
            return []
        oco = order.order_class is OrderClass.OCO
        side = entry.side if oco else ("sell" if entry.side == "buy" else "buy")
        made = []
        specs = [] if oco or order.take_profit is None else [("tp", "limit", order.take_profit, None)]
        if order.stop_loss is not None:
            kind = "stop" if order.stop_loss_limit is None else "stop_limit"
            specs.append(("sl", kind, order.stop_loss_limit, order.stop_loss))
        for suffix, kind, limit, stop in specs:
            self._seq += 1
            leg_id = self.new_id()
            made.append(
                Record(
                    id=leg_id,
                    client_order_id=self.new_id(),
                    key=f"{entry.key}-{suffix}",
                    symbol=entry.symbol,
                    side=side,
                    type=kind,
                    time_in_force=entry.time_in_force,
                    order_class=entry.order_class,
                    qty=order.quantity,
                    notional=None,
                    limit_price=limit,
                    stop_price=stop,
                    created_at=entry.created_at,
                    status="pending_new" if oco else "held",
                    seq=self._seq,
                    parent=entry,
                )
            )
        return made

    def _go_live(self, record: Record) -> None:
        """Alpaca routes what it accepted: ``new`` (an oco's stop-loss with it; a bracket's legs stay held).
        An opg or cls order stays ``accepted`` until its auction."""
        for order in (record, *record.legs):
            if order.status == "pending_new":
                order.status = "new"
                order.updated_at = self.engine.now()
                self.emit("new", order, {})

    # --- PATCH /v2/orders/{id} -----------------------------------------------------------------------------
    def replace(self, alpaca_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A new order takes the old one's place: same engine order, new Alpaca id and client order id."""
        old = self.get(alpaca_id)
        if not old.open or old.status in ("pending_cancel", "pending_replace"):
            raise ApiError(422, 42210000, "order is not replaceable")
        qty = decimal(body.get("qty"), "qty")
        trail = decimal(body.get("trail"), "trail")
        if trail is not None and old.type != "trailing_stop":
            raise invalid(f"trail cannot be set on a {old.type} order")
        if trail is not None and (trail <= 0 or (old.trail_percent is not None and trail >= 100)):
            raise invalid("trail must be > 0" if trail <= 0 else "trail_percent must be < 100")
        limit = decimal(body.get("limit_price"), "limit_price")
        stop = decimal(body.get("stop_price"), "stop_price")
        if qty is not None and (qty <= 0 or qty <= old.filled_qty):
            raise invalid("qty must be greater than the filled quantity")
        if old.notional is not None and qty is not None:
            raise invalid("qty cannot replace a notional order's size")
        if limit is not None and old.type not in ("limit", "stop_limit"):
            raise invalid(f"limit_price cannot be set on a {old.type} order")
        if stop is not None and old.type not in ("stop", "stop_limit"):
            raise invalid(f"stop_price cannot be set on a {old.type} order")
        for name, price in (("limit_price", limit), ("stop_price", stop)):
            if price is not None and price <= 0:
                raise invalid(f"{name} must be > 0")
        client_id = body.get("client_order_id") or self.new_id()
        if not isinstance(client_id, str) or len(client_id) > 48:
            raise invalid("client_order_id must be no more than 48 characters")
        if client_id in self.by_client_id:
            raise invalid("client_order_id must be unique")
        tif = body.get("time_in_force") or old.time_in_force
        if tif not in TIFS:
            raise invalid(f"invalid time_in_force {tif!r}")
        reports = self.engine.replace(old.key, ReplaceChange(qty, limit, stop, trail))
        refused = next((r for r in reports if isinstance(r, ReplaceRejected)), None)
        if refused is not None:
            raise ApiError(422, 42210000, f"order is not replaceable: {refused.reason}")
        now = self.engine.now()
        self._seq += 1
        new = Record(
            id=self.new_id(),
            client_order_id=client_id,
            key=old.key,
            symbol=old.symbol,
            side=old.side,
            type=old.type,
            time_in_force=tif,
            order_class=old.order_class,
            qty=qty if qty is not None else old.qty,
            notional=old.notional,
            limit_price=limit if limit is not None else old.limit_price,
            stop_price=stop if stop is not None else old.stop_price,
            created_at=now,
            status="new",
            seq=self._seq,
            trail_price=trail if trail is not None and old.trail_price is not None else old.trail_price,
            trail_percent=trail if trail is not None and old.trail_percent is not None else old.trail_percent,
            filled_qty=old.filled_qty,
            filled_notional=old.filled_notional,
            replaces=old.id,
            legs=old.legs,
            parent=old.parent,
        )
        old.status, old.replaced_at, old.updated_at, old.replaced_by = "replaced", now, now, new.id
        for leg in new.legs:
            leg.parent = new
        if old.parent is not None:
            old.parent.legs = [new if leg is old else leg for leg in old.parent.legs]
        self._keep(new)
        if old in self._trailing:
            self._trailing.discard(old)
            self._trailing.add(new)
            self.trail(new)  # a new trail moves the stop
        self.emit("replaced", old, {})
        self.apply([r for r in reports if not (isinstance(r, Replaced) and r.order_id == old.key)])
        return new.json()

    # --- DELETE /v2/orders/{id} ----------------------------------------------------------------------------
    def cancel(self, alpaca_id: str) -> None:
        """204 now; the ``canceled`` event (and the legs') follows on the stream."""
        record = self.get(alpaca_id)
        if not record.open or record.status == "pending_cancel":
            raise ApiError(422, 42210000, "order is not cancelable")
        reports = self.engine.cancel(record.key)
        refused = next((r for r in reports if isinstance(r, CancelRejected)), None)
        if refused is not None:
            raise ApiError(422, 42210000, f"order is not cancelable: {refused.reason}")
        self.apply(reports)

    def cancel_all(self) -> list[dict[str, Any]]:
        """DELETE /v2/orders: every open order, legs with their entry; 207's per-order results."""
        results = []
        for record in sorted(self.records.values(), key=lambda r: r.seq):
            if not record.open or (record.parent is not None and record.parent.open):
                continue
            try:
                self.cancel(record.id)
                results.append({"id": record.id, "status": 200, "body": record.json()})
            except ApiError as error:
                results.append({"id": record.id, "status": error.status, "body": error.body})
        return results

    # --- reads ----------------------------------------------------------------------------------------------
    def get(self, alpaca_id: str) -> Record:
        record = self.records.get(alpaca_id)
        if record is None:
            raise NOT_FOUND
        return record

    def by_client(self, client_id: str) -> Record:
        record = self.by_client_id.get(client_id)
        if record is None:
            raise NOT_FOUND
        return record

    def listing(
        self,
        status: str,
        *,
        limit: int,
        after: datetime | None,
        until: datetime | None,
        direction: str,
        nested: bool,
        side: str | None,
        symbols: Sequence[str] | None,
    ) -> list[dict[str, Any]]:
        """GET /v2/orders: legs listed as orders of their own, or (``nested``) inside their entry."""
        wanted = set(symbols) if symbols else None
        chosen = []
        for record in self.records.values():
            if nested and record.parent is not None:
                continue
            if (status == "open" and not record.open) or (status == "closed" and record.open):
                continue
            if wanted is not None and record.symbol not in wanted:
                continue
            if side is not None and record.side != side:
                continue
            if after is not None and record.created_at <= after:
                continue
            if until is not None and record.created_at >= until:
                continue
            chosen.append(record)
        chosen.sort(key=lambda r: (r.created_at, r.seq), reverse=direction == "desc")
        return [r.json(nested) for r in chosen[:limit]]

    def accepted_client_ids(self) -> list[str]:
        """Client order ids of the orders the fake took, oldest first (replacements and legs left out)."""
        return [
            r.client_order_id
            for r in sorted(self.records.values(), key=lambda r: r.seq)
            if r.replaces is None and r.parent is None
        ]

    # --- what the engine reports ---------------------------------------------------------------------------
    def later(self, report: OrderUpdate) -> None:
        """A report the engine made as its clock moved."""
        self.apply([report])

    def apply(self, reports: Sequence[OrderUpdate]) -> None:
        for report in reports:
            record = self.by_key.get(report.order_id)
            if record is not None:
                self._apply(record, report)

    def _apply(self, record: Record, report: OrderUpdate) -> None:
        now = self.engine.now()
        if isinstance(report, Filled):
            self._filled(record, report)
        elif isinstance(report, Cancelled | Expired):
            if not record.open:
                return
            kind = "canceled" if isinstance(report, Cancelled) else "expired"
            record.status, record.updated_at = kind, report.time
            if kind == "canceled":
                record.canceled_at = report.time
            else:
                record.expired_at = report.time
            self.emit(kind, record, {})
            if record.filled_qty > 0:
                self._release(record)
        elif isinstance(report, Rejected):
            record.status, record.failed_at, record.updated_at = "rejected", now, now
            self.emit("rejected", record, {})
        elif isinstance(report, Replaced) and report.quantity is not None:
            record.qty, record.updated_at = report.quantity, report.time  # a leg cut to what is left to close
            self.emit("restated", record, {})

    def _filled(self, record: Record, report: Filled) -> None:
        fill = report.fill
        record.filled_qty += fill.quantity
        record.filled_notional += fill.quantity * fill.price
        record.updated_at = fill.time
        done = record.filled_qty >= self.engine_quantity(record)
        record.status = "filled" if done else "partially_filled"
        if done:
            record.filled_at = fill.time
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        position = self.position_qty[record.symbol] = (
            self.position_qty.get(record.symbol, Decimal(0)) + signed
        )
        execution_id = self.new_id()
        kind = "fill" if done else "partial_fill"
        self.activities.append(
            {
                "id": f"{fill.time.astimezone(UTC):%Y%m%d%H%M%S%f}"[:-3] + f"::{execution_id}",
                "account_id": "",
                "activity_type": "FILL",
                "transaction_time": iso(fill.time),
                "type": kind,
                "price": num(fill.price),
                "qty": num(fill.quantity),
                "side": record.side,
                "symbol": record.symbol,
                "leaves_qty": num(max(self.engine_quantity(record) - record.filled_qty, Decimal(0))),
                "order_id": record.id,
                "cum_qty": num(record.filled_qty),
                "order_status": record.status,
            }
        )
        for listener in self.on_fill:
            listener(record, fill)
        self.emit(
            kind,
            record,
            {
                "execution_id": execution_id,
                "price": num(fill.price),
                "qty": num(fill.quantity),
                "position_qty": num(position),
                "timestamp": iso(fill.time),
            },
        )
        if done:
            self._release(record)

    def engine_quantity(self, record: Record) -> Decimal:
        """How much the order is for: its qty, or for a notional order what the notional bought."""
        if record.qty is not None:
            return record.qty
        order = self.engine.order(record.key)
        return order.quantity if order is not None else record.filled_qty

    def _release(self, entry: Record) -> None:
        """The entry filled (or closed having filled some): its held exits start working."""
        for leg in entry.legs:
            if leg.status == "held":
                leg.status, leg.updated_at = "new", self.engine.now()
                self.emit("new", leg, {})
