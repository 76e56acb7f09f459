"""A v20 trade's dependent orders in the fake: the take-profit, stop-loss and trailing stop-loss an order's
``takeProfitOnFill`` / ``stopLossOnFill`` / ``trailingStopLossOnFill`` create when its fill opens a trade.

How v20 checks those details, with its reject reasons (``TAKE_PROFIT_ON_FILL_PRICE_MISSING``, ...), and how
each dependent order meets the kit's engine: a TAKE_PROFIT is a limit at its price, a STOP_LOSS a stop at
its price (or at ``distance`` from the trade's open price), a TRAILING_STOP_LOSS a trailing stop ``distance``
behind the market. They close their trade: for its units, whatever they are now.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ntlab.brokers.oanda.wire import InstrumentSpec

#: the on-fill details of an order request -> the dependent order type they create
ON_FILL: dict[str, str] = {
    "takeProfitOnFill": "TAKE_PROFIT",
    "stopLossOnFill": "STOP_LOSS",
    "trailingStopLossOnFill": "TRAILING_STOP_LOSS",
}
#: the prefix of each detail's reject reasons
REJECT_PREFIX: dict[str, str] = {
    "takeProfitOnFill": "TAKE_PROFIT_ON_FILL",
    "stopLossOnFill": "STOP_LOSS_ON_FILL",
    "trailingStopLossOnFill": "TRAILING_STOP_LOSS_ON_FILL",
}
#: the dependent order type -> the trade's field for it (``takeProfitOrder``, or ``takeProfitOrderID`` in a
#: trade summary)
TRADE_FIELD: dict[str, str] = {
    "TAKE_PROFIT": "takeProfitOrder",
    "STOP_LOSS": "stopLossOrder",
    "TRAILING_STOP_LOSS": "trailingStopLossOrder",
}
DEPENDENT_TIME_IN_FORCE = ("GTC", "GTD", "GFD")


class OnFillRefusal(Exception):
    """A price or an on-fill detail v20 refuses; ``reason`` is the rejectReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason.replace("_", " ").capitalize())
        self.reason = reason


def checked_number(value: Any, instrument: InstrumentSpec, reason: str) -> Decimal:
    """A price or distance v20 accepts for ``instrument``, or the refusal ``<reason>_INVALID`` /
    ``<reason>_PRECISION_EXCEEDED`` (``<reason>_MISSING`` for a missing order price)."""
    if value is None:
        raise OnFillRefusal(f"{reason}_MISSING" if reason == "PRICE" else f"{reason}_INVALID")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OnFillRefusal(f"{reason}_INVALID") from None
    if not number.is_finite() or number <= 0:
        raise OnFillRefusal(f"{reason}_INVALID")
    if -number.normalize().as_tuple().exponent > instrument.display_precision:  # type: ignore[operator]
        raise OnFillRefusal(f"{reason}_PRECISION_EXCEEDED")
    return number


def check_on_fill(spec: dict[str, Any], instrument: InstrumentSpec, taken: Callable[[str], bool]) -> None:
    """Refuse an order's on-fill details as v20 does (``taken``: whether a client order id is in use)."""
    ids = []
    own = (spec.get("clientExtensions") or {}).get("id")
    if own:
        ids.append(own)
    for key, prefix in REJECT_PREFIX.items():
        details = spec.get(key)
        if details is None:
            continue
        if not isinstance(details, dict):
            raise OnFillRefusal(
                f"{prefix}_PRICE_INVALID"
                if key != "trailingStopLossOnFill"
                else f"{prefix}_PRICE_DISTANCE_INVALID"
            )
        price, distance = details.get("price"), details.get("distance")
        if key == "takeProfitOnFill":
            if price is None:
                raise OnFillRefusal(f"{prefix}_PRICE_MISSING")
            checked_number(price, instrument, f"{prefix}_PRICE")
        elif key == "stopLossOnFill":
            if price is not None and distance is not None:
                raise OnFillRefusal(f"{prefix}_PRICE_AND_DISTANCE_BOTH_SPECIFIED")
            if price is None and distance is None:
                raise OnFillRefusal(f"{prefix}_PRICE_AND_DISTANCE_BOTH_MISSING")
            if price is not None:
                checked_number(price, instrument, f"{prefix}_PRICE")
            else:
                checked_number(distance, instrument, f"{prefix}_DISTANCE")
        else:
            if distance is None:
                raise OnFillRefusal(f"{prefix}_PRICE_DISTANCE_MISSING")
            checked_number(distance, instrument, f"{prefix}_PRICE_DISTANCE")
        tif = details.get("timeInForce", "GTC")
        if tif not in DEPENDENT_TIME_IN_FORCE:
            raise OnFillRefusal(f"{prefix}_TIME_IN_FORCE_INVALID")
        if tif == "GTD" and not details.get("gtdTime"):
            raise OnFillRefusal(f"{prefix}_GTD_TIMESTAMP_MISSING")
        client = (details.get("clientExtensions") or {}).get("id")
        if client is not None:
            if not isinstance(client, str) or not client or len(client) > 128:
                raise OnFillRefusal(f"{prefix}_CLIENT_ORDER_ID_INVALID")
            if taken(client):
                raise OnFillRefusal(f"{prefix}_CLIENT_ORDER_ID_ALREADY_EXISTS")
            ids.append(client)
    if len(ids) != len(set(ids)):
        raise OnFillRefusal("ORDERS_ON_FILL_DUPLICATE_CLIENT_ORDER_IDS")
