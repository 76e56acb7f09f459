"""The paper venue on its own: the cost of one marketable order, and of stepping a day with a full book.

    python bench/paper.py               # 100,000 submits, then a day with 1,000 resting orders
    python bench/paper.py --million     # 1,000,000 submits (the same as --orders 1000000)
    python bench/paper.py [--orders 100000] [--resting 1000]

Submits are 1-unit market orders on AAPL, alternating buy and sell, straight into ``PaperBroker.submit_order``
(no manager): each fills at the touch. The simulated clock steps every 40 orders (one second, or less when
that would run past the close) so the touch refreshes and nothing is left resting or refused. Only the ``submit_order`` call is timed; building the order is not.
The day: 1,000 (``--resting``) DAY limit orders a few ticks away from the touch across the sample market's
symbols, then the clock walks from the open to past the close in one-minute steps, filling and finally
expiring them.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ntlab.brokers.paper import PaperBroker
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.records import Order
from ntlab.core.reports import OrderUpdate
from ntlab.market import sample_market

T0 = datetime(2026, 3, 2, tzinfo=UTC)


class CountingSink:
    """Counts what the venue delivers later, as a manager would receive it."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_order_update(self, update: OrderUpdate) -> None:
        self.count += 1

    async def handle_order_updates(self, updates: list[OrderUpdate]) -> None:
        self.count += len(updates)


def make_order(
    order_id: str,
    symbol: str,
    side: Side,
    quantity: Decimal,
    order_type: OrderType = OrderType.MARKET,
    limit_price: Decimal | None = None,
) -> Order:
    return Order(
        order_id=order_id,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.PENDING,
        limit_price=limit_price,
        created_at=T0,
        updated_at=T0,
    )


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


async def bench_submit(count: int) -> None:
    broker = PaperBroker(sample_market())
    await broker.connect(CountingSink())
    template = make_order("x", "AAPL", Side.BUY, Decimal(1))
    sides = (Side.BUY, Side.SELL)
    times: list[int] = []
    clock = time.perf_counter_ns
    fills = 0
    session = broker.session_close - broker.now()
    step = min(timedelta(seconds=1), session / (count / 40 + 1))
    for i in range(count):
        order = template._replace(order_id=f"b{i}", side=sides[i & 1])
        start = clock()
        updates = await broker.submit_order(order)
        times.append(clock() - start)
        fills += len(updates) - 1
        if i % 40 == 39:
            await broker.advance(step)
    await broker.close()
    print(
        f"submit_order, marketable 1-lot market order: n={count:,}  "
        f"p50 {percentile(times, 0.5):.1f} µs  p99 {percentile(times, 0.99):.1f} µs  "
        f"mean {sum(times) / len(times) / 1000:.1f} µs  ({fills:,} fill updates)"
    )


async def bench_day(resting: int) -> None:
    market = sample_market()
    broker = PaperBroker(market)
    sink = CountingSink()
    await broker.connect(sink)
    symbols = market.symbols
    for i in range(resting):
        symbol = symbols[i % len(symbols)]
        quote = broker.last_quote(symbol)
        assert quote is not None
        tick = market.instruments[symbol].tick_size
        side = Side.BUY if i % 2 == 0 else Side.SELL
        away = tick * (1 + i % 20)
        price = quote.bid - away if side is Side.BUY else quote.ask + away
        lot = market.instruments[symbol].lot_size
        order = make_order(f"r{i}", symbol, side, max(lot, Decimal(1)), OrderType.LIMIT, price)
        await broker.submit_order(order)
    start = time.perf_counter()
    steps = 0
    while broker.now() <= broker.session_close:
        await broker.advance("1min")
        steps += 1
    elapsed = time.perf_counter() - start
    await broker.close()
    print(
        f"advance through a day, {resting:,} resting orders, {steps} one-minute steps: "
        f"{elapsed:.3f} s  ({sink.count:,} updates delivered)"
    )


async def main(count: int, resting: int) -> None:
    await bench_submit(count)
    await bench_day(resting)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000, help="submits to time")
    parser.add_argument("--million", action="store_true", help="time 1,000,000 submits instead of 100,000")
    parser.add_argument("--resting", type=int, default=1_000, help="resting orders through the day")
    args = parser.parse_args()
    asyncio.run(main(1_000_000 if args.million else args.orders, args.resting))
