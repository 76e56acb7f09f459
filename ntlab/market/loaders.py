"""Load your own quotes and trades from CSV, Parquet or DataFrames, with errors that say what to fix.

Time columns may be ISO strings, datetimes, or epoch integers (seconds, milliseconds or nanoseconds,
told apart by magnitude). Naive times are taken as UTC; tz-aware ones are converted to UTC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.market.frames import QUOTE_COLUMNS, TRADE_COLUMNS, Market

Source = str | Path | pd.DataFrame


def _read(source: Source, what: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.exists():
        raise DataError(f"{what}: no file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            try:
                import pyarrow  # noqa: F401
            except ImportError as error:
                raise DataError(
                    f'{what}: reading Parquet needs pyarrow; pip install "ntlab[data]"'
                ) from error
            return pd.read_parquet(path)
        if suffix in (".csv", ".gz", ".txt"):
            return pd.read_csv(path)
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{what}: cannot read {path}: {error}") from error
    raise DataError(f"{what}: {path.name} is neither .csv nor .parquet; convert it or pass a DataFrame")


def _times(column: pd.Series, what: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        times = column
    elif pd.api.types.is_integer_dtype(column) or pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype="float64")
        magnitude = np.nanmax(np.abs(values)) if len(values) else 0
        unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
        times = pd.to_datetime(column, unit=unit, utc=True)
    else:
        try:
            times = pd.to_datetime(column, utc=True, format="ISO8601")
        except (ValueError, TypeError) as error:
            raise DataError(f"{what}: the time column has values that are not times ({error})") from error
    if times.dt.tz is None:
        times = times.dt.tz_localize("UTC")
    times = times.dt.tz_convert("UTC")
    if times.isna().any():
        raise DataError(f"{what}: {int(times.isna().sum())} rows have no time; drop or fix them")
    return times


def _check_columns(frame: pd.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(f"{what}: missing column(s) {', '.join(missing)}; found {found}")


def _numbers(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    for column in columns:
        try:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        except (ValueError, TypeError) as error:
            raise DataError(f"{what}: column {column!r} has non-numeric values ({error})") from error


def _no_missing(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    for column in columns:
        missing = frame[column].isna()
        if missing.any():
            raise DataError(
                f"{what}: {int(missing.sum())} rows have no {column} (first at row {missing.idxmax()}); drop or fix them"
            )


def _check_sorted(frame: pd.DataFrame, what: str) -> None:
    for symbol, rows in frame.groupby("symbol", sort=False, observed=True):
        ns = rows["time"].to_numpy().astype("datetime64[ns]").view("int64")
        backwards = np.flatnonzero(np.diff(ns) < 0)
        if len(backwards):
            row = rows.index[backwards[0] + 1]
            raise DataError(
                f"{what}: times for {symbol} go backwards at row {row} ({rows['time'].iloc[backwards[0] + 1]}); "
                "sort by time first (df.sort_values(['symbol', 'time']))"
            )


def load_quotes(source: Source, *, drop_crossed: bool = False) -> pd.DataFrame:
    """Quotes with columns symbol, time, bid, ask, bid_size, ask_size (sizes default to NaN if absent)."""
    what = "quotes"
    frame = _read(source, what)
    _check_columns(frame, ["symbol", "time", "bid", "ask"], what)
    for size in ("bid_size", "ask_size"):
        if size not in frame.columns:
            frame[size] = np.nan
    frame = frame[QUOTE_COLUMNS].reset_index(drop=True)
    frame["symbol"] = frame["symbol"].astype(str)
    frame["time"] = _times(frame["time"], what)
    _numbers(frame, ["bid", "ask", "bid_size", "ask_size"], what)
    _no_missing(frame, ["bid", "ask"], what)
    bad = frame[(frame["bid"] <= 0) | (frame["ask"] <= 0)]
    if len(bad):
        raise DataError(
            f"quotes: {len(bad)} rows have a non-positive bid or ask (first at row {bad.index[0]})"
        )
    crossed = frame["bid"] > frame["ask"]
    if crossed.any():
        if not drop_crossed:
            raise DataError(
                f"quotes: {int(crossed.sum())} rows have bid above ask (first at row {crossed.idxmax()}); "
                "fix them or pass drop_crossed=True to drop them"
            )
        frame = frame[~crossed].reset_index(drop=True)
    _check_sorted(frame, what)
    frame["symbol"] = frame["symbol"].astype("category")
    return frame


def load_trades(source: Source) -> pd.DataFrame:
    """Trades with columns symbol, time, price, size."""
    what = "trades"
    frame = _read(source, what)
    _check_columns(frame, TRADE_COLUMNS, what)
    frame = frame[TRADE_COLUMNS].reset_index(drop=True)
    frame["symbol"] = frame["symbol"].astype(str)
    frame["time"] = _times(frame["time"], what)
    _numbers(frame, ["price", "size"], what)
    _no_missing(frame, ["price", "size"], what)
    bad = frame[(frame["price"] <= 0) | (frame["size"] < 0)]
    if len(bad):
        raise DataError(
            f"trades: {len(bad)} rows have a non-positive price or negative size (first at row {bad.index[0]})"
        )
    _check_sorted(frame, what)
    frame["symbol"] = frame["symbol"].astype("category")
    return frame


def load_market(quotes: Source, trades: Source | None = None, *, drop_crossed: bool = False) -> Market:
    """A :class:`Market` from your quotes (and trades), ready for the paper venue and TCA."""
    q = load_quotes(quotes, drop_crossed=drop_crossed)
    t = load_trades(trades) if trades is not None else None
    return Market(q, t)
