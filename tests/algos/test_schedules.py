"""Parents follow their schedules: TWAP and VWAP within one child, POV within its band of the tape."""

from decimal import Decimal

import pytest

from ntlab.algos import AlgoStatus
from ntlab.algos.schedules import VolumeTape
from ntlab.core import OrderStatus
from ntlab.times import to_ns


def children_of(om, parent_id):
    return [o for o in om.orders() if o.parent_id == parent_id]


@pytest.mark.parametrize("algo", ["twap", "vwap"])
@pytest.mark.parametrize("placement", ["passive", "aggressive"])
async def test_slices_follow_the_schedule_within_one_child(session, algo, placement):
    _broker, om, engine = session
    parent = await getattr(engine, algo)("AAPL", 10_000, minutes=30, placement=placement)
    await engine.run()
    snap = parent.snapshot()
    assert snap.status is AlgoStatus.FILLED and snap.filled_quantity == 10_000
    assert len(parent.history) >= 55
    for point in parent.history:
        assert abs(point.filled - point.target) <= parent.params.max_child, point
    kids = children_of(om, parent.parent_id)
    assert {k.tag for k in kids} == {algo} and not any(k.is_open for k in kids)
    assert sum(k.filled_quantity for k in kids) == 10_000
    assert all(k.quantity <= parent.params.max_child for k in kids)
    fills = [f for f in om.fills() if f.order_id in {k.order_id for k in kids}]
    assert (
        min(f.time for f in fills) >= parent.params.start and max(f.time for f in fills) <= parent.params.end
    )


async def test_twap_spreads_evenly_and_vwap_leans_on_busy_times(session):
    _broker, _om, engine = session
    twap = await engine.twap("AAPL", 6_000, minutes=60)
    vwap = await engine.vwap("MSFT", 6_000, minutes=60)
    await engine.run()
    half = to_ns(twap.params.start) + (to_ns(twap.params.end) - to_ns(twap.params.start)) // 2
    assert twap.target(half) == 3_000
    curve = vwap.schedule
    expected = Decimal(6_000) * Decimal(repr(curve.fraction(half)))
    assert abs(vwap.target(half) - expected) <= 1
    assert twap.target(half) != vwap.target(half)  # the volume curve is not a straight line


async def test_vwap_takes_a_profile_from_history(session):
    _broker, _om, engine = session
    parent = await engine.vwap("AAPL", 4_000, minutes=20, profile=(3, 1, 0, 0))
    await engine.run()
    quarter = to_ns(parent.params.start) + (to_ns(parent.params.end) - to_ns(parent.params.start)) // 4
    assert parent.target(quarter) == 3_000
    assert parent.snapshot().status is AlgoStatus.FILLED


@pytest.mark.parametrize("placement", ["passive", "aggressive"])
async def test_pov_stays_within_its_band_of_observed_volume(session, market, placement):
    _broker, _om, engine = session
    rate, band = 0.05, 0.2
    parent = await engine.pov("AAPL", 1_000_000, rate=rate, band=band, minutes=40, placement=placement)
    await engine.run()
    tape = VolumeTape(market, "AAPL", to_ns(parent.params.start))
    assert len(parent.history) > 200
    for point in parent.history:
        volume = tape.volume(point.time_ns)
        assert point.filled <= Decimal(repr(rate * (1 + band) * volume)) + parent.params.min_child
    late = parent.history[len(parent.history) // 10 :]
    within = [p for p in late if p.filled >= Decimal(repr(rate * (1 - band) * tape.volume(p.time_ns)))]
    assert len(within) >= 0.9 * len(late)
    snap = parent.snapshot()
    assert snap.status is AlgoStatus.EXPIRED  # far more than 5% of 40 minutes' volume was asked
    final = tape.volume(to_ns(parent.params.end))
    assert (1 - band) * rate <= float(snap.filled_quantity) / final <= (1 + band) * rate


async def test_pov_finishes_when_its_quantity_is_done(session):
    broker, om, engine = session
    parent = await engine.pov("AAPL", 2_000, rate=0.1, minutes=60)
    await engine.run()
    assert parent.snapshot().status is AlgoStatus.FILLED
    assert parent.snapshot().filled_quantity == 2_000
    assert broker.now() < parent.params.end
    assert all(o.status is not OrderStatus.PENDING for o in children_of(om, parent.parent_id))
