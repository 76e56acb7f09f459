"""Checking and normalising TCA input frames: columns, times (int64 ns UTC), float prices, side signs.

Everything downstream works on numpy arrays; this is the one place that knows about DataFrame quirks
(Decimal object columns, tz-naive times, "Buy"/"SELL"/±1 sides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from ntlab.errors import DataError

ORDER_COLUMNS = ["order_id", "symbol", "side", "quantity", "arrival_time"]
FILL_COLUMNS = ["order_id", "fill_id", "time", "price", "quantity"]
QUOTE_COLUMNS = ["symbol", "time", "bid", "ask"]
TRADE_COLUMNS = ["symbol", "time", "price", "size"]


Groups = list[tuple[str, np.ndarray]]


def groups_of_codes(codes: np.ndarray, names: Sequence[object], times: np.ndarray | None = None) -> Groups:
    """Row indices per code; with ``times``, rows of a group come in time order, which makes every later
    searchsorted against quote times walk memory forward (several times faster on large inputs)."""
    order = np.argsort(codes, kind="stable") if times is None else np.lexsort((times, codes))
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return [(str(name), order[bounds[k] : bounds[k + 1]]) for k, name in enumerate(names)]


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(f"{what}: missing column(s) {', '.join(missing)}; found {found}")


MISSING_NS = np.iinfo(np.int64).min  # NaT's int64 value: "no time given" in optional time columns


def _ns(column: pd.Series, what: str, *, optional: bool = False) -> np.ndarray:
    """Times as int64 nanoseconds since the epoch, UTC (naive times are taken as UTC).

    With ``optional`` a missing time is kept as :data:`MISSING_NS` (the caller falls back to a default);
    otherwise it is an error.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        times = column if isinstance(column.dtype, pd.DatetimeTZDtype) else column.dt.tz_localize("UTC")
        index = pd.DatetimeIndex(times).tz_convert("UTC")
    else:
        try:
            index = pd.DatetimeIndex(pd.to_datetime(column, utc=True))
        except (ValueError, TypeError) as error:
            raise DataError(f"{what} has values that are not times ({error}); pass datetimes") from error
    if not optional and index.isna().any():
        raise DataError(f"{what}: {int(index.isna().sum())} rows have no time; drop or fix them")
    return index.as_unit("ns").asi8


def _floats(column: pd.Series, what: str) -> np.ndarray:
    """float64 values; object columns of Decimal (ntlab's own prices) and nullable dtypes become NaN-aware floats."""
    if column.dtype == object:
        column = column.map(lambda v: float(v) if isinstance(v, Decimal) else v)
    try:
        return pd.to_numeric(column).to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError) as error:
        raise DataError(
            f"{what} has values that are not numbers ({error}); pass numbers or Decimals"
        ) from error


def _positive(values: np.ndarray, what: str, ids: pd.Series) -> None:
    bad = ~(values > 0)
    if bad.any():
        first = ids.iloc[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{what}: {int(bad.sum())} rows are not positive numbers (e.g. {first!r}); fix or drop them"
        )


def _signs(column: pd.Series) -> np.ndarray:
    text = column.astype(str).str.strip().str.lower()
    signs = np.where(
        text.isin(["buy", "1", "+1", "1.0", "b"]),
        1.0,
        np.where(text.isin(["sell", "-1", "-1.0", "s"]), -1.0, 0.0),
    )
    if (signs == 0).any():
        bad = sorted(set(column[signs == 0].astype(str)))[:5]
        raise DataError(f"orders: side must be buy/sell or +1/-1; got {', '.join(map(repr, bad))}")
    return signs


@dataclass(frozen=True)
class Orders:
    frame: pd.DataFrame  # the caller's columns, indexed by order_id
    symbol: np.ndarray
    symbol_code: np.ndarray
    symbol_names: Sequence[str]
    sign: np.ndarray
    quantity: np.ndarray
    arrival_ns: np.ndarray
    decision_ns: np.ndarray  # arrival where no decision time was given
    end_ns: np.ndarray  # MISSING_NS where no end time was given: the last fill decides
    parent: np.ndarray  # the parent order id of each row, "" for none (object array of str)


@dataclass(frozen=True)
class Fills:
    frame: pd.DataFrame
    order_index: np.ndarray  # row of the order each fill belongs to
    time_ns: np.ndarray
    price: np.ndarray
    quantity: np.ndarray
    fee: np.ndarray
    liquidity: pd.Categorical  # "maker"/"taker" as given, lower case; categorical (cheap at 1M rows)


@dataclass(frozen=True)
class Quotes:
    """Mids per symbol, times sorted, as numpy arrays.

    ``last_ns`` is each symbol's last quote time in the whole data set: a lookup after it is beyond the
    data (NaN). It defaults to the last time held here; a slice of a bigger data set (one partition) is
    given the data set's, so a lookup answers the same in a slice as in the whole.
    """

    by_symbol: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # time_ns, mid, spread
    last_ns: dict[str, int] = field(default_factory=dict)

    def last(self, symbol: str) -> int:
        found = self.last_ns.get(symbol)
        return int(self.by_symbol[symbol][0][-1]) if found is None else found


@dataclass(frozen=True)
class Trades:
    by_symbol: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # time_ns, price, size


def read_orders(orders: pd.DataFrame) -> Orders:
    _require(orders, ORDER_COLUMNS, "orders")
    frame = orders.reset_index(drop=True).copy()
    frame["order_id"] = frame["order_id"].astype(str)
    duplicated = frame["order_id"].duplicated()
    if duplicated.any():
        raise DataError(
            f"orders: order_id {frame['order_id'][duplicated].iloc[0]!r} appears twice; ids must be unique"
        )
    quantity = _floats(frame["quantity"], "orders: quantity")
    _positive(quantity, "orders: quantity", frame["order_id"])
    arrival = _ns(frame["arrival_time"], "orders: arrival_time")
    decision = arrival
    if "decision_time" in frame:
        given = _ns(frame["decision_time"], "orders: decision_time", optional=True)
        decision = np.where(given == MISSING_NS, arrival, given)
    end = np.full(len(frame), MISSING_NS)
    if "end_time" in frame:
        end = _ns(frame["end_time"], "orders: end_time", optional=True)
    symbols = frame["symbol"].astype(str).to_numpy()
    codes, names = pd.factorize(symbols)
    return Orders(
        parent=_parents(frame),
        frame=frame.set_index("order_id"),
        symbol=symbols,
        symbol_code=codes,
        symbol_names=[str(n) for n in names],
        sign=_signs(frame["side"]),
        quantity=quantity,
        arrival_ns=arrival,
        decision_ns=decision,
        end_ns=end,
    )


def _parents(frame: pd.DataFrame) -> np.ndarray:
    """Parent ids as text, "" where there is none (missing, None, NaN or blank): ``parent_id`` is optional."""
    if "parent_id" not in frame:
        return np.full(len(frame), "", dtype=object)
    column = frame["parent_id"]
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    return text.to_numpy(dtype=object)


def read_fills(fills: pd.DataFrame, orders: Orders) -> Fills:
    _require(fills, FILL_COLUMNS, "fills")
    frame = fills.reset_index(drop=True).copy()
    frame["order_id"] = frame["order_id"].astype(str)
    # look up each distinct id once (fills of an order share it): several times faster than per row
    codes, distinct = pd.factorize(frame["order_id"])
    position = pd.Index(orders.frame.index).get_indexer(distinct)[codes] if len(frame) else np.array([], int)
    unknown = position < 0
    if unknown.any():
        example = frame["order_id"][unknown].iloc[0]
        raise DataError(
            f"fills: {int(unknown.sum())} rows name order ids not in orders (e.g. {example!r}); "
            "pass the orders they belong to or drop them"
        )
    frame["fill_id"] = frame["fill_id"].astype(str)
    if not frame["fill_id"].is_unique:
        duplicated = frame["fill_id"].duplicated()
        raise DataError(
            f"fills: fill_id {frame['fill_id'][duplicated].iloc[0]!r} appears twice; ids must be unique "
            "(prefix them with the order id if your broker numbers fills per order)"
        )
    price = _floats(frame["price"], "fills: price")
    quantity = _floats(frame["quantity"], "fills: quantity")
    _positive(price, "fills: price", frame["fill_id"])
    _positive(quantity, "fills: quantity", frame["fill_id"])
    filled = np.bincount(position, weights=quantity, minlength=len(orders.quantity))
    over = filled > orders.quantity * (1 + 1e-9)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise DataError(
            f"fills: {int(over.sum())} orders have more filled than ordered (e.g. {orders.frame.index[k]!r}: "
            f"{filled[k]:g} of {orders.quantity[k]:g}); fix the order quantity or drop the extra fills"
        )
    fee = np.zeros(len(frame))
    if "fee" in frame:  # a missing fee is no fee; negative fees are rebates
        fee = np.nan_to_num(_floats(frame["fee"], "fills: fee"), nan=0.0)
    liquidity = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[""])
    if "liquidity" in frame:  # lower-cased per category, not per row; missing is ""
        raw = frame["liquidity"].astype("category")
        labels = np.array([str(c).strip().lower() for c in raw.cat.categories] + [""], dtype=object)
        liquidity = pd.Categorical(labels[raw.cat.codes.to_numpy()])
    return Fills(frame, position, _ns(frame["time"], "fills: time"), price, quantity, fee, liquidity)


def _group(
    symbols: pd.Series, times: np.ndarray, *columns: np.ndarray, what: str
) -> dict[str, tuple[np.ndarray, ...]]:
    """Columns split by symbol (times first), each symbol's times checked to run forward.

    Data usually come in blocks of one symbol each: then every block is a slice (no sort, no copy).
    """
    values = symbols.array
    if not len(values):
        return {}
    differs = values[1:] != values[:-1]
    if hasattr(differs, "fillna"):  # nullable results: a missing symbol starts a block of its own
        differs = differs.fillna(True)
    starts = np.flatnonzero(np.append(True, np.asarray(differs, dtype=bool)))
    labels = pd.Index(values[starts])
    blocks: list[tuple[str, slice | np.ndarray]]
    if labels.is_unique and not labels.hasnans:  # one contiguous block per symbol: no factorize, no sort
        ends = np.append(starts[1:], len(values))
        blocks = [(str(name), slice(a, b)) for name, a, b in zip(labels, starts, ends, strict=True)]
    else:
        codes, names = pd.factorize(symbols)
        blocks = list(groups_of_codes(codes, names))
    out = {}
    for name, rows in blocks:
        t = times[rows]
        backwards = np.flatnonzero(np.diff(t) < 0)
        if len(backwards):
            raise DataError(
                f"{what}: times for {name} go backwards at its row {int(backwards[0]) + 1}; sort by time first"
            )
        out[name] = (t, *(c[rows] for c in columns))
    return out


def read_quotes(quotes: pd.DataFrame) -> Quotes:
    _require(quotes, QUOTE_COLUMNS, "quotes")
    symbols = quotes["symbol"]
    times = _ns(quotes["time"], "quotes: time")
    bid = _floats(quotes["bid"], "quotes: bid")
    ask = _floats(quotes["ask"], "quotes: ask")
    if not ((bid > 0) & (ask > 0)).all():  # also catches NaN
        raise DataError("quotes: bids and asks must be positive prices; drop empty or zero quotes first")
    grouped = _group(symbols, times, (bid + ask) / 2, ask - bid, what="quotes")
    return Quotes({s: (t, m, sp) for s, (t, m, sp) in grouped.items()})


def read_trades(trades: pd.DataFrame | None) -> Trades:
    if trades is None:
        return Trades({})
    _require(trades, TRADE_COLUMNS, "trades")
    symbols = trades["symbol"]
    times = _ns(trades["time"], "trades: time")
    price = _floats(trades["price"], "trades: price")
    size = _floats(trades["size"], "trades: size")
    if not (price > 0).all():
        raise DataError("trades: prices must be positive; drop empty or zero prints first")
    if not (size >= 0).all():
        raise DataError("trades: sizes must be numbers of at least zero; drop or fix the bad prints")
    return Trades(_group(symbols, times, price, size, what="trades"))
