"""Orders per second through AlpacaBroker against the local fake on loopback, at 1, 8 and 32 in flight.

    python bench/alpaca.py [--orders 3000] [--in-flight 1 8 32] [--manager]

"In flight" is how many ``submit_order`` calls are outstanding at once; the adapter keeps at most
``max_in_flight`` (its default, 8) on the wire and the rest wait on its semaphore, where waiting costs
nothing, rather than in httpx's pool (whose cost per request grows with its connections). Per row: orders/s, place-to-ack p50/p99 (``submit_order`` until Alpaca's answer is read) and the client's
CPU per order (this process's CPU time over the row / orders), with what that CPU costs at Alpaca's
allowed 200 requests a minute as a share of one core. The fake runs in its own process (as a broker
would), the adapter in this one over httpx's own transport; both share the machine. Figures are printed,
never asserted. The client-side budget is off: Alpaca's limit is far below these rates, so this measures
the adapter's own cost per order.
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

from ntlab.brokers.alpaca import AlpacaBroker
from ntlab.brokers.alpaca.fake import FAKE_KEY_ID, FAKE_SECRET
from ntlab.core import Accepted, Order, OrderStatus, OrderType, Side, TimeInForce

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
ALLOWED_PER_SECOND = 200 / 60  # Alpaca's budget: 200 requests a minute
DATA: dict[str, str] = {}  # where the fake's market data is
POOL = 8  # the adapter's own default: callers beyond it wait on its semaphore, not in the pool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The fake in its own process; its banner says where its market data is."""
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
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "ALPACA_DATA_URL=" in line:
            return process, dict(word.split("=", 1) for word in line.split() if "=" in word)
    process.kill()
    raise SystemExit("the fake did not start")


def order(run: str, i: int) -> Order:
    return Order(
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


Row = tuple[float, list[float], float]  # orders/s, latencies, client CPU seconds per order


async def run_adapter(base: str, n: int, in_flight: int, run: str) -> Row:
    broker = AlpacaBroker(
        FAKE_KEY_ID,
        FAKE_SECRET,
        base_url=base,
        requests_per_minute=None,
        max_in_flight=min(in_flight, POOL),
        stream=False,
    )
    latencies: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            t0 = time.perf_counter()
            updates = await broker.submit_order(order(run, i))
            latencies.append(time.perf_counter() - t0)
            assert isinstance(updates[0], Accepted), updates

    for i in range(20):  # warm the pool
        await broker.submit_order(order(run + "w", i))
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await broker.close()
    return n / elapsed, latencies, cpu / n


async def run_manager(base: str, n: int, in_flight: int, run: str) -> Row:
    """Through the manager: pre-trade risk checks each order against the quote streamed from the fake."""
    from ntlab.core import OrderManager, OrderRequest

    broker = AlpacaBroker(
        FAKE_KEY_ID,
        FAKE_SECRET,
        base_url=base,
        data_url=DATA.get("ALPACA_DATA_URL"),
        data_stream_url=DATA.get("ALPACA_DATA_STREAM_URL"),
        quotes=["AAPL"],
        requests_per_minute=None,
        max_in_flight=min(in_flight, POOL),
    )
    latencies: list[float] = []
    async with OrderManager(broker, id_prefix=run) as om:
        await broker.quotes.wait_for("AAPL")
        remaining = iter(range(n))

        async def worker() -> None:
            for i in remaining:
                t0 = time.perf_counter()
                await om.place_order(
                    OrderRequest(
                        symbol="AAPL", side="buy" if i % 2 else "sell", quantity=1, allow_duplicate=True
                    )
                )
                latencies.append(time.perf_counter() - t0)

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return n / elapsed, latencies, cpu / n


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--manager", action="store_true", help="also through OrderManager.place_order")
    parser.add_argument("--base-url", help="an already running fake (default: start one)")
    args = parser.parse_args()
    # Earlier rows' orders keep streaming fills; the manager rightly ignores orders it does not know.
    logging.getLogger("ntlab.core.orderflow").setLevel(logging.ERROR)
    process = None
    base = args.base_url
    if base is None:
        port = free_port()
        process, banner = start_fake(port)
        DATA.update(banner)
        base = f"http://127.0.0.1:{port}"
    try:
        print(
            f"AlpacaBroker.submit_order against the fake at {base}, {args.orders} orders per row, "
            f"{os.cpu_count()} cores shared with the fake"
        )
        print(
            f"{'path':<10} {'in flight':>9} {'orders/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'CPU us/order':>12} {'core at 200/min':>15}"
        )
        paths = [("adapter", run_adapter)]
        if args.manager:
            paths.append(("manager", run_manager))
        for name, runner in paths:
            for k in args.in_flight:
                rate, lat, cpu = await runner(base, args.orders, k, f"{name[0]}{k}{os.getpid() % 1000}")
                share = cpu * ALLOWED_PER_SECOND * 100
                print(
                    f"{name:<10} {k:>9} {rate:>9.0f} {pct(lat, 50):>7.2f} {pct(lat, 99):>7.2f} "
                    f"{cpu * 1e6:>12.0f} {share:>14.3f}%"
                )
    finally:
        if process is not None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


if __name__ == "__main__":
    asyncio.run(main())
