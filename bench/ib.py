"""Orders per second and place-to-ack latency through IBBroker against the fake TWS, at 1, 8 and 32 in flight.

    python bench/ib.py [--orders 2000] [--paced-orders 300] [--in-flight 1 8 32] [--port N] [--limit-orders 300]

The fake runs in its own process (as TWS would), the adapter in this one; both share the machine. Each order
is a one-share market order (alternately bought and sold), sent with ``submit_order`` and timed until TWS's
first status (the ack); its execution and commission report follow on the same socket.

Two rows per level: ``paced`` is the adapter as it ships, with ib_async's throttle (45 messages in any one
second, under TWS's limit of about 50: what goes beyond waits in ib_async's queue, so a burst is slowed and
never refused with error 100); ``unpaced`` turns the throttle off (the loopback fake has no limit), which
measures the adapter's and ib_async's own cost per order.

Then the same burst against a second fake that paces as TWS does (``--max-rate 50``: what a client sends faster
than 50 messages a second is dropped with error 100), paced and unpaced, counting the orders refused. Those
come back from ``submit_order`` as ``RateLimited`` (the OrderManager would retry them after a second; here
they are counted). Figures are printed, never asserted.
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
from collections.abc import Sequence
from decimal import Decimal

from ntlab.brokers.ib import IBBroker
from ntlab.core import Order, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.reports import Accepted, OrderUpdate
from ntlab.errors import RateLimited


class NullSink:
    """Where the stream's news goes during the benchmark: nowhere (only the acks are timed)."""

    async def handle_order_update(self, update: OrderUpdate) -> None:
        pass

    async def handle_order_updates(self, updates: Sequence[OrderUpdate]) -> None:
        pass

    async def reconcile(self) -> dict[str, int]:
        return {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(port: int, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "ntlab.brokers.ib.fake", "--port", str(port), "--cash", "1e12", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    if "fake TWS on" not in process.stdout.readline():
        process.kill()
        raise SystemExit("the fake TWS did not start")
    return process


def order(broker: IBBroker, run: str, i: int) -> Order:
    now = broker.now()
    return Order(
        order_id=f"{run}-{i:07d}",
        symbol="AAPL",
        side=Side.BUY if i % 2 else Side.SELL,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.PENDING,
        created_at=now,
        updated_at=now,
    )


async def run(
    port: int, n: int, in_flight: int, name: str, client_id: int, paced: bool
) -> tuple[float, list[float], int]:
    """Orders/s, each accepted order's place-to-ack latency, and how many TWS refused for pacing."""
    broker = IBBroker(port=port, client_id=client_id, max_requests=45 if paced else None, timeout=30.0)
    await broker.connect(NullSink())
    latencies: list[float] = []
    refused = 0
    queue = iter(range(n))

    async def worker() -> None:
        nonlocal refused
        for i in queue:
            t0 = time.perf_counter()
            try:
                answer = await broker.submit_order(order(broker, name, i))
            except RateLimited:
                refused += 1
                continue
            latencies.append(time.perf_counter() - t0)
            assert isinstance(answer[0], Accepted), answer

    for i in range(10):  # the contract is qualified once; warm the path
        await broker.submit_order(order(broker, name + "w", i))
    await asyncio.sleep(1.0)  # a fresh pacing window
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - start
    await broker.close()
    return n / elapsed, latencies, refused


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000, help="orders per unpaced row")
    parser.add_argument("--paced-orders", type=int, default=300, help="orders per paced row (about 45/s)")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--port", type=int, help="an already running fake TWS (default: start one)")
    parser.add_argument(
        "--limit-orders", type=int, default=300, help="orders per row against the pacing fake (0: skip it)"
    )
    args = parser.parse_args()
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    processes = []
    port = args.port
    if port is None:
        port = free_port()
        processes.append(start_fake(port))
    try:
        print(
            f"IBBroker.submit_order (ib_async) against the fake TWS on 127.0.0.1:{port}, "
            f"{os.cpu_count()} cores shared with the fake"
        )
        print(f"{'pacing':<9} {'in flight':>9} {'orders':>7} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        client_id = 10
        for paced in (True, False):
            n = args.paced_orders if paced else args.orders
            for k in args.in_flight:
                client_id += 1
                name = f"{'p' if paced else 'u'}{k}-{os.getpid() % 1000}"
                rate, lat, _ = await run(port, n, k, name, client_id, paced)
                label = "paced" if paced else "unpaced"
                print(f"{label:<9} {k:>9} {n:>7} {rate:>9.0f} {pct(lat, 50):>8.2f} {pct(lat, 99):>8.2f}")
        if args.limit_orders:
            limited = free_port()
            processes.append(start_fake(limited, "--max-rate", "50"))
            n = args.limit_orders
            print(
                f"\nagainst a fake TWS that refuses beyond 50 messages a second (error 100), {n} orders a row"
            )
            print(
                f"{'pacing':<9} {'in flight':>9} {'accepted':>8} {'refused':>8} {'sent/s':>9} {'p99 ms':>8}"
            )
            for paced in (True, False):
                for k in args.in_flight:
                    client_id += 1
                    name = f"{'lp' if paced else 'lu'}{k}-{os.getpid() % 1000}"
                    rate, lat, refused = await run(limited, n, k, name, client_id, paced)
                    label = "paced" if paced else "unpaced"
                    print(f"{label:<9} {k:>9} {len(lat):>8} {refused:>8} {rate:>9.0f} {pct(lat, 99):>8.2f}")
    finally:
        for process in processes:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


if __name__ == "__main__":
    asyncio.run(main())
