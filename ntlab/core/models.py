"""Pydantic models of the order flow: what callers send, what they get back, what brokers report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ntlab.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.instruments import SYMBOL_FORMS, classify_symbol
from ntlab.errors import InvalidOrder, Reason

M = TypeVar("M", bound=BaseModel)


_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}
_set = object.__setattr__


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """Build a model from values the core already checked, skipping validation.

    Like ``model_construct`` with every field given, at a fraction of its cost: snapshots are taken on every
    order event, so this is on the hot path. ``values`` must name every field.
    """
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", fields)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


_FIELD_REASONS = {
    "symbol": Reason.INVALID_SYMBOL,
    "quantity": Reason.INVALID_QUANTITY,
    "limit_price": Reason.INVALID_PRICE,
    "stop_price": Reason.INVALID_PRICE,
}
_CHOICES = {
    "side": Side,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
}


def _denial_from_pydantic(error: ValidationError) -> InvalidOrder:
    """Turn pydantic's report into one readable, reason-coded denial about the first bad field."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "request"
    reason = _FIELD_REASONS.get(field, Reason.INVALID_FIELD)
    given = first.get("input")
    if field in _CHOICES:
        allowed = ", ".join(m.value for m in _CHOICES[field])
        message = f"{field}={given!r} is not valid; use one of: {allowed}"
    elif first["type"] == "missing":
        message = f"{field} is required"
    elif first["type"] == "extra_forbidden":
        message = f"unknown field {field!r}; check the spelling"
    else:
        message = f"{field}={given!r} is not valid: {first['msg']}"
    return InvalidOrder(reason, message)


class OrderRequest(BaseModel):
    """An order as a caller asks for it. Construction checks everything that needs no market or instrument.

    Invalid input raises :class:`ntlab.errors.InvalidOrder` with a :class:`~ntlab.errors.Reason`, never a
    pydantic traceback. Strings such as ``"buy"``, ``"limit"`` and ``"190.10"`` are accepted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    client_order_id: str | None = Field(default=None, max_length=48)
    parent_id: str | None = None
    tag: str | None = None
    venue: str | None = None
    allow_duplicate: bool = (
        False  # an identical order within a few seconds is meant: skip the duplicate guard
    )

    def __init__(self, **data: Any) -> None:
        symbol = data.get("symbol")
        if isinstance(symbol, str) and not symbol.isascii():
            # Refused, never folded: str.upper() turns 'ſPY' into 'SPY' and the order would trade SPY.
            raise InvalidOrder(
                Reason.INVALID_SYMBOL,
                f"symbol {symbol!r} has characters outside ASCII; type it with plain letters ({SYMBOL_FORMS})",
            )
        for key in ("symbol", "side", "order_type", "time_in_force"):
            if isinstance(data.get(key), str):
                data[key] = data[key].strip().lower() if key != "symbol" else data[key].strip().upper()
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise _denial_from_pydantic(error) from None

    @model_validator(mode="after")
    def _check(self) -> OrderRequest:
        if classify_symbol(self.symbol) is None:
            raise InvalidOrder(
                Reason.INVALID_SYMBOL, f"symbol {self.symbol!r} is not valid; use {SYMBOL_FORMS}"
            )
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise InvalidOrder(Reason.INVALID_QUANTITY, f"quantity must be positive, got {self.quantity}")
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        kind = self.order_type.value
        if needs_limit and self.limit_price is None:
            raise InvalidOrder(Reason.MISSING_LIMIT_PRICE, f"a {kind} order needs limit_price")
        if not needs_limit and self.limit_price is not None:
            raise InvalidOrder(
                Reason.LIMIT_PRICE_NOT_ALLOWED,
                f"a {kind} order takes no limit_price; use order_type='limit' to cap the price",
            )
        if needs_stop and self.stop_price is None:
            raise InvalidOrder(Reason.MISSING_STOP_PRICE, f"a {kind} order needs stop_price")
        if not needs_stop and self.stop_price is not None:
            raise InvalidOrder(
                Reason.STOP_PRICE_NOT_ALLOWED,
                f"a {kind} order takes no stop_price; use order_type='stop' or 'stop_limit'",
            )
        for name in ("limit_price", "stop_price"):
            price = getattr(self, name)
            if price is not None and (not price.is_finite() or price <= 0):
                raise InvalidOrder(Reason.INVALID_PRICE, f"{name} must be a positive price, got {price}")
        tif = self.time_in_force
        if needs_stop and tif in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidOrder(
                Reason.TIF_NOT_ALLOWED,
                f"time_in_force={tif.value} cannot wait for a stop to trigger; use day or gtc",
            )
        if tif in (TimeInForce.OPG, TimeInForce.CLS) and self.order_type not in (
            OrderType.MARKET,
            OrderType.LIMIT,
        ):
            raise InvalidOrder(
                Reason.TIF_NOT_ALLOWED, f"time_in_force={tif.value} is for market or limit orders only"
            )
        return self


class OrderResponse(BaseModel):
    """What place_order and cancel_order return: the order's id and its state once the call settled."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: OrderStatus
    filled_quantity: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    broker_order_id: str | None = None
    message: str | None = None


class Fill(BaseModel):
    """One execution. ``fill_id`` is the broker's execution id: a replay of the same id is ignored."""

    model_config = ConfigDict(frozen=True)

    fill_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    time: datetime
    fee: Decimal = Decimal(0)
    liquidity: Liquidity | None = None
    venue: str | None = None


class OrderUpdate(BaseModel):
    """What a broker adapter reports about an order: a status change, an execution, or both.

    ``order_id`` is ntlab's id (the client order id sent to the broker). For fills the status is derived
    from the cumulative filled quantity, so adapters may leave ``status`` empty.
    """

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: OrderStatus | None = None
    fill: Fill | None = None
    broker_order_id: str | None = None
    reason: str | None = None
    cancel_rejected: bool = False
    time: datetime | None = None


class Order(BaseModel):
    """A snapshot of an order's state. Snapshots never change; ask the manager again for news."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    status: OrderStatus
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    filled_quantity: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    fees: Decimal = Decimal(0)
    broker_order_id: str | None = None
    created_at: datetime
    updated_at: datetime
    reason_code: str | None = None
    reason: str | None = None
    arrival_bid: Decimal | None = None
    arrival_ask: Decimal | None = None
    parent_id: str | None = None
    tag: str | None = None
    venue: str | None = None
    external: bool = False

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def arrival_mid(self) -> Decimal | None:
        if self.arrival_bid is None or self.arrival_ask is None:
            return None
        return (self.arrival_bid + self.arrival_ask) / 2


class Position(BaseModel):
    """Net holding in one symbol. ``quantity`` is signed (negative = short); ``avg_cost`` of the open part."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    quantity: Decimal
    avg_cost: Decimal | None
    realized_pnl: Decimal
    fees: Decimal


class OrderTicket(Protocol):
    """What a venue reads from an order it is asked to place or cancel.

    :class:`Order` has these fields, and so has the manager's own record of an order: an in-process venue
    that copies what it needs during the call (``copies_orders = True``) is handed that record directly,
    saving an immutable snapshot per order.
    """

    @property
    def order_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def limit_price(self) -> Decimal | None: ...
    @property
    def stop_price(self) -> Decimal | None: ...


class Quote(BaseModel):
    """Top of book at a moment."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    time: datetime
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2
