"""Checks that need the instrument: tick size, quantity step and which times in force the asset kind allows.

Everything that needs only the request itself is checked when :class:`OrderRequest` is built.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ntlab.core.enums import OrderType, Side, TimeInForce
from ntlab.core.instruments import SYMBOL_FORMS, AssetKind, Instrument, InstrumentRegistry
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.models import OrderRequest
from ntlab.core.records import Order, Quote
from ntlab.errors import InvalidOrder, Reason

# Venues for 24-hour assets have no opening or closing auction and no "day".
_KIND_TIFS: dict[AssetKind, frozenset[TimeInForce]] = {
    AssetKind.EQUITY: frozenset(TimeInForce),
    AssetKind.CRYPTO: frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    AssetKind.FX: frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
}


_BUY = Side.BUY  # read per order (see ntlab.core.enums)
# every price an order can carry that the venue takes in ticks (trail_percent is a percentage)
_PRICES = ("limit_price", "stop_price", "trail_price", "take_profit", "stop_loss", "stop_loss_limit")


def _on_step(value: Decimal, step: Decimal, what: str, reason: Reason) -> bool:
    try:
        return (value % step) == 0
    except InvalidOperation:  # more multiples of the step than Decimal's precision holds
        raise InvalidOrder(reason, f"{what} {value} is too large to trade") from None


def validate_for_instrument(
    request: OrderRequest, instruments: InstrumentRegistry, quote: Quote | None = None
) -> Instrument:
    """Return the request's instrument, or raise InvalidOrder saying what to change.

    The minimum notional is checked at the order's own price, or (a market order) at the side of ``quote``
    it would take; without either the venue decides.
    """
    instrument = instruments.get(request.symbol)
    if instrument is None:
        raise InvalidOrder(
            Reason.INVALID_SYMBOL, f"symbol {request.symbol!r} is not valid; use {SYMBOL_FORMS}"
        )
    quantity = request.quantity
    if not _on_step(quantity, instrument.lot_size, "quantity", Reason.INVALID_QUANTITY):
        if instrument.lot_size == 1:
            raise InvalidOrder(
                Reason.FRACTIONAL_NOT_ALLOWED,
                f"{request.symbol} trades in whole units; quantity {quantity} is fractional",
            )
        raise InvalidOrder(
            Reason.INVALID_QUANTITY,
            f"{request.symbol} quantities are multiples of {instrument.lot_size}; got {quantity}",
        )
    given = request.__dict__  # one dict read per field: attribute reads on pydantic models cost more
    for name in _PRICES:
        price = given[name]
        if price is not None and not _on_step(price, instrument.tick_size, name, Reason.INVALID_PRICE):
            below = (price // instrument.tick_size) * instrument.tick_size
            raise InvalidOrder(
                Reason.OFF_TICK,
                f"{name} {price} is not on {request.symbol}'s tick of {instrument.tick_size}; "
                f"try {below} or {below + instrument.tick_size}",
            )
    _check_minimums(request, instrument, quote)
    allowed = _KIND_TIFS[instrument.kind]
    if request.time_in_force not in allowed:
        names = ", ".join(t.value for t in TimeInForce if t in allowed)
        raise InvalidOrder(
            Reason.TIF_NOT_ALLOWED,
            f"{instrument.kind.value} orders take time_in_force {names}; got {request.time_in_force.value}",
        )
    return instrument


def _check_minimums(request: OrderRequest, instrument: Instrument, quote: Quote | None) -> None:
    quantity = request.quantity
    if instrument.min_quantity is not None and quantity < instrument.min_quantity:
        if request.notional is not None:
            return _check_notional_minimum(request, instrument)  # its quantity is the broker's to work out
        raise InvalidOrder(
            Reason.INVALID_QUANTITY,
            f"{request.symbol} orders are at least {instrument.min_quantity}; got {quantity}",
        )
    if instrument.min_notional is None:
        return
    if request.notional is not None:
        return _check_notional_minimum(request, instrument)
    price = request.limit_price if request.limit_price is not None else request.stop_price
    if price is None and quote is not None:
        price = quote.ask if request.side is _BUY else quote.bid
    if price is None or price <= 0:
        return
    notional = quantity * price
    if notional < instrument.min_notional:
        raise InvalidOrder(
            Reason.MIN_NOTIONAL,
            f"{request.symbol} orders are worth at least {instrument.min_notional} {instrument.currency}; "
            f"{quantity} at {price} is {notional.normalize():f}",
        )


def _check_notional_minimum(request: OrderRequest, instrument: Instrument) -> None:
    """A notional order is worth its notional: it meets the venue's minimum by that alone."""
    least = instrument.min_notional
    if least is not None and request.notional is not None and request.notional < least:
        raise InvalidOrder(
            Reason.MIN_NOTIONAL,
            f"{request.symbol} orders are worth at least {least} {instrument.currency}; "
            f"notional {request.notional} is less",
        )


def validate_replace(order: Order, change: ReplaceChange, instruments: InstrumentRegistry) -> OrderRequest:
    """Check a replace against the order it changes; returns the order as it would stand, as a request, for
    the risk checks. Raises InvalidOrder saying what to change."""
    if order.notional is not None:
        raise InvalidOrder(
            Reason.INVALID_FIELD,
            f"order {order.order_id} is for a notional of {order.notional}, which a replace cannot change; "
            "cancel it and place another",
        )
    if change == ReplaceChange():
        raise InvalidOrder(
            Reason.INVALID_FIELD, "a replace needs a new quantity, limit_price, stop_price or trail"
        )
    trail_price, trail_percent = order.trail_price, order.trail_percent
    if change.trail is not None:
        if order.order_type is not OrderType.TRAILING_STOP:
            raise InvalidOrder(
                Reason.STOP_PRICE_NOT_ALLOWED,
                f"order {order.order_id} is a {order.order_type.value} order; trail is for trailing stops",
            )
        if trail_percent is not None:
            trail_percent = change.trail
        else:
            trail_price = change.trail
    if change.quantity is not None and change.quantity <= order.filled_quantity:
        raise InvalidOrder(
            Reason.INVALID_QUANTITY,
            f"the new quantity {change.quantity} must be above what is filled ({order.filled_quantity}); "
            "cancel the order instead",
        )
    request = OrderRequest(
        symbol=order.symbol,
        side=order.side,
        quantity=change.quantity if change.quantity is not None else order.quantity,
        order_type=order.order_type,
        limit_price=change.limit_price if change.limit_price is not None else order.limit_price,
        stop_price=change.stop_price if change.stop_price is not None else order.stop_price,
        trail_price=trail_price,
        trail_percent=trail_percent,
        time_in_force=order.time_in_force,
        allow_duplicate=True,  # a change to an order, not a second one: the duplicate guard is for new ones
    )
    validate_for_instrument(request, instruments)
    return request
