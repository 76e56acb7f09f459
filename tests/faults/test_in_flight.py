"""Reconciliation never touches an order whose submit is still in flight, and a cancel waits for its submit.

Against the Alpaca fake, with its fault injection: connection resets (the submit is looked up, then sent
again after a backoff), an accept-then-stall timeout, and a dropped stream whose reconnect reconciles.
"""

import asyncio
from decimal import Decimal

from ntlab.core import OrderManager, OrderRequest, OrderStatus
from tests.alpaca.conftest import assert_invariants, make_broker, settle, wait_until


def buy(quantity: int = 10) -> OrderRequest:
    return OrderRequest(symbol="AAPL", side="buy", quantity=quantity, allow_duplicate=True)


async def test_a_reconnect_during_a_retried_submit_leaves_the_order_to_its_submit(fake):
    broker = make_broker(fake, retry_initial=0.3)  # a backoff wide enough to reconcile inside it
    fake.faults.reset_next(1, method="POST", path="/v2/orders")
    async with OrderManager(broker, id_prefix="r", retry_initial=0.3) as om:
        await settle(fake, om, broker)
        placing = asyncio.create_task(om.place_order(buy()))
        await wait_until(lambda: fake.faults.hits.get("reset") == 1 and broker.stats["lookups"] >= 1)
        fake.drop_streams()  # the stream comes back and reconciles while the resend waits
        await wait_until(lambda: broker.stats["sweeps"] >= 1)
        assert om.order("r-000001").status is OrderStatus.PENDING  # not "never reached the broker"
        placed = await placing
        assert placed.status is OrderStatus.ACCEPTED
        await fake.advance(2)
        await settle(fake, om, broker)
        assert om.order("r-000001").status is OrderStatus.FILLED
        assert_invariants(fake, om)


async def test_an_accepted_submit_whose_answer_stalls_is_found_not_sent_twice(fake):
    broker = make_broker(fake, timeout=0.5)
    fake.faults.stall_next(1, seconds=2.0, method="POST", path="/v2/orders")
    async with OrderManager(broker, id_prefix="s", submit_timeout=0.5, retry_initial=0.05) as om:
        await settle(fake, om, broker)
        placing = asyncio.create_task(om.place_order(buy()))
        await wait_until(lambda: fake.accepted_client_ids() == ["s-000001"])
        report = await om.reconcile()  # the broker has it, but its submit is still answering: hands off
        # Untouched by the sweep; only the stream's own "new" may have told the manager it was taken.
        assert report["checked"] == 0
        assert om.order("s-000001").status in (OrderStatus.PENDING, OrderStatus.ACCEPTED)
        placed = await placing
        assert placed.status is OrderStatus.ACCEPTED and fake.orders.attempts == ["s-000001"]
        await fake.advance(2)
        await settle(fake, om, broker)
        assert_invariants(fake, om)


async def test_a_cancel_sent_while_the_submit_is_in_flight_waits_for_it(fake):
    broker = make_broker(fake, timeout=0.5)
    fake.faults.stall_next(1, seconds=0.3, method="POST", path="/v2/orders")
    async with OrderManager(broker, id_prefix="c") as om:
        await settle(fake, om, broker)
        quote = await broker.fetch_quote("AAPL")
        below = (quote.bid * Decimal("0.99")).quantize(Decimal("0.01"))  # rests: nothing fills it
        request = OrderRequest(
            symbol="AAPL", side="buy", quantity=10, order_type="limit", limit_price=below, time_in_force="gtc"
        )
        placing = asyncio.create_task(om.place_order(request))
        await wait_until(lambda: fake.accepted_client_ids() == ["c-000001"])
        cancelled = await om.cancel_order("c-000001")  # asked before the broker's answer came back
        await placing
        await settle(fake, om, broker)
        assert om.order("c-000001").status is OrderStatus.CANCELLED, cancelled
        assert fake.orders.by_client_id["c-000001"].status == "canceled"
        assert_invariants(fake, om)
