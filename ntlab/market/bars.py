"""Bar sizes and OHLCV bars: one spelling of an interval for every provider, and bars built from trades.

An interval is written the pandas way (``"1min"``, ``"5min"``, ``"1h"``, ``"1D"``); :func:`parse_interval`
also takes the spellings users type from other tools (``"5m"``, ``"1hour"``, ``"day"``). Bars built from trades
follow what vendors publish: a bar exists only where something traded, ``time`` is its start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.market.frames import BAR_COLUMNS

_UNITS = {
    "s": "s",
    "sec": "s",
    "second": "s",
    "m": "min",
    "min": "min",
    "minute": "min",
    "t": "min",
    "h": "h",
    "hour": "h",
    "d": "D",
    "day": "D",
}


@dataclass(frozen=True, slots=True)
class Interval:
    """A bar size: ``count`` of ``unit`` (``"s"``, ``"min"``, ``"h"`` or ``"D"``)."""

    count: int
    unit: str

    @property
    def label(self) -> str:
        """The pandas spelling, also used in cache folder names: ``"5min"``, ``"1h"``, ``"1D"``."""
        return f"{self.count}{self.unit}"

    @property
    def nanos(self) -> int:
        return int(pd.Timedelta(self.label).value)

    @property
    def daily(self) -> bool:
        return self.unit == "D"

    def __str__(self) -> str:
        return self.label


def parse_interval(value: str | Interval) -> Interval:
    """``"5min"`` (or ``"5m"``, ``"5 minutes"``, ``"1h"``, ``"day"``) as an :class:`Interval`."""
    if isinstance(value, Interval):
        return value
    match = re.fullmatch(r"\s*(\d*)\s*([a-zA-Z]+?)s?\s*", str(value))
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise DataError(f"cannot read {value!r} as a bar size; use e.g. '1min', '5min', '1h' or '1D'")
    count = int(match.group(1) or 1)
    if count < 1 or (unit == "D" and count != 1):
        raise DataError(f"bar size {value!r} is not supported; use a positive count of s, min or h, or '1D'")
    return Interval(count, unit)


def empty_bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype="category"),
            "time": pd.Series(dtype="datetime64[ns, UTC]"),
            **{c: pd.Series(dtype="float64") for c in BAR_COLUMNS[2:]},
        }
    )


def bars_from_trades(trades: pd.DataFrame, interval: str | Interval) -> pd.DataFrame:
    """OHLCV bars (with VWAP and trade count) from one symbol's trades (``time, price, size``).

    Daily bars start at midnight New York, intraday ones on multiples of the interval; empty bars are not
    made. The ``symbol`` column is left out: callers add it.
    """
    size = parse_interval(interval)
    columns = BAR_COLUMNS[1:]
    if trades.empty:
        return empty_bars()[columns]
    ns = pd.DatetimeIndex(trades["time"]).as_unit("ns").asi8
    if size.daily:
        local = pd.DatetimeIndex(trades["time"]).tz_convert("America/New_York").normalize()
        starts = local.tz_convert("UTC").as_unit("ns").asi8
    else:
        starts = ns - ns % size.nanos
    price = trades["price"].to_numpy(dtype="float64")
    volume = trades["size"].to_numpy(dtype="float64")
    # trades are in time order, so each bar's rows are contiguous
    edges = np.flatnonzero(np.diff(starts)) + 1
    first = np.concatenate(([0], edges))
    last = np.concatenate((edges, [len(starts)])) - 1
    notional = np.add.reduceat(price * volume, first)
    total = np.add.reduceat(volume, first)
    frame = pd.DataFrame(
        {
            "time": pd.DatetimeIndex(starts[first].astype("datetime64[ns]")).tz_localize("UTC"),
            "open": price[first],
            "high": np.maximum.reduceat(price, first),
            "low": np.minimum.reduceat(price, first),
            "close": price[last],
            "volume": total,
            "vwap": np.where(total > 0, notional / np.where(total > 0, total, 1.0), np.nan),
            "trade_count": (last - first + 1).astype("float64"),
        }
    )
    return frame[columns]
