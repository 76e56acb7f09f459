"""Sample-market generation time and loader throughput.

    python bench/market.py              # generation (uncached) and 1,000,000-row Parquet/CSV loads
    python bench/market.py --rows 200000

Generation is timed with the cache cleared, best of a few runs. The loader files hold the sample market's
quotes (repeated across symbols to reach the row count) with ISO-8601 times in the CSV and timestamps in the
Parquet file, written to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from ntlab.market import load_quotes, sample_market
from ntlab.market.sample import _build


def best_of(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    """The fastest of ``runs`` timings of ``work()``, in seconds: the least disturbed by the machine."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def quotes_frame(rows: int) -> pd.DataFrame:
    """``rows`` quotes: the sample market's, relabelled as more symbols until there are enough."""
    base = sample_market().quotes
    parts, n = [], 0
    while n < rows:
        part = base.head(rows - n).copy()
        part["symbol"] = (
            part["symbol"].astype(str) + f"-{len(parts)}"
        )  # new names keep times sorted per symbol
        parts.append(part)
        n += len(part)
    frame = pd.concat(parts, ignore_index=True)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the loader files")
    parser.add_argument("--runs", type=int, default=3, help="timings per figure; the best is shown")
    args = parser.parse_args()

    def generate() -> None:
        _build.cache_clear()
        sample_market()

    seconds = best_of(args.runs, generate)
    market = sample_market()
    print(
        f"sample_market() uncached: {seconds * 1e3:7.0f} ms  "
        f"({len(market.symbols)} symbols, {len(market.quotes):,} quotes, {len(market.trades):,} trades)"
    )

    frame = quotes_frame(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "quotes.parquet"
        csv = Path(tmp) / "quotes.csv"
        frame.to_parquet(parquet, index=False)
        frame.to_csv(csv, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        for path in (parquet, csv):
            seconds = best_of(args.runs, lambda p=path: load_quotes(p))
            size = path.stat().st_size / 1e6
            print(
                f"load_quotes({path.suffix[1:]:>7}): {seconds * 1e3:7.0f} ms  "
                f"{len(frame) / seconds:12,.0f} rows/s  ({len(frame):,} rows, {size:.0f} MB)"
            )


if __name__ == "__main__":
    main()
