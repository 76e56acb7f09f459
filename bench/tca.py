"""TCA speed: 1,000,000 fills against 10,000,000 quotes, all per-fill and per-order metrics.

    python bench/tca.py [--fills 1000000] [--quotes 10000000]

Prints the time of each stage and the peak RSS. The data are synthetic (10 symbols, a random-walk mid), made
with numpy so building them is not what is measured.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from ntlab.analytics import tca
from ntlab.analytics.inputs import read_fills, read_orders, read_quotes, read_trades
from ntlab.analytics.metrics import fill_metrics, order_metrics, parse_horizon


def data(n_fills: int, n_quotes: int, symbols: int = 10) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2026-03-02 14:30", tz="UTC").value
    per = n_quotes // symbols
    names = [f"S{k:02d}" for k in range(symbols)]
    q_time = np.tile(start + np.arange(per, dtype=np.int64) * 2_000_000, symbols)  # every 2 ms per symbol
    mid = 100 * np.exp(np.cumsum(rng.normal(0, 1e-5, per * symbols)))
    quotes = pd.DataFrame(
        {
            "symbol": np.repeat(names, per),
            "time": pd.to_datetime(q_time, utc=True),
            "bid": mid - 0.01,
            "ask": mid + 0.01,
        }
    )
    n_orders = n_fills // 10
    span = per * 2_000_000
    order_symbol = rng.integers(0, symbols, n_orders)
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
        }
    )
    return orders, fills, quotes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--quotes", type=int, default=10_000_000)
    args = parser.parse_args()
    orders, fills, quotes = data(args.fills, args.quotes)
    print(f"{len(fills):,} fills, {len(orders):,} orders, {len(quotes):,} quotes", flush=True)

    clock = time.perf_counter()
    o = read_orders(orders)
    f = read_fills(fills, o)
    q = read_quotes(quotes)
    t = read_trades(None)
    checked = time.perf_counter()
    fill_frame = fill_metrics(
        f, o, q, ("-5s", "0s", "1s", "5s", "1m", "5m"), ("15s", "1m"), parse_horizon("60s")
    )
    per_fill = time.perf_counter()
    order_metrics(o, f, fill_frame, q, t, parse_horizon("60s"), 1.0, None, None)
    per_order = time.perf_counter()
    print(f"checking and grouping inputs   {checked - clock:6.2f} s")
    print(f"per-fill metrics (9 as-of joins) {per_fill - checked:6.2f} s")
    print(f"per-order metrics              {per_order - per_fill:6.2f} s")
    print(f"total                          {per_order - clock:6.2f} s")
    clock = time.perf_counter()
    tca(orders, fills, quotes)
    print(f"tca() end to end               {time.perf_counter() - clock:6.2f} s")
    print(
        f"peak RSS                       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:6.2f} GB"
    )


if __name__ == "__main__":
    main()
