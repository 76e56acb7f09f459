"""Reading the arguments of Lab calls: each bad one is refused with an ntlab error before anything runs.

A notebook user types these by hand, so each refusal names the argument, what it got and what would do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from ntlab.core.enums import OrderStatus, TimeInForce
from ntlab.core.instruments import SYMBOL_FORMS, AssetKind, Instrument
from ntlab.core.records import Order
from ntlab.errors import InvalidArgument
from ntlab.lab.handles import OrderHandle

# 24-hour markets have no close for a day order to expire at: their orders live until cancelled.
DEFAULT_TIF = {
    AssetKind.EQUITY: TimeInForce.DAY,
    AssetKind.CRYPTO: TimeInForce.GTC,
    AssetKind.FX: TimeInForce.GTC,
}


def symbol(value: Any, name: str = "symbol") -> str:
    """A symbol as the venue spells it (``" aapl "`` -> ``"AAPL"``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{name}={value!r}: give a symbol, {SYMBOL_FORMS}")
    return value.strip().upper()


def order_id(value: Any) -> str:
    """An order id from an id, an order handle or an Order snapshot."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, OrderHandle | Order):
        return value.order_id
    raise InvalidArgument(f"order={value!r}: give an order id such as 'sim-000001', a handle or an Order")


def duration(value: Any, name: str) -> timedelta:
    """A positive duration: "30s", "5min", "1h", a timedelta, or seconds."""
    if value is None or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r}: give a duration such as '30s', '5min' or '1h'")
    try:
        step = (
            pd.Timedelta(seconds=value) if isinstance(value, int | float | Decimal) else pd.Timedelta(value)
        )
    except (ValueError, TypeError):
        raise InvalidArgument(f"{name}={value!r}: not a duration; use e.g. '30s', '5min', '1h'") from None
    if pd.isna(step) or step <= pd.Timedelta(0):
        raise InvalidArgument(f"{name}={value!r}: must be longer than zero")
    return step.to_pytimedelta()


def seconds(value: Any, name: str) -> float:
    """A positive number of seconds (a timeout)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgument(f"{name}={value!r}: give a positive number of seconds")
    return float(value)


def statuses(value: Any) -> set[OrderStatus]:
    """One status or several, as names or OrderStatus members."""
    items = [value] if isinstance(value, str | OrderStatus) else value
    if not isinstance(items, Iterable):
        items = [items]
    found = set()
    for item in items:
        try:
            found.add(OrderStatus(item.strip().lower() if isinstance(item, str) else item))
        except ValueError:
            names = ", ".join(s.value for s in OrderStatus)
            raise InvalidArgument(f"status={item!r} is not an order status; use one of: {names}") from None
    if not found:
        raise InvalidArgument("status=(): give at least one status to wait for")
    return found


def time_in_force(value: Any, instrument: Instrument | None) -> TimeInForce:
    """The caller's time in force, or the instrument's default: day for equities, gtc for crypto and FX."""
    if value is None:
        return DEFAULT_TIF[instrument.kind] if instrument is not None else TimeInForce.DAY
    try:
        return TimeInForce(value.strip().lower() if isinstance(value, str) else value)
    except ValueError:
        names = ", ".join(t.value for t in TimeInForce)
        raise InvalidArgument(f"tif={value!r} is not a time in force; use one of: {names}") from None


def choice(value: Any, name: str, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if not isinstance(value, str) or value.strip().lower() not in options:
        raise InvalidArgument(f"{name}={value!r}: use one of {', '.join(options)}")
    return value.strip().lower()
