"""News and odds: what a cached headline request saves, and how long the odds analytics take on a large board.

    python bench/news_odds.py [--events 500] [--books 20]

The odds board is ``--events`` three-way markets priced by ``--books`` bookmakers each. Prints figures;
asserts nothing (timings on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np
import pandas as pd

from ntlab.news import NewsClient
from ntlab.news.fake import FAKE_NEWS_KEY, FakeNewsAPI
from ntlab.odds import arbitrage, best_prices, consensus, no_vig, overround


async def news() -> None:
    async with FakeNewsAPI(requests_per_day=None) as fake:
        client = NewsClient(FAKE_NEWS_KEY, base_url=fake.base_url)
        queries = [f"Nvidia OR Apple OR {w}" for w in ("Microsoft", "Bitcoin", "Berkshire", "Tesla", "Intel")]
        start = time.perf_counter()
        for q in queries:
            await client.aeverything(q)
        network = (time.perf_counter() - start) / len(queries)
        start = time.perf_counter()
        for q in queries:
            await client.aeverything(q)
        cached = (time.perf_counter() - start) / len(queries)
        print(
            f"news everything(): {network * 1e3:.1f} ms over loopback HTTP, {cached * 1e3:.2f} ms from the cache "
            f"({fake.requests} requests for {2 * len(queries)} calls)"
        )


def board(events: int = 500, books: int = 20, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(events):
        p = rng.dirichlet([4, 3, 2])
        for b in range(books):
            margin = rng.uniform(0.02, 0.07)
            prices = np.round(1 / (p * (1 + margin) * rng.uniform(0.985, 1.015, 3)), 2)
            for name, price in zip(("Home", "Away", "Draw"), prices, strict=True):
                rows.append((f"e{e}", f"b{b}", "h2h", None, np.nan, name, np.nan, float(price)))
    columns = ["event_id", "bookmaker", "market", "description", "line", "outcome", "point", "price"]
    return pd.DataFrame(rows, columns=columns)


def odds(events: int, books: int) -> None:
    frame = board(events, books)
    print(
        f"odds board: {len(frame):,} prices ({frame['event_id'].nunique()} events x {frame['bookmaker'].nunique()} books x 3)"
    )
    for name, run in (
        ("overround", lambda: overround(frame)),
        ("no_vig proportional", lambda: no_vig(frame)),
        ("no_vig shin", lambda: no_vig(frame, "shin")),
        ("consensus", lambda: consensus(frame)),
        ("best_prices", lambda: best_prices(frame)),
        ("arbitrage", lambda: arbitrage(frame)),
    ):
        start = time.perf_counter()
        run()
        print(f"  {name:20s} {(time.perf_counter() - start) * 1e3:8.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500, help="events on the odds board")
    parser.add_argument("--books", type=int, default=20, help="bookmakers pricing each event")
    args = parser.parse_args()
    asyncio.run(news())
    odds(args.events, args.books)
