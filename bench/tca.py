"""TCA speed: 1,000,000 fills against 10,000,000 quotes, all per-fill and per-order metrics.

    python bench/tca.py [--fills 1000000] [--quotes 10000000] [--trades 2000000]

Prints the time of each stage and the peak RSS. The data are synthetic (10 symbols, a random-walk mid,
trades on the quotes for VWAP, participation and ADV), made with numpy so building them is not what is
measured. Aggregates (bootstrap CIs) are timed separately: they are not per-fill or per-order metrics.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from ntlab.analytics import DEFAULT_HORIZONS, REALIZED, tca
from ntlab.analytics.fills import fill_metrics
from ntlab.analytics.inputs import read_fills, read_orders, read_quotes, read_trades
from ntlab.analytics.orders import order_metrics
from ntlab.analytics.timeutil import parse_horizon

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--quotes", type=int, default=10_000_000)
    parser.add_argument("--trades", type=int, default=2_000_000)
    args = parser.parse_args()
    orders, fills, quotes, trades = data(args.fills, args.quotes, args.trades)
    print(f"{len(fills):,} fills, {len(orders):,} orders, {len(quotes):,} quotes, {len(trades):,} trades")
    max_age = parse_horizon("60s")
    joins = 1 + len(DEFAULT_HORIZONS) + len(REALIZED)

    clock = time.perf_counter()
    o = read_orders(orders)
    f = read_fills(fills, o)
    q = read_quotes(quotes)
    t = read_trades(trades)
    checked = time.perf_counter()
    fill_frame = fill_metrics(f, o, q, DEFAULT_HORIZONS, REALIZED, max_age)
    per_fill = time.perf_counter()
    order_metrics(
        o,
        f,
        fill_frame["mid"].to_numpy(),
        q,
        t,
        max_age_ns=max_age,
        impact_coef=1.0,
        session_minutes=390,
        sigma_bps=None,
        adv=None,
    )
    per_order = time.perf_counter()
    print(f"checking and grouping inputs       {checked - clock:6.2f} s")
    print(f"per-fill metrics ({joins} as-of joins)    {per_fill - checked:6.2f} s")
    print(f"per-order metrics                  {per_order - per_fill:6.2f} s")
    print(f"total                              {per_order - clock:6.2f} s")
    clock = time.perf_counter()
    report = tca(orders, fills, quotes, trades)
    end_to_end = time.perf_counter()
    print(f"tca() end to end                   {end_to_end - clock:6.2f} s")
    report.summary  # noqa: B018  (computes the aggregates)
    print(f"summary (10 metrics, bootstrap CI) {time.perf_counter() - end_to_end:6.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak RSS                           {peak:6.2f} GB")


if __name__ == "__main__":
    main()
