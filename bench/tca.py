"""TCA speed: 1,000,000 fills against 10,000,000 quotes, all per-fill and per-order metrics; and on Dask.

    python bench/tca.py [--fills 1000000] [--quotes 10000000] [--trades 2000000] [--runs 3]
    python bench/tca.py --dask [--dask-fills 10000000] [--dask-quotes 100000000] [--days 50] [--dir DIR]

In memory: prints the time of each stage (best and worst of ``--runs``) next to a hand-written numpy
searchsorted lower bound of the same joins and sums measured in the same run, the bootstrap summary
(100,000 single-day orders) and the peak RSS. The data are synthetic (10 symbols, a random-walk mid, trades
on the quotes for VWAP, participation and ADV), made with numpy so building them is not what is measured.

With ``--dask``: writes 10 symbols x ``--days`` days of quotes, trades, orders and fills as Parquet
partitioned by symbol and day (one symbol-day at a time, so memory stays small; kept in ``--dir`` and reused
when present), then runs ``tca()`` on a LocalCluster of 2 workers (4 GB each) and prints the wall time
and each worker's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ntlab.analytics import DEFAULT_HORIZONS, REALIZED, tca
from ntlab.analytics.fills import FillSums, fill_metrics, fill_offsets
from ntlab.analytics.inputs import (
    Fills,
    Orders,
    Quotes,
    Trades,
    read_fills,
    read_orders,
    read_quotes,
    read_trades,
)
from ntlab.analytics.market import LocalMarket
from ntlab.analytics.orders import order_tables
from ntlab.analytics.timeutil import parse_horizon
from ntlab.analytics.units import resolve_units

SYMBOLS = 10
QUOTE_EVERY_NS = 2_000_000  # a quote every 2 ms per symbol


def data(
    n_fills: int, n_quotes: int, n_trades: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2026-03-02 14:30", tz="UTC").value
    per = n_quotes // SYMBOLS
    names = [f"S{k:02d}" for k in range(SYMBOLS)]
    q_time = np.tile(start + np.arange(per, dtype=np.int64) * QUOTE_EVERY_NS, SYMBOLS)
    mid = 100 * np.exp(np.cumsum(rng.normal(0, 1e-5, per * SYMBOLS)))
    quotes = pd.DataFrame(
        {
            "symbol": np.repeat(names, per),
            "time": pd.to_datetime(q_time, utc=True),
            "bid": mid - 0.01,
            "ask": mid + 0.01,
        }
    )
    per_trade = max(1, n_trades // SYMBOLS)
    picked = np.sort(rng.choice(per, size=min(per, per_trade), replace=False))
    rows = (np.arange(SYMBOLS)[:, None] * per + picked[None, :]).ravel()
    trades = pd.DataFrame(
        {
            "symbol": np.repeat(names, len(picked)),
            "time": pd.to_datetime(q_time[rows], utc=True),
            "price": mid[rows] + rng.choice([-0.01, 0.01], len(rows)),
            "size": rng.integers(1, 500, len(rows)).astype(float),
        }
    )
    n_orders = n_fills // 10
    span = per * QUOTE_EVERY_NS
    order_symbol = rng.integers(0, SYMBOLS, n_orders)
    arrival = start + rng.integers(0, span // 2, n_orders)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(n_orders).astype(str),
            "symbol": np.array(names)[order_symbol],
            "side": np.where(rng.random(n_orders) < 0.5, "buy", "sell"),
            "quantity": np.full(n_orders, 1000.0),
            "arrival_time": pd.to_datetime(arrival, utc=True),
        }
    )
    owner = np.repeat(np.arange(n_orders), 10)[:n_fills]
    f_time = arrival[owner] + rng.integers(0, span // 4, n_fills)
    fills = pd.DataFrame(
        {
            "order_id": owner.astype(str),
            "fill_id": np.arange(n_fills).astype(str),
            "time": pd.to_datetime(f_time, utc=True),
            "price": 100 + rng.normal(0, 0.5, n_fills),
            "quantity": np.full(n_fills, 100.0),
            "fee": np.full(n_fills, 0.05),
            "liquidity": np.where(rng.random(n_fills) < 0.3, "maker", "taker"),
        }
    )
    return orders, fills, quotes, trades


def lower_bound(
    o: Orders, f: Fills, q: Quotes, t: Trades, offsets: list[int], max_age: int, impact_ns: int
) -> float:
    """The same joins and sums written directly in numpy: per symbol, sort the fills by time and
    searchsorted every lookup time into the quotes (fill + 8 horizons), per-fill arithmetic, bincount per
    order, then the orders' own lookups (arrival, end, last fill, after it) and VWAP/TWAP prefix sums.
    No checks, no frames, no reasons: what any implementation of these metrics has to do."""
    clock = time.perf_counter()
    n = len(o.quantity)
    sym = o.symbol_code[f.order_index]
    order = np.lexsort((f.time_ns, sym))
    bounds = np.searchsorted(sym[order], np.arange(len(o.symbol_names) + 1))
    mids = [np.empty(len(f.time_ns)) for _ in offsets]
    for k, name in enumerate(o.symbol_names):
        rows = order[bounds[k] : bounds[k + 1]]
        qt, mid, _ = q.by_symbol[name]
        tf = f.time_ns[rows]
        for out, offset in zip(mids, offsets, strict=True):
            u = tf + offset
            i = np.searchsorted(qt, u, side="right") - 1
            ok = (i >= 0) & (u <= qt[-1]) & (u - qt[np.maximum(i, 0)] <= max_age)
            out[rows] = np.where(ok, mid[np.maximum(i, 0)], np.nan)
    s = o.sign[f.order_index]
    m0 = mids[0]
    per_fill = [s * (f.price - m) / m0 * 1e4 for m in mids]  # spread paid, markouts, realized spreads
    del per_fill
    idx = f.order_index
    sums = [
        np.bincount(idx, weights=w, minlength=n)
        for w in (f.quantity, f.quantity * f.price, f.fee, f.quantity * m0)
    ]
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, idx, f.time_ns)
    groups = [np.flatnonzero(o.symbol_code == k) for k in range(len(o.symbol_names))]
    for k, name in enumerate(o.symbol_names):
        rows = groups[k]
        qt, mid, _ = q.by_symbol[name]
        for times in (o.arrival_ns[rows], last[rows], last[rows] + impact_ns):
            i = np.searchsorted(qt, times, side="right") - 1
            mid[np.maximum(i, 0)]
        tt, price, size = t.by_symbol[name]
        notional = np.concatenate(([0.0], np.cumsum(price * size)))
        shares = np.concatenate(([0.0], np.cumsum(size)))
        lo, hi = np.searchsorted(tt, o.arrival_ns[rows]), np.searchsorted(tt, last[rows], side="right")
        (notional[hi] - notional[lo]) / (shares[hi] - shares[lo])
        seconds = (qt - qt[0]) / 1e9
        area = np.concatenate(([0.0], np.cumsum((mid[:-1] - mid[0]) * np.diff(seconds))))
        for times in (o.arrival_ns[rows], last[rows]):
            j = np.clip(np.searchsorted(qt, times, side="right") - 1, 0, len(qt) - 1)
            area[j] + (mid[j] - mid[0]) * ((times - qt[0]) / 1e9 - seconds[j])
    del sums
    return time.perf_counter() - clock


def best(runs: int, work: Callable[[], float]) -> tuple[float, float]:
    times = [work() for _ in range(runs)]
    return min(times), max(times)


def write_dask_data(root: Path, n_fills: int, n_quotes: int, days: int) -> None:
    """Quotes, trades, orders and fills as Parquet by symbol and day, one symbol-day at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    names = [f"S{k:02d}" for k in range(SYMBOLS)]
    per_q = n_quotes // (SYMBOLS * days)
    per_f = n_fills // (SYMBOLS * days)
    per_o = max(1, per_f // 10)
    first = pd.Timestamp("2026-01-05 14:30", tz="UTC").value
    session = 390 * 60 * 10**9
    step = session // per_q

    def put(table: str, symbol: str, day: str, frame: pd.DataFrame) -> None:
        folder = root / table / f"symbol={symbol}" / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "part-0.parquet")

    for d in range(days):
        start = first + d * 86_400 * 10**9
        day = pd.Timestamp(start, tz="UTC").strftime("%Y-%m-%d")
        for symbol in names:
            times = start + np.arange(per_q, dtype=np.int64) * step
            mid = 100 * np.exp(np.cumsum(rng.normal(0, 1e-5, per_q)))
            put(
                "quotes",
                symbol,
                day,
                pd.DataFrame({"time": pd.to_datetime(times, utc=True), "bid": mid - 0.01, "ask": mid + 0.01}),
            )
            picked = np.sort(rng.choice(per_q, size=per_q // 5, replace=False))
            trades = pd.DataFrame(
                {
                    "time": pd.to_datetime(times[picked], utc=True),
                    "price": mid[picked] + rng.choice([-0.01, 0.01], len(picked)),
                    "size": rng.integers(1, 500, len(picked)).astype(float),
                }
            )
            put("trades", symbol, day, trades)
            arrival = start + rng.integers(0, session // 2, per_o)
            ids = np.char.add(f"{symbol}-{d}-", np.arange(per_o).astype(str))
            put(
                "orders",
                symbol,
                day,
                pd.DataFrame(
                    {
                        "order_id": ids,
                        "side": np.where(rng.random(per_o) < 0.5, "buy", "sell"),
                        "quantity": np.full(per_o, 1000.0),
                        "arrival_time": pd.to_datetime(arrival, utc=True),
                    }
                ),
            )
            owner = np.repeat(np.arange(per_o), 10)[:per_f]
            f_time = np.minimum(
                arrival[owner] + rng.integers(0, session // 4, len(owner)), start + session - 1
            )
            put(
                "fills",
                symbol,
                day,
                pd.DataFrame(
                    {
                        "order_id": ids[owner],
                        "fill_id": np.char.add(f"{symbol}-{d}-f", np.arange(len(owner)).astype(str)),
                        "time": pd.to_datetime(f_time, utc=True),
                        "price": 100 + rng.normal(0, 0.5, len(owner)),
                        "quantity": np.full(len(owner), 100.0),
                        "fee": np.full(len(owner), 0.05),
                        "liquidity": np.where(rng.random(len(owner)) < 0.3, "maker", "taker"),
                    }
                ),
            )


def dask_main(args: argparse.Namespace) -> None:
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    root = Path(args.dir)
    if not (root / "fills").is_dir():
        clock = time.perf_counter()
        write_dask_data(root, args.dask_fills, args.dask_quotes, args.days)
        print(f"wrote {root} in {time.perf_counter() - clock:.0f} s")
    size = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 2**30
    print(
        f"{args.dask_fills:,} fills, {args.dask_quotes:,} quotes; {SYMBOLS} symbols x {args.days} days; {size:.1f} GB of Parquet"
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit="4GB", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        tables = {t: dd.read_parquet(root / t) for t in ("orders", "fills", "quotes", "trades")}
        print(f"partitions: {', '.join(f'{t} {f.npartitions}' for t, f in tables.items())}")
        for run in range(args.runs):
            client.run(_reset_peak)
            clock = time.perf_counter()
            report = tca(tables["orders"], tables["fills"], tables["quotes"], tables["trades"])
            metrics = time.perf_counter() - clock
            report.summary  # noqa: B018
            total = time.perf_counter() - clock
            peaks = client.run(_peak_gb)
            worst = max(peaks.values())
            print(
                f"run {run + 1}: tca() {metrics:6.1f} s, with the summary {total:6.1f} s; {len(report.orders):,} orders, "
                f"{report.fill_count:,} fills; worker peak RSS {', '.join(f'{v:.2f}' for v in peaks.values())} GB (max {worst:.2f})"
            )
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"client peak RSS {client_peak:.2f} GB")


def _reset_peak() -> None:
    """Linux: writing 5 to /proc/self/clear_refs resets the peak RSS a process reports (VmHWM)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dask", action="store_true", help="the Dask benchmark instead")
    parser.add_argument("--dask-fills", type=int, default=10_000_000)
    parser.add_argument("--dask-quotes", type=int, default=100_000_000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--dir", default="/tmp/ntlab-tca-bench")
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--quotes", type=int, default=10_000_000)
    parser.add_argument("--trades", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3, help="repeat each timed stage, print best and worst")
    args = parser.parse_args()
    if args.dask:
        dask_main(args)
        return
    orders, fills, quotes, trades = data(args.fills, args.quotes, args.trades)
    print(f"{len(fills):,} fills, {len(orders):,} orders, {len(quotes):,} quotes, {len(trades):,} trades")
    max_age = parse_horizon("60s")
    offsets = fill_offsets(DEFAULT_HORIZONS, REALIZED)
    impact = parse_horizon("5m")

    clock = time.perf_counter()
    o = read_orders(orders)
    f = read_fills(fills, o)
    q = read_quotes(quotes)
    t = read_trades(trades)
    units = resolve_units(o)
    print(f"checking and grouping inputs          {time.perf_counter() - clock:6.2f} s")

    def per_fill() -> float:
        start = time.perf_counter()
        frame = fill_metrics(f, o, q, DEFAULT_HORIZONS, REALIZED, max_age)
        sums = FillSums.of(f, o.sign, frame["mid"].to_numpy(), len(o.quantity))
        per_fill.sums = sums  # type: ignore[attr-defined]
        return time.perf_counter() - start

    def per_order() -> float:
        start = time.perf_counter()
        order_tables(
            o,
            units,
            per_fill.sums,  # type: ignore[attr-defined]
            LocalMarket(q, t),
            fill_venues=None,
            has_trades=True,
            max_age_ns=max_age,
            impact_coef=1.0,
            impact_horizon_ns=impact,
            impact_horizon="5m",
            tape_includes_fills=True,
            session_minutes=390,
            sigma_bps=None,
            adv=None,
        )
        return time.perf_counter() - start

    fill_best, fill_worst = best(args.runs, per_fill)
    order_best, order_worst = best(args.runs, per_order)
    bound_best, bound_worst = best(args.runs, lambda: lower_bound(o, f, q, t, offsets, max_age, impact))
    print(
        f"per-fill metrics ({len(offsets)} as-of joins)       {fill_best:6.2f} s  (worst of {args.runs}: {fill_worst:.2f})"
    )
    print(f"per-order metrics                     {order_best:6.2f} s  (worst: {order_worst:.2f})")
    metrics = fill_best + order_best
    print(f"per-fill + per-order                  {metrics:6.2f} s")
    print(f"numpy searchsorted lower bound        {bound_best:6.2f} s  (worst: {bound_worst:.2f})")
    print(f"ratio to the lower bound              {metrics / bound_best:6.2f} x")
    clock = time.perf_counter()
    report = tca(orders, fills, quotes, trades)
    end_to_end = time.perf_counter()
    print(f"tca() end to end                      {end_to_end - clock:6.2f} s")
    first = report.summary
    boot = time.perf_counter()
    print(
        f"summary (14 metrics, bootstrap CI)    {boot - end_to_end:6.2f} s  ({len(orders):,} orders, one day)"
    )
    again = tca(orders, fills, quotes, trades).summary
    same = first.equals(again)
    print(f"same seed, same intervals             {same}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak RSS                              {peak:6.2f} GB")


if __name__ == "__main__":
    main()
