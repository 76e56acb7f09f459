"""Execution algorithms: how long a full simulated day takes.

    python bench/algos.py [--runs 3] [--minutes M]

A full-day VWAP of 100,000 AAPL on the sample market (quotes every second, about 30,000 trades) from the
open to the close: the venue matches every quote and trade of the day, the parent wakes every ``interval``
and works through the OrderManager (validation, risk, journal when given). Figures are wall time of the
simulated day only (market generation excluded), best of ``--runs``. ``--minutes`` gives each parent the
first M minutes of the session instead of the whole day, and the same share of the day's quantity (rounded
to a lot): a short run of the same workload.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from ntlab.algos import AlgoEngine
from ntlab.brokers.paper import PaperBroker
from ntlab.brokers.router import SmartRouter, paper_venues
from ntlab.core import OrderManager
from ntlab.market import sample_market

MARKET = sample_market()


DAY_QUANTITY = 100_000


def parent_quantity(minutes: float | None) -> int:
    """100,000 over the whole day; over a shorter window the same share of the day's, in round lots."""
    if minutes is None:
        return DAY_QUANTITY
    session = (MARKET.session_close - MARKET.session_open).total_seconds() / 60
    return max(100, int(round(DAY_QUANTITY * min(minutes, session) / session, -2)))


async def one_day(
    algo: str,
    interval: str,
    *,
    journal: Path | None = None,
    routed: bool = False,
    minutes: float | None = None,
) -> tuple[float, str]:
    broker = SmartRouter(paper_venues(MARKET)) if routed else PaperBroker(MARKET)
    async with OrderManager(broker, journal=journal, id_prefix="bench") as om:
        engine = AlgoEngine(om)
        kw = {"rate": 0.03} if algo == "pov" else {}
        quantity = parent_quantity(minutes)
        started = time.perf_counter()
        parent = await getattr(engine, algo)("AAPL", quantity, interval=interval, minutes=minutes, **kw)
        await engine.run(step="1s")
        elapsed = time.perf_counter() - started
        s = parent.snapshot()
        return (
            elapsed,
            f"{s.status.value}, {s.filled_quantity} filled, {s.children} children, {len(om.fills())} fills",
        )


def best(runs: int, **kw: object) -> tuple[float, str]:
    results = [asyncio.run(one_day(**kw)) for _ in range(runs)]  # type: ignore[arg-type]
    return min(r[0] for r in results), results[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the best is shown)")
    parser.add_argument(
        "--minutes", type=float, help="each parent's window from the open (default: the whole day)"
    )
    args = parser.parse_args()
    minutes = args.minutes
    print(f"market: {MARKET!r}")
    span = "full day" if minutes is None else f"{minutes:g} minutes"
    if minutes is not None:
        print(f"window: the first {minutes:g} minutes of the session")
    qty = f"{parent_quantity(minutes):,}"
    cases = [
        (f"VWAP {qty} AAPL, {span}, wake every 30s", {"algo": "vwap", "interval": "30s"}),
        (f"VWAP {qty} AAPL, {span}, wake every 1s", {"algo": "vwap", "interval": "1s"}),
        (f"TWAP {qty} AAPL, {span}, wake every 1s", {"algo": "twap", "interval": "1s"}),
        (f"POV 3% to {qty} AAPL, wake every 1s", {"algo": "pov", "interval": "1s"}),
        (
            f"VWAP {qty} AAPL, wake every 30s, 3 venues via SmartRouter",
            {"algo": "vwap", "interval": "30s", "routed": True},
        ),
        (
            f"VWAP {qty} AAPL, wake every 1s, 3 venues via SmartRouter",
            {"algo": "vwap", "interval": "1s", "routed": True},
        ),
    ]
    for title, kw in cases:
        seconds, outcome = best(args.runs, minutes=minutes, **kw)
        print(f"{title:<64} {seconds:7.3f} s   ({outcome})")
    with tempfile.TemporaryDirectory() as folder:
        results = [
            asyncio.run(one_day("vwap", "1s", journal=Path(folder) / f"run{i}.sqlite", minutes=minutes))
            for i in range(args.runs)
        ]
        seconds, outcome = min(r[0] for r in results), results[0][1]
        title = f"VWAP {qty} AAPL, wake every 1s, with a journal"
        print(f"{title:<64} {seconds:7.3f} s   ({outcome})")


if __name__ == "__main__":
    main()
