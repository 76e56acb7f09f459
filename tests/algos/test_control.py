"""Limit caps hold, cancelling a parent leaves no child behind, and a restart never trades twice."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntlab.algos import AlgoEngine, AlgoStatus
from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, Side
from ntlab.market import sample_market

MARKET = sample_market(seed=7, symbols=["AAPL", "MSFT"])


def children_of(om, parent_id):
    return [o for o in om.orders() if o.parent_id == parent_id]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    algo=st.sampled_from(["twap", "vwap", "pov"]),
    side=st.sampled_from(["buy", "sell"]),
    offset_bps=st.integers(min_value=-30, max_value=30),
    placement=st.sampled_from(["passive", "aggressive"]),
)
async def test_no_fill_crosses_the_limit_cap(algo, side, offset_bps, placement):
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, id_prefix="sim") as om:
        await broker.advance("20min")
        mid = broker.last_quote("MSFT").mid
        sign = 1 if side == "buy" else -1
        cap = (mid * (1 + Decimal(sign * offset_bps) / 10_000)).quantize(Decimal("0.01"))
        engine = AlgoEngine(om)
        kw = {"rate": 0.2} if algo == "pov" else {}
        parent = await getattr(engine, algo)(
            "MSFT", 3_000, side, minutes=20, limit_price=cap, placement=placement, **kw
        )
        await engine.run()
        kids = children_of(om, parent.parent_id)
        ids = {k.order_id for k in kids}
        for kid in kids:
            assert kid.limit_price is not None
            assert kid.limit_price <= cap if side == "buy" else kid.limit_price >= cap
        for fill in om.fills():
            if fill.order_id in ids:
                assert fill.price <= cap if fill.side is Side.BUY else fill.price >= cap
        snap = parent.snapshot()
        assert snap.status in (AlgoStatus.FILLED, AlgoStatus.EXPIRED)
        assert snap.filled_quantity <= 3_000
        assert not any(k.is_open for k in kids)


async def test_cancelling_a_parent_cancels_its_children_and_sends_no_more(session):
    broker, om, engine = session
    parent = await engine.twap("AAPL", 20_000, minutes=30)
    other = await engine.twap("MSFT", 2_000, minutes=30)
    await engine.run_until(broker.now_ns + 10 * 60 * 10**9)
    assert any(k.is_open for k in children_of(om, parent.parent_id))
    snap = await engine.cancel(parent.parent_id)
    assert snap.status is AlgoStatus.CANCELLED
    assert snap.open_children == 0 and not any(k.is_open for k in children_of(om, parent.parent_id))
    count, filled, cancelled_at = snap.children, snap.filled_quantity, broker.now()
    await engine.run()
    kids = children_of(om, parent.parent_id)
    assert len(kids) == count and parent.filled == filled
    assert all(f.time <= cancelled_at for f in om.fills() if f.order_id in {k.order_id for k in kids})
    assert other.snapshot().status is AlgoStatus.FILLED  # the other parent carried on


async def test_a_restart_resumes_from_the_journal_without_trading_twice(tmp_path):
    path = tmp_path / "session.sqlite"
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, journal=path, id_prefix="sim") as om:
        engine = AlgoEngine(om)
        await broker.advance("15min")
        parent = await engine.twap("AAPL", 9_000, minutes=30)
        await engine.run_until(broker.now_ns + 12 * 60 * 10**9)
        done_before = parent.filled
        children_before = len(parent.children)
        assert 0 < done_before < 9_000
    async with OrderManager(broker, journal=path) as om:
        engine = AlgoEngine(om)
        (resumed,) = await engine.resume()
        assert resumed.parent_id == parent.parent_id
        assert resumed.filled >= done_before and len(resumed.children) >= children_before
        await engine.run()
        kids = children_of(om, parent.parent_id)
        assert resumed.snapshot().status is AlgoStatus.FILLED
        assert sum(k.filled_quantity for k in kids) == 9_000
        assert len({k.order_id for k in kids}) == len(kids)
        assert om.position("AAPL") == 9_000
        again = await engine.twap("AAPL", 100, minutes=5)
        assert again.parent_id != parent.parent_id
    async with OrderManager(broker, journal=path) as om:
        resumed_again = await AlgoEngine(om).resume()
        assert [p.parent_id for p in resumed_again] == [again.parent_id]  # finished parents stay finished


async def test_a_restart_configured_to_stop_cancels_the_working_children(tmp_path):
    path = tmp_path / "session.sqlite"
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, journal=path, id_prefix="sim") as om:
        engine = AlgoEngine(om)
        await broker.advance("15min")
        parent = await engine.twap("AAPL", 9_000, minutes=30, on_restart="stop")
        await engine.run_until(broker.now_ns + 5 * 60 * 10**9)
        assert any(k.is_open for k in children_of(om, parent.parent_id))
    async with OrderManager(broker, journal=path) as om:
        engine = AlgoEngine(om)
        (stopped,) = await engine.resume()
        assert stopped.snapshot().status is AlgoStatus.STOPPED
        count = len(children_of(om, parent.parent_id))
        assert not any(k.is_open for k in children_of(om, parent.parent_id))
        await engine.run_until(broker.now_ns + 30 * 60 * 10**9)
        assert len(children_of(om, parent.parent_id)) == count


async def test_parent_ids_never_repeat_when_a_journaled_session_is_reopened_without_resume(tmp_path):
    path = tmp_path / "session.sqlite"
    broker = PaperBroker(MARKET)
    async with OrderManager(broker, journal=path, id_prefix="sim") as om:
        await broker.advance("15min")
        first = await AlgoEngine(om).twap("AAPL", 1_000, minutes=5)
    async with OrderManager(broker, journal=path) as om:
        engine = AlgoEngine(om)
        second = await engine.twap("AAPL", 1_000, minutes=5)
        await engine.run()
        assert second.parent_id != first.parent_id
        assert second.snapshot().status is AlgoStatus.FILLED and second.reason is None


async def test_a_refused_child_is_recorded_once_and_never_counted_as_filled(market):
    from ntlab.core import RiskLimits

    broker = PaperBroker(market)
    async with OrderManager(broker, id_prefix="sim", risk=RiskLimits(max_order_notional=10_000)) as om:
        await broker.advance("15min")
        engine = AlgoEngine(om)
        parent = await engine.twap("AAPL", 1_000, minutes=5)
        await engine.run()
        kids = [o for o in om.orders() if o.parent_id == parent.parent_id]
        assert kids and all(k.reason_code == "max_notional" for k in kids)
        assert parent.filled == 0 and parent.snapshot().status is AlgoStatus.EXPIRED
        assert "refused" in parent.snapshot().reason or "window ended" in parent.snapshot().reason
        assert len(set(parent.children)) == len(parent.children) == len(kids)
