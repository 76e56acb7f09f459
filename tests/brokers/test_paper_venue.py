import asyncio
from datetime import timedelta
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntlab.brokers.paper import PaperBroker, PaperConfig, RealTimeClock, SimClock
from ntlab.core import (
    Accepted,
    Cancelled,
    Expired,
    Filled,
    Order,
    OrderManager,
    OrderRequest,
    OrderStatus,
    OrderType,
    Rejected,
    Side,
    TimeInForce,
)
from ntlab.core.instruments import AssetKind, Instrument
from ntlab.market import Market, sample_market

OPEN = pd.Timestamp("2026-03-02 14:30", tz="UTC")
AAPL = Instrument(symbol="AAPL", kind=AssetKind.EQUITY, tick_size=Decimal("0.01"))


def market(quotes, trades=(), close_after=60):
    """Quotes as (second, bid, ask, bid_size, ask_size); trades as (second, price, size)."""
    q = pd.DataFrame(quotes, columns=["s", "bid", "ask", "bid_size", "ask_size"])
    q.insert(0, "symbol", "AAPL")
    q.insert(1, "time", OPEN + pd.to_timedelta(q.pop("s"), unit="s"))
    t = pd.DataFrame(list(trades), columns=["s", "price", "size"])
    t.insert(0, "symbol", "AAPL")
    t.insert(1, "time", OPEN + pd.to_timedelta(t.pop("s").astype(float), unit="s"))
    return Market(q, t, {"AAPL": AAPL}, OPEN, OPEN + pd.Timedelta(seconds=close_after))


BOOK = [(0, 100.00, 100.02, 300, 200), (10, 100.01, 100.03, 300, 500), (20, 99.95, 99.97, 400, 400)]


class Sink:
    def __init__(self):
        self.updates = []

    async def handle_order_update(self, update):
        self.updates.append(update)

    async def handle_order_updates(self, updates):
        self.updates.extend(updates)


_ids = iter(range(1, 10**9))


def order(side="buy", qty=100, order_type="market", tif="day", limit=None, stop=None, oid=None) -> Order:
    return Order(
        order_id=oid or f"t-{next(_ids)}",
        symbol="AAPL",
        side=Side(side),
        quantity=Decimal(qty),
        order_type=OrderType(order_type),
        time_in_force=TimeInForce(tif),
        status=OrderStatus.PENDING,
        created_at=OPEN.to_pydatetime(),
        updated_at=OPEN.to_pydatetime(),
        limit_price=None if limit is None else Decimal(limit),
        stop_price=None if stop is None else Decimal(stop),
    )


async def venue(quotes=BOOK, trades=(), **config):
    broker = PaperBroker(market(quotes, trades), config=PaperConfig(**config))
    sink = Sink()
    await broker.connect(sink)
    return broker, sink


STATUS_OF = {
    Accepted: OrderStatus.ACCEPTED,
    Cancelled: OrderStatus.CANCELLED,
    Expired: OrderStatus.EXPIRED,
    Rejected: OrderStatus.REJECTED,
}


def fills(updates):
    return [(u.fill.quantity, u.fill.price, u.fill.liquidity) for u in updates if isinstance(u, Filled)]


def statuses(updates):
    return [STATUS_OF[type(u)] for u in updates if type(u) in STATUS_OF]


async def test_market_order_takes_the_touch_and_the_rest_later():
    broker, sink = await venue()
    updates = await broker.submit_order(order(qty=350))
    assert statuses(updates) == [OrderStatus.ACCEPTED]
    assert fills(updates) == [(200, Decimal("100.02"), "taker")]
    await broker.advance("10s")
    assert fills(sink.updates) == [(150, Decimal("100.03"), "taker")]


async def test_touch_taken_stays_taken_until_the_quote_changes():
    broker, _ = await venue()
    first = await broker.submit_order(order(qty=150))
    second = await broker.submit_order(order(qty=150, tif="ioc"))
    assert fills(first) == [(150, Decimal("100.02"), "taker")]
    assert fills(second) == [(50, Decimal("100.02"), "taker")]
    assert statuses(second)[-1] is OrderStatus.CANCELLED


async def test_fok_is_all_or_nothing():
    broker, _ = await venue()
    short = await broker.submit_order(order(qty=250, tif="fok"))
    assert fills(short) == [] and statuses(short)[-1] is OrderStatus.CANCELLED
    enough = await broker.submit_order(order(side="sell", qty=250, tif="fok"))
    assert fills(enough) == [(250, Decimal("100.00"), "taker")]


async def test_marketable_limit_fills_at_the_touch_not_the_limit():
    broker, _ = await venue()
    updates = await broker.submit_order(order(qty=100, order_type="limit", limit="100.10"))
    assert fills(updates) == [(100, Decimal("100.02"), "taker")]


async def test_post_only_that_would_take_is_refused_and_a_passive_one_rests():
    broker, _ = await venue()
    for side, limit in (("buy", "100.02"), ("sell", "100.00")):  # at the touch it would take
        taking = await broker.submit_order(order(side, 100, "limit", limit=limit)._replace(post_only=True))
        assert statuses(taking) == [OrderStatus.REJECTED] and fills(taking) == []
        assert "post-only" in taking[0].reason
    passive = await broker.submit_order(
        order(qty=100, order_type="limit", limit="100.01")._replace(post_only=True)
    )
    assert statuses(passive) == [OrderStatus.ACCEPTED] and fills(passive) == []


async def test_resting_limit_fills_as_maker_when_the_market_comes_through():
    broker, sink = await venue()
    resting = await broker.submit_order(order(qty=500, order_type="limit", limit="99.97"))
    assert fills(resting) == []
    await broker.advance("15s")
    assert fills(sink.updates) == []
    await broker.advance("10s")  # the ask drops to 99.97 at 20s with 400 shown
    assert fills(sink.updates) == [(400, Decimal("99.97"), "maker")]


async def test_trades_through_a_limit_fill_it_passively_with_the_configured_probability():
    trades = [(5, 99.99, 120), (6, 100.00, 50)]
    broker, sink = await venue(trades=trades, passive_fill_probability=1.0)
    await broker.submit_order(order(qty=100, order_type="limit", limit="99.99"))
    await broker.advance("7s")
    assert fills(sink.updates) == [(100, Decimal("99.99"), "maker")]
    never, never_sink = await venue(trades=trades, passive_fill_probability=0.0)
    await never.submit_order(order(qty=100, order_type="limit", limit="99.99"))
    await never.advance("7s")
    assert fills(never_sink.updates) == []


async def test_stops_trigger_then_act_as_market_or_limit():
    broker, sink = await venue()
    sell_stop = await broker.submit_order(order(side="sell", qty=100, order_type="stop", stop="99.96"))
    buy_stop_limit = await broker.submit_order(
        order(qty=100, order_type="stop_limit", stop="100.03", limit="100.03")
    )
    assert fills(sell_stop) == fills(buy_stop_limit) == []
    await broker.advance("12s")  # ask 100.03 at 10s triggers the buy stop-limit
    assert fills(sink.updates) == [(100, Decimal("100.03"), "taker")]
    await broker.advance("10s")  # bid 99.95 at 20s triggers the sell stop
    assert fills(sink.updates)[-1] == (100, Decimal("99.95"), "taker")


async def test_day_orders_expire_at_the_close_and_gtc_stays():
    broker, sink = await venue()
    day = order(qty=10, order_type="limit", limit="90.00")
    gtc = order(qty=10, order_type="limit", limit="90.00", tif="gtc")
    await broker.submit_order(day)
    await broker.submit_order(gtc)
    await broker.advance("2min")
    expired = [u for u in sink.updates if isinstance(u, Expired)]
    assert [u.order_id for u in expired] == [day.order_id]
    assert (await broker.lookup_order(gtc.order_id)).status is OrderStatus.ACCEPTED
    late = await broker.submit_order(order(qty=1))
    assert statuses(late) == [OrderStatus.REJECTED] and "closed" in late[0].reason


async def test_opening_and_closing_auction_orders():
    broker, sink = await venue()
    opg = await broker.submit_order(order(qty=100, tif="opg"))
    assert fills(opg) == [(100, Decimal("100.02"), "taker")]
    cls = order(side="sell", qty=100, tif="cls")
    await broker.submit_order(cls)
    await broker.advance("30s")
    assert fills(sink.updates) == []
    await broker.advance("1min")
    assert fills(sink.updates) == [(100, Decimal("99.95"), "taker")]
    await broker.advance("1s")
    late_opg = await broker.submit_order(order(qty=1, tif="opg"))
    assert statuses(late_opg) == [OrderStatus.REJECTED]


async def test_fees_by_liquidity():
    broker, sink = await venue(
        taker_fee_bps=Decimal("1"), maker_fee_bps=Decimal("-0.2"), fee_per_share=Decimal("0.001")
    )
    taken = await broker.submit_order(order(qty=100))
    [fill] = [u.fill for u in taken if isinstance(u, Filled)]
    assert fill.fee == Decimal("100.02") * 100 / 10_000 + Decimal("0.1")
    await broker.submit_order(order(qty=100, order_type="limit", limit="99.97"))
    await broker.advance("25s")
    [maker] = [u.fill for u in sink.updates if isinstance(u, Filled)]
    assert maker.fee == Decimal("99.97") * 100 * Decimal("-0.2") / 10_000 + Decimal("0.1")


async def test_latency_delays_execution():
    broker, sink = await venue(latency=timedelta(seconds=12))
    updates = await broker.submit_order(order(qty=100))
    assert fills(updates) == []
    await broker.advance("15s")
    assert fills(sink.updates) == [(100, Decimal("100.03"), "taker")]  # the quote in force at 12s


async def test_ioc_and_fok_arriving_late_do_not_rest():
    """With latency an ioc or fok order meets the market when it arrives; what it cannot fill then is
    cancelled, never left on the book (at 12s the ask is 100.03 for 500)."""
    broker, sink = await venue(latency=timedelta(seconds=12))
    await broker.submit_order(order(qty=100, order_type="limit", limit="99.00", tif="ioc", oid="ioc-away"))
    await broker.submit_order(order(qty=100, tif="fok", oid="fok-fits"))
    await broker.submit_order(order(qty=800, tif="ioc", oid="ioc-part"))
    await broker.submit_order(order(qty=800, tif="fok", oid="fok-big"))
    await broker.advance("15s")
    cancelled = {u.order_id for u in sink.updates if isinstance(u, Cancelled)}
    filled = {u.order_id: u.fill.quantity for u in sink.updates if isinstance(u, Filled)}
    assert cancelled == {"ioc-away", "ioc-part", "fok-big"}
    assert filled == {"fok-fits": 100, "ioc-part": 400}  # size taken at a quote stays taken
    assert await broker.open_orders() == []


async def test_same_seed_same_fills():
    async def run():
        m = sample_market()
        broker = PaperBroker(m, config=PaperConfig(seed=3, passive_fill_probability=0.3))
        sink = Sink()
        await broker.connect(sink)
        quote = broker.last_quote("AAPL")
        for k in range(20):
            price = quote.bid - Decimal("0.01") * k
            await broker.submit_order(order(qty=100, order_type="limit", limit=str(price), oid=f"d{k}"))
        await broker.advance("20min")
        return [
            (u.order_id, u.fill.quantity, u.fill.price, u.fill.time)
            for u in sink.updates
            if isinstance(u, Filled)
        ]

    first, second = await run(), await run()
    assert first == second and len(first) > 5


async def test_ledger_persists_the_account_and_refuses_duplicates(tmp_path):
    path = tmp_path / "venue.sqlite"
    broker = PaperBroker(market(BOOK), ledger=path)
    await broker.connect(Sink())
    resting = order(qty=100, order_type="limit", limit="99.97", tif="gtc")
    await broker.submit_order(resting)
    filled = order(qty=50)
    await broker.submit_order(filled)
    await broker.advance("5s")
    await broker.close()
    again = PaperBroker(market(BOOK), ledger=path)
    sink = Sink()
    await again.connect(sink)
    assert again.now() == (OPEN + pd.Timedelta(seconds=5)).to_pydatetime()
    assert (await again.lookup_order(filled.order_id)).filled_quantity == 50
    assert [f.quantity for f in await again.fills_since(None)] == [50]
    duplicate = await again.submit_order(filled)
    assert statuses(duplicate) == [OrderStatus.REJECTED] and "duplicate" in duplicate[0].reason
    await again.advance("20s")  # the restored resting order is still on the book
    assert fills(sink.updates) == [(100, Decimal("99.97"), "maker")]
    assert again.submit_counts() == {resting.order_id: 1, filled.order_id: 2}
    await again.close()


async def test_realtime_clock_replays_the_market():
    broker = PaperBroker(market(BOOK, close_after=3600), clock="realtime", speed=600)
    await broker.connect(Sink())
    start = broker.now()
    await asyncio.sleep(0.3)
    moved = broker.now() - start
    await broker.close()
    assert moved > timedelta(seconds=30)  # 0.3 s of wall time at 600x is minutes of market time


async def test_clocks_tell_the_venue_time():
    clock = SimClock()
    broker = PaperBroker(market(BOOK), clock=clock)
    assert clock.now() == broker.now() == OPEN.to_pydatetime()
    await broker.advance("15s")
    assert clock.now() == broker.now() == (OPEN + pd.Timedelta(seconds=15)).to_pydatetime()
    later = RealTimeClock(start=OPEN + pd.Timedelta(seconds=5), speed=10)
    assert PaperBroker(market(BOOK), clock=later).now() == later.now() == (OPEN + pd.Timedelta(seconds=5))


async def test_with_the_order_manager_on_the_sample_market(tmp_path):
    broker = PaperBroker()
    async with OrderManager(broker, journal=tmp_path / "j.sqlite") as om:
        buy = await om.place_order(OrderRequest(symbol="NVDA", side="buy", quantity=5000))
        assert buy.status is OrderStatus.PARTIALLY_FILLED  # more than the touch shows
        await broker.advance("1min")
        assert await om.get_order_status(buy.order_id) is OrderStatus.FILLED
        assert om.position("NVDA") == 5000
        venue_positions = {p.symbol: p.quantity for p in await broker.positions()}
        assert venue_positions == {"NVDA": Decimal(5000)}
        assert sum(f.quantity for f in om.fills()) == 5000
        assert len({f.price for f in om.fills()}) > 1  # walked through several quotes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 800),
            st.sampled_from(["market", "limit", "stop", "stop_limit"]),
            st.integers(-8, 8),
            st.sampled_from(["day", "gtc", "ioc", "fok"]),
            st.integers(0, 15),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_random_orders_never_overfill_or_cross_their_limit(orders):
    trades = [(s + 0.5, p, 90) for s, p in ((1, 99.99), (4, 100.03), (12, 99.96), (22, 99.95), (25, 100.0))]

    async def run():
        broker, sink = await venue(trades=trades, passive_fill_probability=0.5)
        sent = {}
        for k, (side, qty, kind, offset, tif, wait) in enumerate(orders):
            price = str(Decimal("100.00") + Decimal(offset) / 100)
            if kind in ("stop", "stop_limit") and tif in ("ioc", "fok"):
                tif = "day"
            o = order(
                side=side,
                qty=qty,
                order_type=kind,
                tif=tif,
                oid=f"h{k}",
                limit=price if kind in ("limit", "stop_limit") else None,
                stop=price if kind in ("stop", "stop_limit") else None,
            )
            sent[o.order_id] = o
            sink.updates.extend(await broker.submit_order(o))
            await broker.advance(timedelta(seconds=wait))
        await broker.advance("2min")
        return sent, sink.updates

    sent, updates = asyncio.run(run())
    filled = {}
    for u in updates:
        if not isinstance(u, Filled):
            continue
        o = sent[u.order_id]
        assert u.fill.quantity > 0 and u.fill.price > 0
        filled[u.order_id] = filled.get(u.order_id, 0) + u.fill.quantity
        assert filled[u.order_id] <= o.quantity
        if o.limit_price is not None:
            if o.side is Side.BUY:
                assert u.fill.price <= o.limit_price
            else:
                assert u.fill.price >= o.limit_price
