"""The market data TCA needs for a set of orders, fetched from a provider: what ``ntlab report --quotes polygon`` runs.

Quotes (and trades, for VWAP and participation) of every symbol traded, for each New York day on which one of
its orders arrived or filled: whole days, since TCA's volatility and volume figures look at the day around the
order, and whole days are what the cache keeps.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ntlab.errors import DataError
from ntlab.market import calendar
from ntlab.market.frames import Market
from ntlab.market.providers import DataProvider, Kind, get_provider


def tca_market(
    provider: str | DataProvider,
    orders: pd.DataFrame,
    fills: pd.DataFrame | None = None,
    *,
    trades: bool = True,
    **options: Any,
) -> Market:
    """A Market covering ``orders`` (``symbol``, ``arrival_time``) and their ``fills`` (``order_id``, ``time``)."""
    if orders.empty:
        raise DataError("no orders: nothing to fetch market data for")
    source = get_provider(provider, **options)
    when = orders[["order_id", "symbol", "arrival_time"]].rename(columns={"arrival_time": "time"})
    if fills is not None and len(fills):
        when = pd.concat(
            [when, fills[["order_id", "time"]].merge(orders[["order_id", "symbol"]], on="order_id")]
        )
    days = pd.DatetimeIndex(pd.to_datetime(when["time"], utc=True)).tz_convert(calendar.EXCHANGE_TZ).date
    wanted = pd.DataFrame({"symbol": when["symbol"].astype(str).to_numpy(), "day": days}).drop_duplicates()
    quote_parts, trade_parts = [], []
    for symbol, group in wanted.groupby("symbol", sort=True):
        for day in sorted(group["day"]):
            quote_parts.append(source.quotes(symbol, day))
            if trades and Kind.TRADES in source.serves:
                trade_parts.append(source.trades(symbol, day))
    symbols = sorted(wanted["symbol"].unique())
    quotes = pd.concat(quote_parts, ignore_index=True)
    tape = pd.concat(trade_parts, ignore_index=True) if trade_parts else None
    for frame in (quotes, tape):
        if frame is not None:
            frame["symbol"] = pd.Categorical(frame["symbol"].astype(str), categories=symbols)
    return source.market_from(symbols, quotes, tape, True, min(days), max(days))
