"""Orders per second through AlpacaBroker against the local fake on loopback, at 1, 8 and 32 in flight.

    python bench/alpaca.py [--orders 3000] [--in-flight 1 8 32] [--manager]

The fake runs in its own process (as a broker would), the adapter in this one; both share the machine.
Figures are printed, never asserted. The client-side budget is off: Alpaca's real limit (200/min) is far
below these rates, so this measures the adapter's own cost per order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from ntlab.brokers.alpaca import AlpacaBroker
from ntlab.brokers.alpaca.fake import FAKE_KEY_ID, FAKE_SECRET
from ntlab.core import Order, OrderStatus, OrderType, Side, TimeInForce

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "ntlab.brokers.alpaca.fake",
        "--port",
        str(port),
        "--rate-limit",
        "0",
        "--cash",
        "1e12",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/v2/clock",
                headers={"APCA-API-KEY-ID": FAKE_KEY_ID, "APCA-API-SECRET-KEY": FAKE_SECRET},
            )
            return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the fake did not start")


def order(run: str, i: int) -> Order:
    return Order.model_construct(
        order_id=f"{run}-{i:07d}",
        symbol="AAPL",
        side=Side.BUY if i % 2 else Side.SELL,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.PENDING,
        created_at=NOW,
        updated_at=NOW,
    )


def httpx_pool(in_flight: int) -> httpx.AsyncBaseTransport:
    """httpx's own transport (httpcore), for comparison with PooledTransport."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    return httpx.AsyncHTTPTransport(limits=limits)


async def run_adapter(
    base: str, n: int, in_flight: int, run: str, *, stock: bool = False
) -> tuple[float, list[float]]:
    broker = AlpacaBroker(
        FAKE_KEY_ID,
        FAKE_SECRET,
        base_url=base,
        requests_per_minute=None,
        max_in_flight=in_flight,
        stream=False,
        transport=httpx_pool(in_flight) if stock else None,
    )
    latencies: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            t0 = time.perf_counter()
            updates = await broker.submit_order(order(run, i))
            latencies.append(time.perf_counter() - t0)
            assert updates[0].status is OrderStatus.ACCEPTED, updates

    for i in range(20):  # warm the pool
        await broker.submit_order(order(run + "w", i))
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - start
    await broker.close()
    return n / elapsed, latencies


async def run_manager(base: str, n: int, in_flight: int, run: str) -> tuple[float, list[float]]:
    from ntlab.core import OrderManager, OrderRequest

    broker = AlpacaBroker(
        FAKE_KEY_ID, FAKE_SECRET, base_url=base, requests_per_minute=None, max_in_flight=in_flight
    )
    latencies: list[float] = []
    async with OrderManager(broker, id_prefix=run) as om:
        remaining = iter(range(n))

        async def worker() -> None:
            for i in remaining:
                t0 = time.perf_counter()
                await om.place_order(OrderRequest(symbol="AAPL", side="buy" if i % 2 else "sell", quantity=1))
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - start
    return n / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--manager", action="store_true", help="also through OrderManager.place_order")
    parser.add_argument("--httpx-pool", action="store_true", help="also with httpx's default transport")
    parser.add_argument("--base-url", help="an already running fake (default: start one)")
    args = parser.parse_args()
    # Earlier rows' orders keep streaming fills; the manager rightly ignores orders it does not know.
    logging.getLogger("ntlab.core.manager").setLevel(logging.ERROR)
    process = None
    base = args.base_url
    if base is None:
        port = free_port()
        process = start_fake(port)
        base = f"http://127.0.0.1:{port}"
    try:
        print(
            f"AlpacaBroker.submit_order against the fake at {base}, {args.orders} orders per row, "
            f"{os.cpu_count()} cores shared with the fake"
        )
        print(f"{'path':<10} {'in flight':>9} {'orders/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
        paths = [("adapter", run_adapter)]
        if args.httpx_pool:
            paths.append(("httpcore", lambda *a: run_adapter(*a, stock=True)))
        if args.manager:
            paths.append(("manager", run_manager))
        for name, runner in paths:
            for k in args.in_flight:
                rate, lat = await runner(base, args.orders, k, f"{name[0]}{k}{os.getpid() % 1000}")
                print(f"{name:<10} {k:>9} {rate:>9.0f} {pct(lat, 50):>7.2f} {pct(lat, 99):>7.2f}")
    finally:
        if process is not None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


if __name__ == "__main__":
    asyncio.run(main())
