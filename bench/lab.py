"""Lab figures: sync round trip from the calling thread, DataFrame views of 100,000 orders, blotter updates.

    python bench/lab.py [--sync 3000] [--orders 100000] [--blotter 10000]

Orders are 1-unit IOC market orders on AAPL, alternating buy and sell; the simulated clock steps one second
every 40 orders so the touch refreshes. The first ``--sync`` are placed one by one from the calling thread
(the round trip is timed), the rest of ``--orders`` from the Lab's loop; the views are then taken of them
all, the blotter figures of the last ``--blotter``, and a burst of ``--blotter`` more orders is sent while a
live blotter watches.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from ntlab import Lab
from ntlab.core import OrderRequest, RiskLimits
from ntlab.lab.blotter import Blotter, BlotterModel
from ntlab.lab.views import fills_frame, orders_frame

REQUESTS = [
    OrderRequest(symbol="AAPL", side=side, quantity=1, time_in_force="ioc") for side in ("buy", "sell")
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(
    function: Callable[[], Any], runs: int = 5, between: Callable[[], Any] | None = None
) -> tuple[float, float]:
    """(median, worst) milliseconds over ``runs`` calls; ``between`` runs untimed before each."""
    times = []
    for _ in range(runs):
        if between is not None:
            between()
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


async def place_many(lab: Lab, count: int) -> None:
    for i in range(count):
        if i % 40 == 0:
            await lab.broker.advance("1s")
        await lab.manager.place_order(REQUESTS[i % 2])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sync", type=int, default=3_000, help="orders placed from the calling thread")
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the session before the views")
    parser.add_argument("--blotter", type=int, default=10_000, help="orders in the blotter and the burst")
    args = parser.parse_args()
    # the same 1-lot order again and again, by design: no notional cap, band or duplicate guard in the way
    risk = RiskLimits(max_order_notional=None, price_band_bps=None, duplicate_window=None)
    with Lab(journal=None, risk=risk) as lab:
        latencies = []
        for i in range(args.sync):
            if i % 40 == 0:
                lab.advance("1s")
            start = time.perf_counter()
            lab.buy("AAPL", 1, tif="ioc") if i % 2 else lab.sell("AAPL", 1, tif="ioc")
            latencies.append((time.perf_counter() - start) * 1e6)
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        print(
            f"sync lab.buy round trip, {args.sync:,} orders      p50 {p50:,.0f} us, p99 {p99:,.0f} us",
            flush=True,
        )

        lab.run(place_many(lab, max(0, args.orders - args.sync)), timeout=3600)
        orders = lab.run(_call(lab.manager.orders))
        fills = lab.run(_call(lab.manager.fills))

        # the session moves on between looks: one more order each time
        median, worst = timed(lambda: lab.orders, between=lambda: lab.buy("AAPL", 1, tif="ioc"))
        print(f"lab.orders, {len(orders):,} orders            {median:,.0f} ms median, {worst:,.0f} ms worst")
        median, worst = timed(lambda: orders_frame(orders), runs=3)
        print(f"orders_frame from snapshots (cold)         {median:,.0f} ms median, {worst:,.0f} ms worst")
        median, worst = timed(lambda: lab.fills)
        print(f"lab.fills, {len(fills):,} fills             {median:,.0f} ms median, {worst:,.0f} ms worst")
        median, worst = timed(lambda: fills_frame(fills), runs=3)
        print(f"fills_frame from snapshots (cold)          {median:,.0f} ms median, {worst:,.0f} ms worst")

        recent = orders[-args.blotter :]
        count = f"{len(recent):,}"
        model = BlotterModel()
        median, worst = timed(lambda: BlotterModel().rows(recent), runs=3)
        print(f"blotter model, {count} orders (cold)        {median:,.1f} ms median, {worst:,.1f} ms worst")
        model.rows(recent)
        median, worst = timed(lambda: model.rows(recent))
        print(f"blotter model update, {count} orders        {median:,.1f} ms median, {worst:,.1f} ms worst")
        blotter = Blotter(lab)
        blotter.refresher.stop()
        blotter.update(recent)
        median, worst = timed(lambda: blotter.update(recent))
        print(f"blotter widget update, {count} orders       {median:,.1f} ms median, {worst:,.1f} ms worst")

        live = Blotter(lab)
        before = live.refresher.redraws
        start = time.perf_counter()
        lab.run(place_many(lab, args.blotter), timeout=3600)
        burst = time.perf_counter() - start
        time.sleep(0.5)
        redraws = live.refresher.redraws - before
        print(f"burst of {args.blotter:,} orders and fills in {burst:.1f} s  {redraws} blotter redraws")
        live.stop()


def _call(function: Callable[[], Any]) -> Any:
    async def invoke() -> Any:
        return function()

    return invoke()


if __name__ == "__main__":
    main()
