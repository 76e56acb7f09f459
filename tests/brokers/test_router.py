"""SmartRouter: best price net of fees, sweeps when the best lacks size, fills keep their venue."""

from collections import Counter
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.algos import AlgoEngine, AlgoStatus
from ntlab.brokers.router import SmartRouter, paper_venues
from ntlab.core import Order, OrderManager, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from ntlab.market import sample_market

MARKET = sample_market(seed=7, symbols=["AAPL", "MSFT"])


def router():
    return SmartRouter(paper_venues(MARKET))


def touch(venue, side):
    quote = venue.last_quote("AAPL")
    return (quote.ask, quote.ask_size) if side == "buy" else (quote.bid, quote.bid_size)


async def test_a_market_buy_takes_the_cheapest_touch_after_fees_then_sweeps():
    sor = router()
    async with OrderManager(sor, id_prefix="sim") as om:
        await sor.advance("10min")
        nets = {name: sor.net_price(v, "buy", touch(v, "buy")[0]) for name, v in sor.venues.items()}
        ranked = sorted(nets, key=lambda n: (nets[n], -touch(sor.venues[n], "buy")[1]))
        first_size = touch(sor.venues[ranked[0]], "buy")[1]
        total_shown = sum(touch(v, "buy")[1] for v in sor.venues.values())
        small = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
        assert {f.venue for f in om.fills() if f.order_id == small.order_id} == {ranked[0]}
        await sor.advance("1s")
        big_qty = int(total_shown) + 500
        big = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=big_qty))
        plan = dict(sor.route(om.order(big.order_id)))
        assert sum(plan.values()) == big_qty and set(plan) == set(sor.venues)
        assert plan[ranked[0]] >= first_size
        await sor.advance("5min")
        order = om.order(big.order_id)
        assert order.status is OrderStatus.FILLED and order.broker_order_id.startswith("sor-")
        fills = [f for f in om.fills() if f.order_id == big.order_id]
        assert sum(f.quantity for f in fills) == big_qty
        assert len({f.venue for f in fills}) == 3 and len({f.fill_id for f in fills}) == len(fills)


async def test_a_sell_prefers_the_venue_that_bids_highest_net_of_fees():
    sor = router()
    async with OrderManager(sor, id_prefix="sim") as om:
        await sor.advance("10min")
        nets = {name: sor.net_price(v, "sell", touch(v, "sell")[0]) for name, v in sor.venues.items()}
        best = max(nets, key=nets.get)
        response = await om.place_order(OrderRequest(symbol="AAPL", side="sell", quantity=100))
        assert {f.venue for f in om.fills() if f.order_id == response.order_id} == {best}


async def test_a_resting_limit_goes_where_resting_costs_least_and_cancels_everywhere():
    sor = router()
    async with OrderManager(sor, id_prefix="sim") as om:
        await sor.advance("10min")
        bid = sor.last_quote("AAPL").bid
        low = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=300, order_type="limit", limit_price=bid - 1)
        )
        assert [name for name, _ in sor.route(om.order(low.order_id))] == ["fast"]  # the maker rebate
        ask = sor.last_quote("AAPL").ask
        sweep = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=5_000, order_type="limit", limit_price=ask)
        )
        assert om.order(sweep.order_id).filled_quantity > 0
        await om.cancel_order(sweep.order_id)
        await om.cancel_order(low.order_id)
        assert om.order(sweep.order_id).status is OrderStatus.CANCELLED
        assert om.order(low.order_id).status is OrderStatus.CANCELLED
        assert await sor.open_orders() == []
        for venue in sor.venues.values():
            assert await venue.open_orders() == []
        found = await sor.lookup_order(sweep.order_id)
        assert found.status is OrderStatus.CANCELLED
        assert found.filled_quantity == om.order(sweep.order_id).filled_quantity


async def test_the_router_steps_every_venue_together_and_expires_at_the_close():
    sor = router()
    async with OrderManager(sor, id_prefix="sim") as om:
        await sor.advance("1h")
        assert len({v.now() for v in sor.venues.values()}) == 1
        bid = sor.last_quote("AAPL").bid
        r = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=100, order_type="limit", limit_price=bid - 5)
        )
        await sor.advance_to(sor.session_close)
        assert om.order(r.order_id).status is OrderStatus.EXPIRED


@settings(max_examples=40, deadline=None)
@given(
    quantity=st.integers(min_value=1, max_value=20_000),
    side=st.sampled_from(["buy", "sell"]),
    ticks=st.integers(min_value=-3, max_value=3),
    minute=st.integers(min_value=1, max_value=380),
)
def test_a_route_places_exactly_the_quantity_and_never_sweeps_past_a_limit(quantity, side, ticks, minute):
    sor = router()
    for venue in sor.venues.values():
        venue._now_ns = venue._open_ns + minute * 60 * 10**9
    mid = sor.venues["lit"].last_quote("AAPL").mid
    limit = (mid + Decimal(ticks) / 100).quantize(Decimal("0.01"))
    order = Order(
        order_id="x",
        symbol="AAPL",
        side=Side(side),
        quantity=Decimal(quantity),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        status=OrderStatus.PENDING,
        limit_price=limit,
        created_at=sor.now(),
        updated_at=sor.now(),
    )
    plan = sor.route(order)
    assert sum(q for _, q in plan) == quantity and all(q > 0 for _, q in plan)
    crossing = [
        n
        for n, v in sor.venues.items()
        if (touch(v, side)[0] <= limit if side == "buy" else touch(v, side)[0] >= limit)
    ]
    if not crossing:
        assert len(plan) == 1  # nothing to take: it all rests at one venue


async def test_an_algo_through_the_router_keeps_each_fill_s_venue():
    sor = router()
    async with OrderManager(sor, id_prefix="sim") as om:
        await sor.advance("15min")
        engine = AlgoEngine(om)
        parent = await engine.twap("AAPL", 8_000, minutes=20, placement="aggressive")
        await engine.run()
        assert parent.snapshot().status is AlgoStatus.FILLED
        kids = {o.order_id for o in om.orders() if o.parent_id == parent.parent_id}
        venues = Counter(f.venue for f in om.fills() if f.order_id in kids)
        assert sum(venues.values()) > 0 and set(venues) <= set(sor.venues) and len(venues) >= 2
        assert om.position("AAPL") == 8_000
