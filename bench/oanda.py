"""OandaBroker against the local fake v20 on loopback: orders/s and place-to-ack latency at 1, 8 and 32 in
flight, and transaction-stream events parsed per second.

    python bench/oanda.py [--orders 2000] [--in-flight 1 8 32] [--events 50000]

Orders: the fake runs in its own process (as OANDA would), the adapter in this one; each order is a
10,000-unit EUR/USD FOK market order sent once through ``submit_order`` (the 201 answer with its creation
and fill is the ack). Stream: transactions the fake made (order creations and fills) are served as one
chunked ``/transactions/stream`` response, one JSON line each, and read by the adapter's own stream path
(line splitting, JSON, the in-order feed, the fill index and the reports). Figures are printed, never
asserted; both sides share the machine.
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
from typing import Any

import httpx
import orjson
from aiohttp import web

from ntlab.brokers.oanda import OandaBroker
from ntlab.brokers.oanda.fake import FAKE_ACCOUNT, FAKE_TOKEN, FakeOanda
from ntlab.brokers.oanda.stream import LineStream
from ntlab.core import Order, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.reports import Rejected

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "ntlab.brokers.oanda.fake",
        "--port",
        str(port),
        "--cash",
        "1000000000000",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/v3/accounts", headers={"Authorization": f"Bearer {FAKE_TOKEN}"}
            )
            return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the fake did not start")


def order(run: str, i: int) -> Order:
    return Order(
        order_id=f"{run}-{i:07d}",
        symbol="EUR/USD",
        side=Side.BUY if i % 2 else Side.SELL,
        quantity=Decimal(10_000),
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.FOK,
        status=OrderStatus.PENDING,
        created_at=NOW,
        updated_at=NOW,
    )


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")


async def run_orders(base: str, n: int, in_flight: int, run: str) -> tuple[float, list[float]]:
    broker = OandaBroker(
        FAKE_TOKEN, FAKE_ACCOUNT, base_url=base, max_in_flight=in_flight, stream=False, prices=False
    )
    latencies: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            t0 = time.perf_counter()
            reports = await broker.submit_order(order(run, i))
            latencies.append(time.perf_counter() - t0)
            assert reports and not isinstance(reports[0], Rejected), reports

    for i in range(20):  # warm the connections
        await broker.submit_order(order(run + "w", i))
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - start
    await broker.close()
    return n / elapsed, latencies


async def recorded_transactions(count: int) -> list[dict[str, Any]]:
    """Transactions as the fake makes them: market orders' creations and fills, ``count`` or a few more."""
    async with FakeOanda(cash=10**12) as fake:
        i = 0
        while len(fake.account.transactions) < count:
            units = "1000" if i % 2 else "-1000"
            fake.place({"type": "MARKET", "instrument": "EUR_USD", "units": units})
            i += 1
        return [dict(t) for t in fake.account.transactions]


async def run_stream(events: int) -> tuple[int, float]:
    txns = await recorded_transactions(events)
    body = b"".join(orjson.dumps(t) + b"\n" for t in txns)
    last = int(txns[-1]["id"])
    finished = asyncio.Event()  # the stream stays open, as OANDA's does, until the reader is done with it

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for at in range(0, len(body), 16_384):  # chunks as a busy stream sends them
            await response.write(body[at : at + 16_384])
        await finished.wait()
        return response

    app = web.Application()
    app.router.add_get(f"/v3/accounts/{FAKE_ACCOUNT}/transactions/stream", stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    broker = OandaBroker(FAKE_TOKEN, FAKE_ACCOUNT, base_url=f"http://127.0.0.1:{port}", stream=False)
    first = int(txns[0]["id"]) - 1
    broker.feed.start_at(first)
    broker.index.start_at(first)
    done = asyncio.Event()

    async def on_lines(lines: list[dict[str, Any]]) -> None:
        await broker.feed.take(lines)
        if broker.feed.applied >= last:
            done.set()

    async def opened(reconnected: bool) -> None:
        return None

    client = httpx.AsyncClient(base_url=broker.base_url, timeout=httpx.Timeout(10, read=None))
    line_stream = LineStream(
        client, f"/v3/accounts/{FAKE_ACCOUNT}/transactions/stream", None, on_lines, opened, name="bench"
    )
    start = time.perf_counter()
    await line_stream.start()
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    await line_stream.close()
    finished.set()  # else the runner's cleanup waits its 60 s shutdown timeout on the open handler
    await client.aclose()
    await broker.close()
    await runner.cleanup()
    assert broker.stats["transactions"] == len(txns), broker.stats
    return len(txns), elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--base-url", help="an already running fake (default: start one)")
    args = parser.parse_args()
    logging.getLogger("ntlab").setLevel(logging.ERROR)
    process = None
    base = args.base_url
    if base is None:
        port = free_port()
        process = start_fake(port)
        base = f"http://127.0.0.1:{port}"
    try:
        print(
            f"OandaBroker.submit_order against the fake at {base}, {args.orders} orders per row, "
            f"{os.cpu_count()} cores shared with the fake"
        )
        print(f"{'in flight':>9} {'orders/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
        for k in args.in_flight:
            rate, lat = await run_orders(base, args.orders, k, f"b{k}-{os.getpid() % 1000}")
            print(f"{k:>9} {rate:>9.0f} {pct(lat, 50):>7.2f} {pct(lat, 99):>7.2f}")
    finally:
        if process is not None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
    count, elapsed = await run_stream(args.events)
    print(f"transaction stream: {count} events in {elapsed:.2f} s, {count / elapsed:,.0f} events/s parsed")


if __name__ == "__main__":
    asyncio.run(main())
