"""TCA on a Dask cluster: ``tca(...)`` on Dask DataFrames of Parquet partitioned by symbol and day.

Layout (what ``ntlab export`` writes, see :mod:`ntlab.analytics.parquet`): ``orders/``, ``fills/``,
``quotes/`` and ``trades/``, each ``symbol=<S>/day=<YYYY-MM-DD>/``. Fills need a ``symbol`` column (the
partition key); a symbol-day may span several partitions, a partition may hold several symbol-days.

What runs where:

- **per partition, on the workers** (everything that reads quotes, trades or fills):
  an inventory of each partition (symbol-days, first and last time); per fill partition, the as-of joins
  of its fills (the mid at the fill and at every markout and realized-spread horizon) against the slices
  of quote days those times can fall in, the per-fill metrics, their sums per order and the markout sums;
  per quote day, σ's partial sums and the as-of lookups and TWAP pieces of the orders' times that fall in
  it; per trade day, ADV's partial sums and the VWAP/volume pieces of the orders' lives.
- **globally, on the client** (small): the orders table and the parent roll-up, adding up the partitions'
  sums, the per-parent metrics from them, and the aggregates (weighted means, percentiles, the bootstrap).

Each per-day piece is computed by the same kernel (:mod:`ntlab.analytics.market`) on the same rows as in
memory, and every as-of lookup returns a stored value, so the cluster's numbers equal the in-memory ones
(up to the order in which partial sums are added, ~1e-15 relative). ``report.fills`` stays a lazy Dask
DataFrame on the cluster; computing it runs the per-fill joins again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from ntlab.analytics.asof import locate
from ntlab.analytics.fills import FillSums, fill_metrics, fill_offsets
from ntlab.analytics.inputs import Orders, Quotes, read_fills, read_orders, read_quotes, read_trades
from ntlab.analytics.market import Answered, Asked, Pieces, adv_day, sigma_day, trades_day, twap_day
from ntlab.analytics.orders import order_tables
from ntlab.analytics.report import Conventions, TCAReport, markout_stats
from ntlab.analytics.timeutil import DAY_NS
from ntlab.analytics.units import resolve_units
from ntlab.errors import DataError

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]

# --- worker side: plain functions of one partition or one symbol-day -------------------------------


def _inventory(part: pd.DataFrame, number: int, what: str) -> pd.DataFrame:
    """Per symbol-day of one partition: first and last time, rows; refuses times running backwards."""
    columns = ["partition", "symbol", "day", "first", "last", "rows"]
    if part.empty:
        return pd.DataFrame(columns=columns)
    times = pd.DatetimeIndex(pd.to_datetime(part["time"], utc=True)).as_unit("ns").asi8
    codes, names = pd.factorize(part["symbol"].astype(str))
    order = np.argsort(codes, kind="stable")  # rows of each symbol, in their own order
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rows = []
    for k, symbol in enumerate(names):
        t = times[order[bounds[k] : bounds[k + 1]]]
        if what != "fills" and (np.diff(t) < 0).any():
            raise DataError(
                f"{what}: times for {symbol} go backwards in partition {number}; sort by time first"
            )
        day = t // DAY_NS
        if what == "fills":
            t = np.sort(t)
            day = t // DAY_NS
        starts = np.concatenate(([0], np.flatnonzero(np.diff(day)) + 1))
        ends = np.append(starts[1:], len(t)) - 1
        for a, b in zip(starts, ends, strict=True):
            rows.append((number, str(symbol), int(day[a]), int(t[a]), int(t[b]), int(b - a + 1)))
    return pd.DataFrame(rows, columns=columns)


def _listing(frame: dd.DataFrame | None, what: str) -> list[Any]:
    """Inventory tasks of a table, over the very partitions the later phases read (a read of fewer
    columns may number or group the files differently)."""
    return [delayed(_inventory)(p, i, what) for i, p in enumerate(_partitions(frame))]


def _load_day(kind: str, symbol: str, day: int, *parts: pd.DataFrame) -> Arrays:
    """One symbol-day of quotes (time, mid, spread) or trades (time, price, size), read as in memory."""
    frames = [p[(p["symbol"].astype(str) == symbol).to_numpy()] for p in parts]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    times = pd.DatetimeIndex(pd.to_datetime(frame["time"], utc=True)).as_unit("ns").asi8
    frame = frame[times // DAY_NS == day].assign(symbol=symbol)
    if kind == "quotes":
        return read_quotes(frame).by_symbol[symbol]  # type: ignore[return-value]
    return read_trades(frame).by_symbol[symbol]  # type: ignore[return-value]


def _slice(day: Arrays, start: int, end: int) -> Arrays:
    """The rows of one day with start ≤ time ≤ end: every quote that can be in force over those times."""
    lo = int(np.searchsorted(day[0], start, side="left"))
    hi = int(np.searchsorted(day[0], end, side="right"))
    return tuple(a[lo:hi] for a in day)  # type: ignore[return-value]


def _fill_partition(
    part: pd.DataFrame,
    orders: Orders,
    rows: np.ndarray,
    slices: Mapping[str, Sequence[Arrays]],
    last_ns: Mapping[str, int],
    horizons: Sequence[str],
    realized: Sequence[str],
    max_age_ns: int,
) -> tuple[pd.DataFrame, tuple[np.ndarray, dict[str, np.ndarray]], pd.DataFrame, np.ndarray]:
    """Per-fill metrics of one fill partition, with its sums per order (global rows) and markout sums."""
    fills = read_fills(part.drop(columns=[c for c in ("symbol", "day") if c in part]), orders)
    by_symbol = {}
    for symbol, pieces in slices.items():
        pieces = [p for p in pieces if len(p[0])]
        if pieces:
            by_symbol[symbol] = tuple(np.concatenate(columns) for columns in zip(*pieces, strict=True))
    quotes = Quotes(by_symbol, dict(last_ns))  # type: ignore[arg-type]
    frame = fill_metrics(fills, orders, quotes, horizons, realized, max_age_ns, orders.parent)
    sums = FillSums.of(fills, orders.sign, frame["mid"].to_numpy(), len(orders.quantity))
    local, values = sums.sparse()
    stats = markout_stats(frame, horizons)
    hashes = pd.util.hash_array(frame.index.to_numpy(dtype=object))
    for column in ("symbol", "side", "liquidity"):
        frame[column] = frame[column].astype(object)
    return frame, (rows[local], values), stats, hashes


def _lookup(day: Arrays, times: np.ndarray, max_age_ns: int, last_ns: int) -> tuple[np.ndarray, np.ndarray]:
    safe, valid = locate(day[0], times, max_age_ns, last_ns)
    return np.where(valid, day[1][safe], np.nan), np.where(valid, day[2][safe], np.nan)


def _twap(day: Arrays, cover: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return twap_day(day[0], day[1], cover, a, b)


def _trades(day: Arrays, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return trades_day(day[0], day[1], day[2], a, b)


# --- client side ----------------------------------------------------------------------------------


@dataclass
class Days:
    """Where each symbol-day of one table lives, in time order: from the partitions' inventory."""

    parts: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    days: dict[str, np.ndarray] = field(default_factory=dict)
    firsts: dict[str, np.ndarray] = field(default_factory=dict)
    lasts: dict[str, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def of(inventory: pd.DataFrame, what: str) -> Days:
        found = Days()
        if inventory.empty:
            return found
        table = inventory.sort_values(["symbol", "day", "first"], kind="stable")
        for (symbol, day), group in table.groupby(["symbol", "day"], sort=True):
            if (group["first"].to_numpy()[1:] < group["last"].to_numpy()[:-1]).any():
                raise DataError(f"{what}: {symbol} on day {day} is split over partitions whose times overlap")
            found.parts[str(symbol), int(day)] = [int(p) for p in group["partition"]]
        per_day = table.groupby(["symbol", "day"], sort=True).agg(
            first=("first", "min"), last=("last", "max")
        )
        for symbol, group in per_day.groupby(level="symbol", sort=True):
            found.days[str(symbol)] = group.index.get_level_values("day").to_numpy(dtype=np.int64)
            found.firsts[str(symbol)] = group["first"].to_numpy(dtype=np.int64)
            found.lasts[str(symbol)] = group["last"].to_numpy(dtype=np.int64)
        return found


def _partitions(frame: dd.DataFrame | None) -> list[Any]:
    """The partitions as Delayed objects, numbered as every phase numbers them (no column projection:
    a projected read may group files into partitions differently)."""
    return [] if frame is None else list(frame.to_delayed())


class DaskMarket:
    """The market on the cluster: every request becomes tasks on the quote or trade days it concerns."""

    def __init__(
        self, quotes: dd.DataFrame, trades: dd.DataFrame | None, quote_days: Days, trade_days: Days
    ) -> None:
        self._quote_parts = _partitions(quotes)
        self._trade_parts = _partitions(trades)
        self.q, self.t = quote_days, trade_days
        self.sigmas: dict[str, list[tuple[float, float, int]]] = {}
        self.advs: dict[str, list[tuple[float, float]]] = {}
        self._loaded: dict[tuple[str, str, int], Any] = {}

    def day(self, kind: str, symbol: str, k: int) -> Any:
        """The Delayed arrays of the ``k``-th day of ``symbol`` (one task per day per computation)."""
        days = self.q if kind == "quotes" else self.t
        day = int(days.days[symbol][k])
        key = (kind, symbol, day)
        if key not in self._loaded:
            parts = self._quote_parts if kind == "quotes" else self._trade_parts
            numbers = days.parts[symbol, day]
            self._loaded[key] = delayed(_load_day, pure=True)(kind, symbol, day, *[parts[i] for i in numbers])
        return self._loaded[key]

    def _compute(self, *collections: Any) -> Any:
        self._loaded.clear()  # the next request reads its days afresh (nothing is held on the cluster)
        return dask.compute(*collections)

    def last(self, symbol: str) -> int:
        return int(self.q.lasts[symbol][-1])

    def quote_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        firsts = self.q.firsts.get(symbol)
        if firsts is None:
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        return firsts, np.append(firsts[1:], self.last(symbol))

    def trade_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        if symbol not in self.t.firsts:
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        return self.t.firsts[symbol], self.t.lasts[symbol]

    def _lookup_tasks(
        self, codes: np.ndarray, names: Sequence[str], times: np.ndarray, max_age_ns: int
    ) -> tuple[list[Any], list[np.ndarray]]:
        """Each time goes to the quote day whose cover holds it (the last day starting at or before it):
        the quote in force is in that day, so the answer is the one the whole data set gives."""
        tasks, places = [], []
        for code, symbol in enumerate(names):
            firsts = self.q.firsts.get(symbol)
            rows = np.flatnonzero(codes == code)
            if firsts is None or not len(rows):
                continue
            k = np.searchsorted(firsts, times[rows], side="right") - 1
            for day in np.unique(k[k >= 0]):
                at = rows[k == day]
                day_arrays = self.day("quotes", symbol, int(day))
                tasks.append(delayed(_lookup)(day_arrays, times[at], max_age_ns, self.last(symbol)))
                places.append(at)
        return tasks, places

    def _piece_tasks(
        self, asked: Mapping[str, Pieces], kind: str
    ) -> tuple[list[Any], list[tuple[str, np.ndarray]]]:
        tasks, places = [], []
        for symbol, pieces in asked.items():
            _, covers = self.quote_days(symbol) if kind == "quotes" else self.trade_days(symbol)
            for k in np.unique(pieces.day):
                at = np.flatnonzero(pieces.day == k)
                day = self.day(kind, symbol, int(k))
                if kind == "quotes":
                    tasks.append(delayed(_twap)(day, int(covers[k]), pieces.a[at], pieces.b[at]))
                else:
                    tasks.append(delayed(_trades)(day, pieces.a[at], pieces.b[at]))
                places.append((symbol, at))
        return tasks, places

    @staticmethod
    def _placed(
        asked: Mapping[str, Pieces], places: list[tuple[str, np.ndarray]], results: Sequence[Any]
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {s: (np.zeros(len(p.row)), np.zeros(len(p.row))) for s, p in asked.items()}
        for (symbol, at), (first, second) in zip(places, results, strict=True):
            out[symbol][0][at], out[symbol][1][at] = first, second
        return out

    def answer(self, asked: Asked) -> Answered:
        """Lookups, TWAP pieces and VWAP pieces in one computation: each day is read once for all."""
        lookups, looked = self._lookup_tasks(asked.codes, asked.names, asked.times, asked.max_age_ns)
        twaps, twap_places = self._piece_tasks(asked.twap, "quotes")
        trades, trade_places = self._piece_tasks(asked.trades, "trades")
        found, twap_results, trade_results = self._compute(lookups, twaps, trades)
        mid, spread = np.full(len(asked.times), np.nan), np.full(len(asked.times), np.nan)
        for at, (m, s) in zip(looked, found, strict=True):
            mid[at], spread[at] = m, s
        return Answered(
            mid,
            spread,
            self._placed(asked.twap, twap_places, twap_results),
            self._placed(asked.trades, trade_places, trade_results),
        )

    def quote_at(
        self, codes: np.ndarray, names: Sequence[str], times: np.ndarray, max_age_ns: int
    ) -> tuple[np.ndarray, np.ndarray]:
        answered = self.answer(Asked(codes, names, times, max_age_ns, {}, {}))
        return answered.mid, answered.spread

    def twap_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self.answer(
            Asked(np.array([], dtype=np.int64), [], np.array([], dtype=np.int64), 0, dict(asked), {})
        ).twap

    def trade_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self.answer(
            Asked(np.array([], dtype=np.int64), [], np.array([], dtype=np.int64), 0, {}, dict(asked))
        ).trades

    def partial_tasks(self) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """σ and ADV partial sums per day, to be computed alongside the fills."""
        sigma = [
            (s, delayed(_sigma)(self.day("quotes", s, k)))
            for s in self.q.days
            for k in range(len(self.q.days[s]))
        ]
        volume = [
            (s, delayed(_adv)(self.day("trades", s, k)))
            for s in self.t.days
            for k in range(len(self.t.days[s]))
        ]
        return sigma, volume

    def sigma_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float, int]]]:
        return {s: self.sigmas.get(s, []) for s in symbols}

    def adv_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float]]]:
        return {s: self.advs.get(s, []) for s in symbols}


def _sigma(day: Arrays) -> tuple[float, float, int]:
    return sigma_day(day[0], day[1])


def _adv(day: Arrays) -> tuple[float, float]:
    return adv_day(day[0], day[2])


def _symbol_orders(orders: Orders, symbols: Sequence[str]) -> tuple[Orders, np.ndarray]:
    """The orders of ``symbols`` as their own small table (what a fill partition needs), and their rows."""
    wanted = np.isin(orders.symbol, list(symbols))
    rows = np.flatnonzero(wanted)
    codes, names = pd.factorize(orders.symbol[rows])
    sub = Orders(
        frame=pd.DataFrame(index=orders.frame.index[rows]),
        symbol=orders.symbol[rows],
        symbol_code=codes,
        symbol_names=[str(n) for n in names],
        sign=orders.sign[rows],
        quantity=orders.quantity[rows],
        arrival_ns=orders.arrival_ns[rows],
        decision_ns=orders.decision_ns[rows],
        end_ns=orders.end_ns[rows],
        parent=orders.parent[rows],
    )
    return sub, rows


def _shared(*values: Any) -> tuple[Any, ...]:
    """Values many tasks read: sent to the cluster once (scattered) when a distributed client runs,
    else embedded in the graph once."""
    try:
        from dask.distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return tuple(delayed(v, pure=True) for v in values)
    return tuple(client.scatter(v, broadcast=False) for v in values)


def _as_dask(frame: Any) -> dd.DataFrame | None:
    if frame is None or isinstance(frame, dd.DataFrame):
        return frame
    return dd.from_pandas(frame, npartitions=1)


def tca_dask(
    orders: Any,
    fills: Any,
    quotes: Any,
    trades: Any,
    conventions: Conventions,
    *,
    session_minutes: float,
    sigma_bps: float | Mapping[str, float] | None,
    adv: float | Mapping[str, float] | None,
) -> TCAReport:
    """The Dask engine behind :func:`ntlab.analytics.tca` (same arguments, same numbers)."""
    from ntlab.analytics import check_unit_fills, unit_options

    fills, quotes, trades = _as_dask(fills), _as_dask(quotes), _as_dask(trades)
    assert fills is not None and quotes is not None
    if "symbol" not in fills.columns:
        raise DataError("fills: on a cluster they need a symbol column (partition them by symbol and day)")
    order_frame = orders.compute() if isinstance(orders, dd.DataFrame) else orders
    order_frame = order_frame.drop(columns=[c for c in ("day",) if c in order_frame])
    order_data = read_orders(order_frame)
    units = resolve_units(order_data)
    options = unit_options(conventions)
    max_age = options["max_age_ns"]

    # phase 0: where every symbol-day is
    inventories = dask.compute(
        _listing(quotes, "quotes"), _listing(trades, "trades"), _listing(fills, "fills")
    )
    q_inv, t_inv, f_inv = (pd.concat(i, ignore_index=True) if i else pd.DataFrame() for i in inventories)
    market = DaskMarket(quotes, trades, Days.of(q_inv, "quotes"), Days.of(t_inv, "trades"))

    # phase 1: the fills, partition by partition, with σ and ADV partials on the side
    offsets = fill_offsets(conventions.horizons, conventions.realized)
    last_ns = {s: market.last(s) for s in market.q.lasts}
    fill_parts = _partitions(fills)
    subsets: dict[tuple[str, ...], tuple[Any, Any]] = {}
    outputs = []
    for number, group in f_inv.groupby("partition", sort=True) if len(f_inv) else []:
        symbols = tuple(sorted(group["symbol"].astype(str).unique()))
        if symbols not in subsets:
            subsets[symbols] = _shared(*_symbol_orders(order_data, symbols))
        slices: dict[str, list[Any]] = defaultdict(list)
        for symbol, times in group.groupby("symbol", sort=False):
            firsts, _ = market.quote_days(str(symbol))
            lo = int(times["first"].min()) + min(offsets) - max_age
            hi = int(times["last"].max()) + max(offsets)
            k_lo = max(int(np.searchsorted(firsts, lo, side="right")) - 1, 0)
            k_hi = int(np.searchsorted(firsts, hi, side="right")) - 1
            for k in range(k_lo, k_hi + 1):
                slices[str(symbol)].append(delayed(_slice)(market.day("quotes", str(symbol), k), lo, hi))
        task = delayed(_fill_partition, nout=4)(
            fill_parts[int(number)],
            *subsets[symbols],
            dict(slices),
            last_ns,
            conventions.horizons,
            conventions.realized,
            max_age,
        )
        outputs.append(task)
    sigma_tasks, adv_tasks = market.partial_tasks()
    sums_parts, stats_parts, hashes, sigmas, advs = market._compute(
        [t[1] for t in outputs],
        [t[2] for t in outputs],
        [t[3] for t in outputs],
        [t for _, t in sigma_tasks],
        [t for _, t in adv_tasks],
    )
    for (symbol, _), partial in zip(sigma_tasks, sigmas, strict=True):
        market.sigmas.setdefault(symbol, []).append(partial)
    for (symbol, _), partial in zip(adv_tasks, advs, strict=True):
        market.advs.setdefault(symbol, []).append(partial)
    all_hashes = np.concatenate(hashes) if hashes else np.array([], dtype=np.uint64)
    if len(np.unique(all_hashes)) < len(all_hashes):
        raise DataError("fills: a fill_id appears twice across partitions; ids must be unique")
    sums = FillSums.from_sparse(list(sums_parts), len(order_data.quantity))
    over = sums.filled > order_data.quantity * (1 + 1e-9)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise DataError(
            f"fills: {int(over.sum())} orders have more filled than ordered (e.g. {order_data.frame.index[k]!r})"
        )
    check_unit_fills(units, sums.filled)

    # phase 2: per-parent figures (lookups and interval pieces routed to their days), then aggregates
    order_table, children = order_tables(
        order_data,
        units,
        sums,
        market,
        fill_venues=None,
        has_trades=trades is not None,
        session_minutes=session_minutes,
        sigma_bps=sigma_bps,
        adv=adv,
        **options,
    )
    meta, _, empty_stats, _ = _fill_partition(
        fills._meta,
        *_symbol_orders(order_data, []),
        {},
        {},
        conventions.horizons,
        conventions.realized,
        max_age,
    )
    stats = pd.concat([empty_stats, *stats_parts], ignore_index=True)
    stats = stats.groupby(["group", "horizon"], sort=False).sum().reset_index()
    fill_frame = dd.from_delayed([t[0] for t in outputs], meta=meta, verify_meta=False) if outputs else meta
    return TCAReport(order_table, fill_frame, children, conventions, fill_stats=stats)


def report_from_parquet(data: str | Path, scheduler: str, *, tape_includes_fills: bool = False) -> TCAReport:
    """TCA of ``data`` (orders/, fills/, quotes/ [, trades/] as written by ``ntlab export``) on the Dask
    cluster at ``scheduler`` ("local": a LocalCluster of two workers on this machine)."""
    from dask.distributed import Client, LocalCluster

    from ntlab.analytics import tca

    root = Path(data)
    missing = [t for t in ("orders", "fills", "quotes") if not (root / t).is_dir()]
    if missing:
        raise DataError(f"{root}: no {', '.join(missing)} folder; write them with `ntlab export --market`")
    cluster = (
        LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GB") if scheduler == "local" else None
    )
    with Client(cluster if cluster is not None else scheduler):
        tables = {
            t: dd.read_parquet(root / t)
            for t in ("orders", "fills", "quotes", "trades")
            if (root / t).is_dir()
        }
        report = tca(
            tables["orders"],
            tables["fills"],
            tables["quotes"],
            tables.get("trades"),
            tape_includes_fills=tape_includes_fills,
            session=str(root),
            market_source=f"{root}/quotes" + (" and trades" if "trades" in tables else "") + " (Parquet)",
        )
        report.summary  # noqa: B018  (aggregates are made while the cluster is there)
    if cluster is not None:
        cluster.close()
    return report
