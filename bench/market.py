"""Sample-market generation time, loader throughput, provider page parsing and cached reads.

    python bench/market.py              # generation (uncached) and 1,000,000-row Parquet/CSV loads
    python bench/market.py --rows 200000
    python bench/market.py --providers  # rows/s parsing each provider's pages; a cached symbol-day of quotes

Provider pages are built by the vendors' fakes from the sample market (50,000 quotes for Polygon, 10,000 for
Alpaca as their page limits are, a month of 1-minute bars for Alpha Vantage, a week of them for Yahoo) and
parsed as the providers parse an answer body: JSON decoding included.

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


def provider_pages(runs: int) -> None:
    """Rows per second parsing one page of each provider, and a cached read of a symbol-day of quotes."""
    import asyncio

    import httpx
    import orjson

    from ntlab.market.cache import ParquetCache
    from ntlab.market.fakes.alpaca import FakeAlpacaData
    from ntlab.market.fakes.alphavantage import FakeAlphaVantage
    from ntlab.market.fakes.polygon import FakePolygon
    from ntlab.market.fakes.yahoo import FakeYahoo
    from ntlab.market.providers import alpaca, alphavantage, polygon, yahoo
    from ntlab.market.providers.sample import SampleData

    now = pd.Timestamp("2026-03-10", tz="UTC")
    day_ns = (
        int(pd.Timestamp("2026-03-02 05:00", tz="UTC").value),
        int(pd.Timestamp("2026-03-03 05:00", tz="UTC").value),
    )

    async def pages() -> dict[str, bytes]:
        bodies = {}
        async with (
            FakePolygon() as fp,
            FakeAlpacaData(per_minute=None) as fa,
            FakeAlphaVantage() as fv,
            FakeYahoo() as fy,
        ):
            for fake in (fp, fa, fv, fy):
                fake.now = now
            async with httpx.AsyncClient(timeout=60) as http:
                q = {
                    "timestamp.gte": day_ns[0],
                    "timestamp.lt": day_ns[1],
                    "order": "asc",
                    "limit": 50_000,
                    "apiKey": fp.key,
                }
                bodies["polygon quotes"] = (await http.get(f"{fp.base_url}/v3/quotes/AAPL", params=q)).content
                bodies["polygon trades"] = (await http.get(f"{fp.base_url}/v3/trades/AAPL", params=q)).content
                keys = {"APCA-API-KEY-ID": fa.key_id, "APCA-API-SECRET-KEY": fa.secret_key}
                a = {"symbols": "AAPL", "start": "2026-03-02", "end": "2026-03-02", "limit": 10_000}
                bodies["alpaca quotes"] = (
                    await http.get(f"{fa.base_url}/v2/stocks/quotes", params=a, headers=keys)
                ).content
                v = {
                    "function": "TIME_SERIES_INTRADAY",
                    "symbol": "AAPL",
                    "interval": "1min",
                    "month": "2026-02",
                    "outputsize": "full",
                    "apikey": fv.key,
                }
                bodies["alphavantage 1min bars"] = (await http.get(f"{fv.base_url}/query", params=v)).content
                y = {
                    "period1": int(pd.Timestamp("2026-02-23 05:00", tz="UTC").timestamp()),
                    "period2": int(pd.Timestamp("2026-02-28 05:00", tz="UTC").timestamp()),
                    "interval": "1m",
                }
                bodies["yahoo 1min bars"] = (
                    await http.get(f"{fy.base_url}/v8/finance/chart/AAPL", params=y)
                ).content
        return bodies

    parsers = {
        "polygon quotes": lambda b: polygon.parse_quotes(orjson.loads(b)["results"]),
        "polygon trades": lambda b: polygon.parse_trades(orjson.loads(b)["results"]),
        "alpaca quotes": lambda b: alpaca.parse_quotes(orjson.loads(b)["quotes"]["AAPL"]),
        "alphavantage 1min bars": lambda b: alphavantage.parse_series(orjson.loads(b)["Time Series (1min)"]),
        "yahoo 1min bars": lambda b: yahoo.parse_chart(orjson.loads(b)["chart"]["result"][0]),
    }
    for name, body in asyncio.run(pages()).items():
        count = len(parsers[name](body))
        seconds = best_of(runs, lambda b=body, f=parsers[name]: f(b))
        print(
            f"parse {name:<24} {seconds * 1e3:7.1f} ms  {count / seconds:12,.0f} rows/s  ({count:,} rows, {len(body) / 1e6:.1f} MB)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        source = SampleData(cache=ParquetCache(tmp), now=now)
        source.quotes("AAPL", "2026-03-02")  # fills the cache: 23,400 one-second quotes
        seconds = best_of(max(runs, 5), lambda: source.quotes("AAPL", "2026-03-02"))
        print(
            f"cached read, one symbol-day of 1-second quotes: {seconds * 1e3:6.1f} ms  (23,400 rows; target < 50 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the loader files")
    parser.add_argument("--runs", type=int, default=3, help="timings per figure; the best is shown")
    parser.add_argument("--providers", action="store_true", help="only the provider figures")
    args = parser.parse_args()
    if args.providers:
        provider_pages(args.runs)
        return

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
    provider_pages(args.runs)


if __name__ == "__main__":
    main()
