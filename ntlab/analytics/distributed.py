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
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from ntlab.analytics.dask_market import Arrays, DaskMarket, Days, day_slice, partitions
from ntlab.analytics.fills import FillSums, fill_metrics, fill_offsets
from ntlab.analytics.inputs import Orders, Quotes, read_fills, read_orders
from ntlab.analytics.orders import order_tables
from ntlab.analytics.report import Conventions, TCAReport, markout_stats
from ntlab.analytics.timeutil import DAY_NS
from ntlab.analytics.units import resolve_units
from ntlab.errors import DataError

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
    return [delayed(_inventory)(p, i, what) for i, p in enumerate(partitions(frame))]


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


# --- client side ----------------------------------------------------------------------------------


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
    fill_parts = partitions(fills)
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
                slices[str(symbol)].append(delayed(day_slice)(market.day("quotes", str(symbol), k), lo, hi))
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
