"""The paper book scans short stretches of quotes and trades in Python and long ones with numpy: both must
find the same moments, so the same orders fill at the same prices and times."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.brokers.paper import PaperBroker, book
from ntlab.core import OrderManager, OrderRequest, RiskLimits
from ntlab.market import sample_market

MARKET = sample_market(symbols=["AAPL"])
TIMES = [int(t) for t in MARKET.quote_arrays("AAPL").time_ns[1:400]]


async def run(orders, steps, monkeypatch, short):
    monkeypatch.setattr(book, "_SHORT", short)
    venue = PaperBroker(MARKET)
    risk = RiskLimits(duplicate_window=None, price_band_bps=None, max_order_notional=None, self_trade="off")
    async with OrderManager(venue, risk=risk, id_prefix="s") as om:
        mid = (venue.last_quote("AAPL").bid + venue.last_quote("AAPL").ask) / 2
        for side, kind, bps in orders:
            if kind == "stop":  # a stop waits beyond the touch: above it to buy, below it to sell
                bps = (abs(bps) + 5) * (1 if side == "buy" else -1)
            price = (mid * (1 + Decimal(bps) / 10_000)).quantize(Decimal("0.01"))
            fields = {"limit_price": price} if kind == "limit" else {"stop_price": price}
            await om.place_order(
                OrderRequest(
                    symbol="AAPL", side=side, quantity=1, order_type=kind, time_in_force="gtc", **fields
                )
            )
        at = 0
        for step in steps:
            at = min(at + step, len(TIMES) - 1)
            await venue.advance_to(TIMES[at])
        return [(f.order_id, f.price, f.quantity, f.time) for f in om.fills()]


orders = st.lists(
    st.tuples(st.sampled_from(["buy", "sell"]), st.sampled_from(["limit", "stop"]), st.integers(-40, 40)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(orders=orders, steps=st.lists(st.integers(1, 40), min_size=1, max_size=30))
async def test_python_and_numpy_scans_fill_alike(orders, steps):
    with pytest.MonkeyPatch.context() as monkeypatch:
        scanned = await run(orders, steps, monkeypatch, short=16)
        vectorised = await run(orders, steps, monkeypatch, short=0)
    assert scanned == vectorised
