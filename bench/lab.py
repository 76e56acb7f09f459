"""Lab figures: sync round trip from the calling thread, DataFrame views and blotter updates.

python bench/lab.py
"""

from __future__ import annotations

import time

from ntlab import Lab
from ntlab.core import RiskLimits
from ntlab.lab.views import fills_frame, orders_frame
from ntlab.lab.widgets import Blotter


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    risk = RiskLimits(max_order_notional=None, price_band_bps=None)
    with Lab(journal=None, risk=risk) as lab:
        latencies = []
        for i in range(3000):
            if i % 40 == 0:
                lab.advance("1s")
            start = time.perf_counter()
            lab.buy("AAPL", 1, tif="ioc") if i % 2 else lab.sell("AAPL", 1, tif="ioc")
            latencies.append((time.perf_counter() - start) * 1e6)
        print(
            f"sync lab.buy round trip (3,000 orders)       p50 {percentile(latencies, 0.5):,.0f} us, "
            f"p99 {percentile(latencies, 0.99):,.0f} us",
            flush=True,
        )

        for i in range(97_000):
            if i % 40 == 0:
                lab.run(lab.broker.advance("1s"))
            lab.run(
                lab.manager.place_order(
                    lab._request("AAPL", "buy" if i % 2 else "sell", 1, None, None, "ioc", None)
                )
            )
        orders = lab._core.call(lab.manager.orders)
        fills = lab._core.call(lab.manager.fills)
        start = time.perf_counter()
        frame = lab.orders
        elapsed = time.perf_counter() - start
        print(f"lab.orders view of {len(frame):,} orders             {elapsed * 1000:,.0f} ms", flush=True)
        start = time.perf_counter()
        orders_frame(orders)
        print(f"  of which building the frame                 {(time.perf_counter() - start) * 1000:,.0f} ms")
        start = time.perf_counter()
        fills_frame(fills)
        print(
            f"fills view of {len(fills):,} fills               {(time.perf_counter() - start) * 1000:,.0f} ms"
        )

        blotter = Blotter(lab)
        blotter.refresher.stop()
        ten_thousand = orders[-10_000:]
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            blotter.update(ten_thousand)
            runs.append((time.perf_counter() - start) * 1000)
        print(
            f"blotter model update, 10,000 orders          {min(runs):,.1f} ms (best of 5), {max(runs):,.1f} ms worst"
        )


if __name__ == "__main__":
    main()
