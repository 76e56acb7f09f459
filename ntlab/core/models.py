"""What callers send: the order request, validated where it arrives (pydantic).

Everything inside the core is plain data (:mod:`ntlab.core.records`, :mod:`ntlab.core.reports`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ntlab.core.enums import OrderType, Side, TimeInForce
from ntlab.core.instruments import SYMBOL_FORMS, classify_symbol
from ntlab.errors import InvalidOrder, Reason

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
    post_only: bool = False  # a limit that only adds liquidity: the venue refuses it rather than let it take

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
        if self.post_only and (
            self.order_type is not OrderType.LIMIT or tif in (TimeInForce.IOC, TimeInForce.FOK)
        ):
            raise InvalidOrder(
                Reason.INVALID_FIELD,
                "post_only is for limit orders that can rest (day or gtc); "
                f"got a {kind} order with time_in_force={tif.value}",
            )
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


class ReplaceRequest(BaseModel):
    """A change to a working order: its new total quantity and prices (None keeps them).

    Invalid input raises :class:`ntlab.errors.InvalidOrder`; whether the change fits the order (its type,
    what is filled, the instrument's tick) is checked against the order itself when it is replaced.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise _denial_from_pydantic(error) from None

    @model_validator(mode="after")
    def _check(self) -> ReplaceRequest:
        for name in ("quantity", "limit_price", "stop_price"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                reason = Reason.INVALID_QUANTITY if name == "quantity" else Reason.INVALID_PRICE
                raise InvalidOrder(reason, f"{name} must be positive, got {value}")
        return self
