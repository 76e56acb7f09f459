"""Kill a trading process with SIGKILL mid-burst; the journal and the venue's ledger must agree after restart."""

import signal
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits

SESSION = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from ntlab.brokers.paper import PaperBroker
    from ntlab.core import OrderManager, OrderRequest, RiskLimits

    class DyingVenue(PaperBroker):
        # kills its own process with SIGKILL at the n-th submit, before or after the venue books it

        def __init__(self, kill_at, when, **kwargs):
            super().__init__(**kwargs)
            self.kill_at, self.when, self.seen = kill_at, when, 0

        async def submit_order(self, order):
            self.seen += 1
            if self.seen == self.kill_at and self.when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            updates = await super().submit_order(order)
            if self.seen == self.kill_at and self.when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return updates

    async def main(journal, ledger, kill_at, when):
        broker = DyingVenue(int(kill_at), when, ledger=ledger)
        risk = RiskLimits(max_order_notional=None, price_band_bps=None, duplicate_window=None)
        async with OrderManager(broker, journal=journal, risk=risk) as om:
            async def one(i):
                side = "buy" if i % 2 else "sell"
                if i % 3:
                    request = OrderRequest(symbol="AAPL", side=side, quantity=1 + i % 5)
                else:
                    quote = broker.last_quote("MSFT")
                    request = OrderRequest(symbol="MSFT", side="buy", quantity=10, order_type="limit",
                                           limit_price=quote.bid, time_in_force="gtc")
                response = await om.place_order(request)
                print("ACK", response.order_id, response.filled_quantity, flush=True)
            i = 0
            while True:
                await asyncio.gather(*(one(i + k) for k in range(100)))
                i += 100
                await broker.advance("2s")

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.mark.parametrize(("kill_at", "when"), [(1250, "before"), (1777, "after")])
async def test_sigkill_mid_burst_loses_nothing_acknowledged(tmp_path, kill_at, when):
    journal, ledger = tmp_path / "session.sqlite", tmp_path / "venue.sqlite"
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    process = subprocess.Popen(
        [sys.executable, str(script), str(journal), str(ledger), str(kill_at), when],
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    acked: dict[str, Decimal] = {}
    for line in output.splitlines():  # everything it acknowledged before dying
        parts = line.split()
        if len(parts) == 3:
            acked[parts[1]] = Decimal(parts[2])
    assert len(acked) > 100

    broker = PaperBroker(ledger=ledger)
    async with OrderManager(broker, journal=journal, risk=RiskLimits(max_order_notional=None)) as om:
        orders = {o.order_id: o for o in om.orders()}
        journaled_not_acked = set(orders) - set(acked)
        assert journaled_not_acked  # the kill really landed mid-burst
        # every acknowledged order is there, with at least what the caller was told was filled
        for order_id, filled in acked.items():
            assert order_id in orders
            assert orders[order_id].filled_quantity >= filled
        # nothing was sent twice
        counts = broker.submit_counts()
        assert counts and max(counts.values()) == 1
        # every fill the venue made is in the session, and positions agree
        venue_fills = {f.fill_id for f in await broker.fills_since(None)}
        session_fills = {f.fill_id for f in om.fills()}
        assert venue_fills == session_fills
        venue_positions = {p.symbol: p.quantity for p in await broker.positions() if p.quantity}
        session_positions = {p.symbol: p.quantity for p in om.positions() if p.quantity}
        assert venue_positions == session_positions
        # orders the venue never received are closed, not resubmitted
        for order in orders.values():
            if order.order_id not in counts:
                assert order.status is OrderStatus.REJECTED
        # and the restarted session keeps trading on the same account without id clashes
        before = len(counts)
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=1))
        assert len(broker.submit_counts()) == before + 1
