"""OrderManager throughput and latency through the whole path: validation, risk, journal, paper venue.

    python bench/oms.py                 # the standard figures (about a minute)
    python bench/oms.py --million       # also RSS after 1,000,000 orders

Orders are 1-unit IOC market orders on AAPL, alternating buy and sell, so positions stay flat and the venue
fills each at the touch; the simulated clock steps one second every 40 (sequential) or 100 (concurrent) orders so the touch
refreshes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from pathlib import Path

import psutil

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, RiskLimits
from ntlab.market import sample_market

RISK = RiskLimits(max_order_notional=None, price_band_bps=None)
REQUESTS = [
    OrderRequest(symbol="AAPL", side=side, quantity=1, time_in_force="ioc") for side in ("buy", "sell")
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _session(journal: Path | None) -> tuple[OrderManager, PaperBroker]:
    broker = PaperBroker(sample_market())
    om = OrderManager(broker, journal=journal, risk=RISK, id_prefix="bench")
    await om.start()
    return om, broker


async def sequential(n: int, journal: Path | None) -> dict[str, float]:
    om, broker = await _session(journal)
    latencies = []
    try:
        start = time.perf_counter()
        for i in range(n):
            if i and i % 40 == 0:
                await broker.advance("1s")
            t0 = time.perf_counter_ns()
            await om.place_order(REQUESTS[i & 1])
            latencies.append((time.perf_counter_ns() - t0) / 1000)
        elapsed = time.perf_counter() - start
    finally:
        await om.close()
    return {
        "orders/s": n / elapsed,
        "p50 us": percentile(latencies, 0.5),
        "p99 us": percentile(latencies, 0.99),
    }


async def concurrent(n: int, callers: int, journal: Path | None) -> dict[str, float]:
    om, broker = await _session(journal)
    latencies: list[float] = []
    per_caller = n // callers

    async def caller(k: int) -> None:
        for i in range(per_caller):
            if k == 0:  # callers take turns, so this is one clock step per `callers` orders
                await broker.advance("1s")
            t0 = time.perf_counter_ns()
            await om.place_order(REQUESTS[(k + i) & 1])
            latencies.append((time.perf_counter_ns() - t0) / 1000)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(callers)))
        elapsed = time.perf_counter() - start
    finally:
        await om.close()
    return {
        "orders/s": per_caller * callers / elapsed,
        "p50 us": percentile(latencies, 0.5),
        "p99 us": percentile(latencies, 0.99),
    }


async def status_lookup(n: int) -> dict[str, float]:
    om, _ = await _session(None)
    try:
        ids = [(await om.place_order(REQUESTS[i & 1])).order_id for i in range(100)]
        start = time.perf_counter()
        for i in range(n):
            await om.get_order_status(ids[i % 100])
        elapsed = time.perf_counter() - start
    finally:
        await om.close()
    return {"lookups/s": n / elapsed, "mean us": elapsed / n * 1e6}


async def million(journal: Path | None) -> dict[str, float]:
    gc.collect()
    before = psutil.Process(os.getpid()).memory_info().rss
    om, broker = await _session(journal)
    callers, per_caller = 100, 10_000

    async def caller(k: int) -> None:
        for i in range(per_caller):
            if k == 0:
                await broker.advance("1s")
            await om.place_order(REQUESTS[(k + i) & 1])

    start = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(callers)))
    elapsed = time.perf_counter() - start
    rss = psutil.Process(os.getpid()).memory_info().rss
    count = len(om.orders())
    await om.close()
    return {
        "orders": count,
        "orders/s": count / elapsed,
        "rss MB": rss / 2**20,
        "rss growth MB": (rss - before) / 2**20,
    }


def show(name: str, figures: dict[str, float]) -> None:
    text = ", ".join(f"{k} {v:,.1f}" for k, v in figures.items())
    print(f"{name:<44} {text}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=50_000, help="orders per run")
    parser.add_argument("--million", action="store_true", help="also measure RSS after 1,000,000 orders")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder)
        show("sequential, no journal", await sequential(args.n, None))
        show("sequential, journal", await sequential(args.n, journal / "seq.sqlite"))
        show("100 concurrent callers, no journal", await concurrent(args.n, 100, None))
        show("100 concurrent callers, journal", await concurrent(args.n, 100, journal / "conc.sqlite"))
        show("get_order_status", await status_lookup(200_000))
        if args.million:
            show("1,000,000 orders, 100 callers, journal", await million(journal / "million.sqlite"))


if __name__ == "__main__":
    asyncio.run(main())
