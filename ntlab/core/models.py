"""What callers send: the order request, validated where it arrives (pydantic).

Everything inside the core is plain data (:mod:`ntlab.core.records`, :mod:`ntlab.core.reports`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ntlab.core.enums import OrderClass, OrderType, Side, TimeInForce
from ntlab.core.instruments import SYMBOL_FORMS, classify_symbol
from ntlab.errors import InvalidOrder, Reason

_FIELD_REASONS = {
    "symbol": Reason.INVALID_SYMBOL,
    "quantity": Reason.INVALID_QUANTITY,
    "notional": Reason.INVALID_QUANTITY,
    "limit_price": Reason.INVALID_PRICE,
    "stop_price": Reason.INVALID_PRICE,
    "trail_price": Reason.INVALID_PRICE,
    "trail_percent": Reason.INVALID_PRICE,
    "take_profit": Reason.INVALID_PRICE,
    "stop_loss": Reason.INVALID_PRICE,
    "stop_loss_limit": Reason.INVALID_PRICE,
}
_CHOICES = {
    "side": Side,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "order_class": OrderClass,
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


_LEG_PRICES = ("take_profit", "stop_loss", "stop_loss_limit")
# read per order (see ntlab.core.enums)
_MARKET, _LIMIT, _SIMPLE = OrderType.MARKET, OrderType.LIMIT, OrderClass.SIMPLE
_IOC, _FOK = TimeInForce.IOC, TimeInForce.FOK
_NO_QUANTITY = Decimal(0)  # a notional order's: the broker sizes it


class OrderRequest(BaseModel):
    """An order as a caller asks for it. Construction checks everything that needs no market or instrument.

    Invalid input raises :class:`ntlab.errors.InvalidOrder` with a :class:`~ntlab.errors.Reason`, never a
    pydantic traceback. Strings such as ``"buy"``, ``"limit"`` and ``"190.10"`` are accepted.

    Give ``quantity`` (units) or ``notional`` (an amount of money in the instrument's currency, for a simple
    market order: the broker works out the quantity as it fills, to its lot or, on Alpaca, to 9 decimals).
    A notional request's ``quantity`` stays 0.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    symbol: str
    side: Side
    quantity: Decimal = _NO_QUANTITY
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_limit: Decimal | None = None
    client_order_id: str | None = Field(default=None, max_length=48)
    parent_id: str | None = None
    tag: str | None = None
    venue: str | None = None
    allow_duplicate: bool = (
        False  # an identical order within a few seconds is meant: skip the duplicate guard
    )
    post_only: bool = False  # a limit that only adds liquidity: the venue refuses it rather than let it take
    notional: Decimal | None = None  # last: its check reads the fields before it

    def __init__(self, **data: Any) -> None:
        symbol = data.get("symbol")
        if isinstance(symbol, str) and not symbol.isascii():
            # Refused, never folded: str.upper() turns 'ſPY' into 'SPY' and the order would trade SPY.
            raise InvalidOrder(
                Reason.INVALID_SYMBOL,
                f"symbol {symbol!r} has characters outside ASCII; type it with plain letters ({SYMBOL_FORMS})",
            )
        for key in ("symbol", "side", "order_type", "time_in_force", "order_class"):
            if isinstance(data.get(key), str):
                data[key] = data[key].strip().lower() if key != "symbol" else data[key].strip().upper()
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise _denial_from_pydantic(error) from None

    @field_validator("notional")
    @classmethod
    def _check_notional(cls, notional: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """Runs only when a notional is given (defaults are not validated): a plain order pays nothing."""
        if notional is None:
            return None
        given = info.data
        if not notional.is_finite() or notional <= 0:
            raise InvalidOrder(Reason.INVALID_QUANTITY, f"notional must be a positive amount, got {notional}")
        if given.get("quantity"):
            raise InvalidOrder(
                Reason.INVALID_QUANTITY,
                "give quantity (units) or notional (an amount of money), not both",
            )
        kind, klass = given.get("order_type"), given.get("order_class")
        if kind is not OrderType.MARKET or klass is not OrderClass.SIMPLE:
            what = kind.value if isinstance(kind, OrderType) else kind
            if klass is not OrderClass.SIMPLE and isinstance(klass, OrderClass):
                what = f"{klass.value} {what}"
            raise InvalidOrder(
                Reason.INVALID_FIELD,
                f"notional is for simple market orders, not a {what} order; give a quantity instead",
            )
        tif = given.get("time_in_force")
        if tif in (TimeInForce.OPG, TimeInForce.CLS):
            raise InvalidOrder(
                Reason.TIF_NOT_ALLOWED,
                f"a notional order is sized at the price it meets on arrival, which the {tif.value} auction "
                "does not give; use day, gtc, ioc or fok, or give a quantity",
            )
        if given.get("post_only"):
            raise InvalidOrder(Reason.INVALID_FIELD, "post_only is for limit orders, not notional ones")
        return notional

    @model_validator(mode="after")
    def _check(self) -> OrderRequest:
        if classify_symbol(self.symbol) is None:
            raise InvalidOrder(
                Reason.INVALID_SYMBOL, f"symbol {self.symbol!r} is not valid; use {SYMBOL_FORMS}"
            )
        if not self.quantity.is_finite() or self.quantity <= 0:
            if self.quantity == 0 and self.notional is not None:
                return self  # a notional market order: its field check said all there is to say
            hint = "; give a quantity, or notional= for an amount of money" if self.quantity == 0 else ""
            raise InvalidOrder(
                Reason.INVALID_QUANTITY, f"quantity must be positive, got {self.quantity}{hint}"
            )
        order_type = self.order_type
        if (
            self.order_class is _SIMPLE
            and self.stop_price is None
            and self.trail_price is None
            and self.trail_percent is None
            and self.take_profit is None
            and self.stop_loss is None
            and self.stop_loss_limit is None
        ):
            limit = self.limit_price
            if order_type is _MARKET and limit is None and not self.post_only:
                return self  # a plain market order, the common case: every time in force suits it
            if (
                order_type is _LIMIT
                and limit is not None
                and limit.is_finite()
                and limit > 0
                and not (self.post_only and self.time_in_force in (_IOC, _FOK))
            ):
                return self  # a plain limit order: every time in force suits it
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
        for name in ("limit_price", "stop_price", "trail_price", "trail_percent", *_LEG_PRICES):
            price = getattr(self, name)
            if price is not None and (not price.is_finite() or price <= 0):
                raise InvalidOrder(Reason.INVALID_PRICE, f"{name} must be a positive price, got {price}")
        self._check_trail()
        tif = self.time_in_force
        if self.post_only and (
            self.order_type is not OrderType.LIMIT or tif in (TimeInForce.IOC, TimeInForce.FOK)
        ):
            raise InvalidOrder(
                Reason.INVALID_FIELD,
                "post_only is for limit orders that can rest (day or gtc); "
                f"got a {kind} order with time_in_force={tif.value}",
            )
        if (needs_stop or self.order_type is OrderType.TRAILING_STOP) and tif in (
            TimeInForce.IOC,
            TimeInForce.FOK,
        ):
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
        self._check_legs()
        return self

    def _check_trail(self) -> None:
        trailing = self.order_type is OrderType.TRAILING_STOP
        given = [n for n in ("trail_price", "trail_percent") if getattr(self, n) is not None]
        if trailing and len(given) != 1:
            raise InvalidOrder(
                Reason.MISSING_STOP_PRICE,
                "a trailing_stop order needs exactly one of trail_price (a distance in price) or trail_percent",
            )
        if not trailing and given:
            raise InvalidOrder(
                Reason.STOP_PRICE_NOT_ALLOWED, f"{given[0]} is for order_type='trailing_stop' only"
            )
        if self.trail_percent is not None and self.trail_percent >= 100:
            raise InvalidOrder(
                Reason.INVALID_PRICE, f"trail_percent must be under 100, got {self.trail_percent}"
            )

    def _check_legs(self) -> None:
        """An order class and its exit prices: the right ones given, on the right side of each other."""
        kind = self.order_class
        take, stop = self.take_profit, self.stop_loss
        if kind is OrderClass.SIMPLE and any(getattr(self, n) is not None for n in _LEG_PRICES):
            raise InvalidOrder(
                Reason.INVALID_FIELD,
                "take_profit / stop_loss come with order_class='bracket', 'oto' or 'oco'",
            )
        if self.stop_loss_limit is not None and stop is None:
            raise InvalidOrder(Reason.MISSING_STOP_PRICE, "stop_loss_limit needs stop_loss (its trigger)")
        if kind is OrderClass.BRACKET and (take is None or stop is None):
            raise InvalidOrder(Reason.INVALID_FIELD, "a bracket order needs both take_profit and stop_loss")
        if kind is OrderClass.OTO and (take is None) == (stop is None):
            raise InvalidOrder(
                Reason.INVALID_FIELD, "an oto order needs exactly one of take_profit or stop_loss"
            )
        if kind is OrderClass.OCO:
            if self.order_type is not OrderType.LIMIT or take is not None or stop is None:
                raise InvalidOrder(
                    Reason.INVALID_FIELD,
                    "an oco order is a take-profit limit (order_type='limit', limit_price) with a stop_loss; "
                    "give those, not take_profit",
                )
            take = self.limit_price
        if kind is not OrderClass.SIMPLE and self.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC):
            raise InvalidOrder(Reason.TIF_NOT_ALLOWED, f"a {kind.value} order's legs wait: use day or gtc")
        if take is not None and stop is not None:
            exit_buys = self.side is Side.SELL if kind is not OrderClass.OCO else self.side is Side.BUY
            if (take >= stop) if exit_buys else (take <= stop):
                raise InvalidOrder(
                    Reason.INVALID_PRICE,
                    f"the take-profit {take} must be {'under' if exit_buys else 'over'} the stop-loss {stop}",
                )


class ReplaceRequest(BaseModel):
    """A change to a working order: its new total quantity and prices (None keeps them).

    Invalid input raises :class:`ntlab.errors.InvalidOrder`; whether the change fits the order (its type,
    what is filled, the instrument's tick) is checked against the order itself when it is replaced.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail: Decimal | None = None  # a trailing stop's new trail_price or trail_percent (as it trails)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise _denial_from_pydantic(error) from None

    @model_validator(mode="after")
    def _check(self) -> ReplaceRequest:
        for name in ("quantity", "limit_price", "stop_price", "trail"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                reason = Reason.INVALID_QUANTITY if name == "quantity" else Reason.INVALID_PRICE
                raise InvalidOrder(reason, f"{name} must be positive, got {value}")
        return self
