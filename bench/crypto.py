"""CcxtBroker against the local fake Binance on loopback: orders/s and place-to-ack p50/p99 at 1 and 8 in
flight, and how long a full exchange's markets take to load.

    python bench/crypto.py [--orders 1000] [--in-flight 1 8] [--listed 3000]

The fake runs in its own process (as an exchange would), the adapter in this one; both share the machine.
Orders are passive limit orders (they rest: the ack is what is timed). The fake's weight and order-count
limits are off and so is ccxt's rate limiter, so this measures the adapter and ccxt, not Binance's caps
(100 orders per 10 s would hold the rate to 10/s). Figures are printed, never asserted.
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
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal

from ntlab.brokers.crypto import CcxtBroker
from ntlab.brokers.crypto.adapter import binance_urls
from ntlab.core import Order, OrderStatus, OrderType, Side, TimeInForce

KEY, SECRET = "fake-binance-key", "fake-binance-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(port: int, listed: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "ntlab.brokers.crypto.fake",
        "--port",
        str(port),
        "--listed",
        str(listed),
    ]
    command += ["--unlimited", "--usdt", "1e12"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/ping", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the fake did not start")


def broker(port: int) -> CcxtBroker:
    return CcxtBroker(
        "binance", KEY, SECRET, urls=binance_urls(f"http://127.0.0.1:{port}"), rate_limit=False, timeout=10
    )


async def markets(port: int, runs: int) -> list[float]:
    """Seconds for load_markets on a fresh adapter (ccxt parses every symbol, ntlab makes instruments)."""
    took = []
    for _ in range(runs):
        adapter = broker(port)
        start = time.perf_counter()
        await adapter.load_markets()
        took.append(time.perf_counter() - start)
        count = len(adapter.venue_instruments())
        await adapter.close()
    print(f"  load_markets: {count} instruments, median {statistics.median(took) * 1000:.0f} ms over {runs}")
    return took


async def orders(port: int, total: int, in_flight: int, run: int) -> None:
    adapter = broker(port)
    await adapter.load_markets()
    quote = await adapter.fetch_quote("BTC/USDT")
    assert quote is not None
    price = (quote.bid * Decimal("0.9")).quantize(Decimal("0.01"))
    now = datetime.now(UTC)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            order = Order(
                order_id=f"b{run}-{in_flight}-{n}",
                symbol="BTC/USDT",
                side=Side.BUY,
                quantity=Decimal("0.001"),
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.GTC,
                status=OrderStatus.PENDING,
                created_at=now,
                updated_at=now,
                limit_price=price,
            )
            start = time.perf_counter()
            reports = await adapter.submit_order(order)
            latencies.append(time.perf_counter() - start)
            assert reports and type(reports[0]).__name__ == "Accepted", reports

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - start
    await adapter.exchange.cancel_all_orders("BTC/USDT")  # each run starts on an empty book
    await adapter.close()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(
        f"  {in_flight:>2} in flight: {total / elapsed:7.0f} orders/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    fake = start_fake(port, args.listed)
    try:
        print(f"CcxtBroker('binance') -> fake Binance (own process), {os.cpu_count()} cores shared")
        await markets(port, args.runs)
        for run, in_flight in enumerate(args.in_flight):
            await orders(port, args.orders, in_flight, run)
    finally:
        fake.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            fake.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--listed", type=int, default=3000, help="symbols in exchangeInfo (Binance: ~3000)")
    parser.add_argument("--runs", type=int, default=3, help="market loads to time")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
