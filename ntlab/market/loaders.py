"""Load your own quotes and trades from CSV, Parquet or DataFrames, with errors that say what to fix.

Quotes need columns ``symbol, time, bid, ask, bid_size, ask_size``; trades ``symbol, time, price, size``;
other columns are dropped. Time columns may be ISO strings, datetimes, or epoch integers (seconds,
milliseconds, microseconds or nanoseconds, told apart by magnitude). **Naive times are taken as UTC**;
tz-aware ones are converted to UTC. Files are read by suffix: ``.csv`` (also ``.csv.gz``) or ``.parquet``
(needs pyarrow: ``pip install "ntlab[data]"``).

What comes back is normalised the way :class:`~ntlab.market.Market` expects: ``symbol`` categorical,
``time`` datetime64[ns, UTC], numbers float64, each symbol's rows together (in order of first appearance)
and sorted by time. Times out of order within a symbol are an error rather than silently sorted, since they
usually mean a broken export.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from ntlab.core.instruments import Instrument
from ntlab.errors import DataError
from ntlab.market.frames import QUOTE_COLUMNS, TRADE_COLUMNS, Market

Source: TypeAlias = str | Path | pd.DataFrame

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".gz", ".bz2", ".zip", ".xz")


def _read(source: Source, what: str) -> pd.DataFrame:
    """The raw frame behind ``source``; any failure to read becomes a DataError naming the file."""
    if isinstance(source, pd.DataFrame):
        return source
    if not isinstance(source, str | Path):
        raise DataError(f"{what}: expected a CSV/Parquet path or a DataFrame, got {type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{what}: no file at {path}")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        if importlib.util.find_spec("pyarrow") is None:
            raise DataError(f'{what}: reading Parquet ({path.name}) needs pyarrow; pip install "ntlab[data]"')
        reader = pd.read_parquet
    elif suffix in CSV_SUFFIXES:
        reader = pd.read_csv
    else:
        raise DataError(f"{what}: {path.name} is neither .csv nor .parquet; convert it or pass a DataFrame")
    try:
        return reader(path)
    except (
        Exception
    ) as error:  # every reader failure (corrupt, empty, wrong encoding) means the same to a user
        raise DataError(f"{what}: cannot read {path}: {error}") from error


def _check_columns(frame: pd.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(f"{what}: missing column(s) {', '.join(missing)}; found {found}")


def _times(column: pd.Series, what: str) -> pd.Series:
    """Times as datetime64[ns, UTC]: naive ones taken as UTC, epoch integers by their magnitude."""
    try:
        if pd.api.types.is_datetime64_any_dtype(column):
            times = pd.to_datetime(column, utc=True)
        elif pd.api.types.is_bool_dtype(column):
            raise TypeError("true/false values")
        elif pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            finite = np.abs(values[np.isfinite(values)])
            magnitude = finite.max() if len(finite) else 0.0
            unit = (
                "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
            )
            if unit == "ns" and pd.api.types.is_integer_dtype(column):
                times = pd.Series(pd.to_datetime(column.to_numpy(dtype="int64"), unit="ns", utc=True))
            else:
                times = pd.Series(pd.to_datetime(values, unit=unit, utc=True))
        else:
            if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty", "datetime", "date"):
                column = column.astype("string")  # mixed values: numbers among strings are not ISO times
            times = pd.to_datetime(column, utc=True, format="ISO8601")
        times = pd.Series(pd.DatetimeIndex(times).tz_convert("UTC").as_unit("ns"), name="time")
    except (ValueError, TypeError, OverflowError) as error:
        raise DataError(f"{what}: the time column has values that are not times ({error})") from error
    missing = times.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{what}: {int(missing.sum())} rows have no time (first at row {_label(column, missing)}); "
            "drop or fix them"
        )
    return times


def _label(frame: pd.Series | pd.DataFrame, mask: np.ndarray) -> object:
    """The row label of the first True in ``mask``, as the user's frame numbers it."""
    return frame.index[int(np.argmax(mask))]


def _numbers(frame: pd.DataFrame, source: pd.DataFrame, columns: list[str], what: str) -> None:
    for column in columns:
        try:
            values = pd.to_numeric(source[column].reset_index(drop=True)).astype("float64")
        except (ValueError, TypeError, OverflowError) as error:
            raise DataError(f"{what}: column {column!r} has non-numeric values ({error})") from error
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            raise DataError(
                f"{what}: {int(bad.sum())} rows have no {column} or an infinite one "
                f"(first at row {_label(source, bad)}); drop or fix them"
            )
        frame[column] = values


def _symbols(source: pd.DataFrame, what: str) -> pd.Series:
    symbols = source["symbol"].reset_index(drop=True)
    missing = symbols.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{what}: {int(missing.sum())} rows have no symbol (first at row {_label(source, missing)})"
        )
    return symbols.astype(str)


def _group_and_check_order(frame: pd.DataFrame, labels: pd.Index, what: str) -> pd.DataFrame:
    """Each symbol's rows together (stable), refusing times that go backwards within a symbol."""
    codes, _ = pd.factorize(frame["symbol"], sort=False)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    ns = frame["time"].to_numpy(dtype="datetime64[ns]").view("int64")[order]
    backwards = np.flatnonzero((np.diff(ns) < 0) & (codes[1:] == codes[:-1]))
    if len(backwards):
        row = order[backwards[0] + 1]
        symbol = frame["symbol"].iloc[row]
        raise DataError(
            f"{what}: times for {symbol} go backwards at row {labels[row]} ({frame['time'].iloc[row]} after "
            f"{frame['time'].iloc[order[backwards[0]]]}); sort first: df.sort_values(['symbol', 'time'], "
            "kind='stable')"
        )
    if np.any(order != np.arange(len(order))):
        frame = frame.iloc[order].reset_index(drop=True)
    frame["symbol"] = frame["symbol"].astype(pd.CategoricalDtype(pd.unique(frame["symbol"])))
    return frame


def _load(source: Source, columns: list[str], what: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = _read(source, what)
    _check_columns(raw, columns, what)
    frame = pd.DataFrame({"symbol": _symbols(raw, what), "time": _times(raw["time"], what)})
    _numbers(frame, raw, columns[2:], what)
    return raw, frame


def load_quotes(source: Source, *, drop_crossed: bool = False) -> pd.DataFrame:
    """Quotes (symbol, time, bid, ask, bid_size, ask_size) from a CSV/Parquet path or a DataFrame.

    Crossed quotes (bid above ask) are an error; ``drop_crossed=True`` drops them instead. Locked quotes
    (bid equal to ask) are kept.
    """
    what = "quotes"
    raw, frame = _load(source, QUOTE_COLUMNS, what)
    labels = raw.index
    bad = ((frame["bid"] <= 0) | (frame["ask"] <= 0)).to_numpy()
    if bad.any():
        raise DataError(
            f"quotes: {int(bad.sum())} rows have a non-positive bid or ask (first at row {labels[np.argmax(bad)]})"
        )
    negative = ((frame["bid_size"] < 0) | (frame["ask_size"] < 0)).to_numpy()
    if negative.any():
        raise DataError(
            f"quotes: {int(negative.sum())} rows have a negative size (first at row {labels[np.argmax(negative)]})"
        )
    crossed = (frame["bid"] > frame["ask"]).to_numpy()
    if crossed.any():
        if not drop_crossed:
            raise DataError(
                f"quotes: {int(crossed.sum())} rows have bid above ask (first at row {labels[np.argmax(crossed)]}); "
                "fix them or pass drop_crossed=True to drop them"
            )
        frame = frame[~crossed].reset_index(drop=True)
        labels = labels[~crossed]
    return _group_and_check_order(frame, labels, what)


def load_trades(source: Source) -> pd.DataFrame:
    """Trades (symbol, time, price, size) from a CSV/Parquet path or a DataFrame."""
    what = "trades"
    raw, frame = _load(source, TRADE_COLUMNS, what)
    bad = ((frame["price"] <= 0) | (frame["size"] < 0)).to_numpy()
    if bad.any():
        raise DataError(
            f"trades: {int(bad.sum())} rows have a non-positive price or a negative size "
            f"(first at row {raw.index[np.argmax(bad)]})"
        )
    return _group_and_check_order(frame, raw.index, what)


def load_market(
    quotes: Source,
    trades: Source | None = None,
    *,
    instruments: dict[str, Instrument] | None = None,
    drop_crossed: bool = False,
) -> Market:
    """A :class:`Market` from your quotes (and trades), ready for the paper venue and TCA.

    Instruments not given are inferred from each symbol's shape (AAPL equity, EUR/USD FX, BTC/USD crypto);
    the session runs from the first to the last timestamp in the data.
    """
    q = load_quotes(quotes, drop_crossed=drop_crossed)
    t = load_trades(trades) if trades is not None else None
    return Market(q, t, instruments)
