"""Every bad argument to the Lab or the algos is refused with an ntlab error before anything is scheduled."""

from decimal import Decimal

import pytest

from ntlab import Lab
from ntlab.errors import ConfigError, InvalidArgument, InvalidOrder, NtlabError


def _nothing_happened(lab):
    assert lab.orders.empty and lab.algos.frame.empty
    assert lab.manager.journal_events(["algo_start"]) == []


ALGO_CALLS = {
    "interval 0s": lambda lab: lab.algos.twap("AAPL", 1000, interval="0s"),
    "interval 1ns": lambda lab: lab.algos.twap("AAPL", 1000, interval="1ns"),
    "interval None": lambda lab: lab.algos.twap("AAPL", 1000, interval=None),
    "interval longer than window": lambda lab: lab.algos.twap("AAPL", 1000, minutes=1, interval="5min"),
    "negative minutes": lambda lab: lab.algos.twap("AAPL", 1000, minutes=-5),
    "zero minutes": lambda lab: lab.algos.vwap("AAPL", 1000, minutes=0),
    "end before start": lambda lab: lab.algos.twap("AAPL", 1000, end="2026-03-02 14:00"),
    "bad time": lambda lab: lab.algos.twap("AAPL", 1000, start="half past ten"),
    "pov rate 2": lambda lab: lab.algos.pov("AAPL", 1000, rate=2),
    "pov rate 0": lambda lab: lab.algos.pov("AAPL", 1000, rate=0),
    "pov rate text": lambda lab: lab.algos.pov("AAPL", 1000, rate="fast"),
    "pov band 1": lambda lab: lab.algos.pov("AAPL", 1000, band=1.5),
    "max under min": lambda lab: lab.algos.twap("AAPL", 1000, min_child=200, max_child=100),
    "negative max": lambda lab: lab.algos.twap("AAPL", 1000, max_child=-1),
    "zero quantity": lambda lab: lab.algos.twap("AAPL", 0),
    "quantity None": lambda lab: lab.algos.twap("AAPL", None),
    "quantity text": lambda lab: lab.algos.twap("AAPL", "lots"),
    "fractional shares": lambda lab: lab.algos.twap("AAPL", "10.5"),
    "symbol None": lambda lab: lab.algos.twap(None, 1000),
    "side": lambda lab: lab.algos.twap("AAPL", 1000, side="long"),
    "placement": lambda lab: lab.algos.twap("AAPL", 1000, placement="fast"),
    "unknown option": lambda lab: lab.algos.twap("AAPL", 1000, minutse=5),
    "negative limit": lambda lab: lab.algos.twap("AAPL", 1000, limit_price="-1"),
    "profile": lambda lab: lab.algos.vwap("AAPL", 1000, profile=(0, 0)),
    "cancel None": lambda lab: lab.algos.cancel(None),
}


@pytest.mark.parametrize("call", ALGO_CALLS.values(), ids=ALGO_CALLS.keys())
def test_bad_algo_arguments_are_refused_before_a_parent_exists(lab, call):
    with pytest.raises(InvalidArgument) as caught:
        call(lab)
    assert isinstance(caught.value, ConfigError | ValueError)
    assert "\n" not in str(caught.value) and "pydantic" not in str(caught.value)
    assert caught.value.__cause__ is None
    _nothing_happened(lab)


LAB_CALLS = {
    "quote None": lambda lab: lab.quote(None),
    "quote number": lambda lab: lab.quote(7),
    "cancel None": lambda lab: lab.cancel(None),
    "cancel number": lambda lab: lab.cancel(12),
    "order None": lambda lab: lab.order(None),
    "advance None": lambda lab: lab.advance(None),
    "advance zero": lambda lab: lab.advance(0),
    "advance backwards": lambda lab: lab.advance("-5min"),
    "advance words": lambda lab: lab.advance("soon"),
    "buy tif": lambda lab: lab.buy("AAPL", 1, tif="forever"),
    "buy symbol None": lambda lab: lab.buy(None, 1),
    "cancel_all symbol": lambda lab: lab.cancel_all(5),
    "place not a request": lambda lab: lab.place("AAPL"),
    "on_event not callable": lambda lab: lab.on_event("print"),
    "instrument None": lambda lab: lab.instrument(None),
}


@pytest.mark.parametrize("call", LAB_CALLS.values(), ids=LAB_CALLS.keys())
def test_bad_lab_arguments_are_refused(lab, call):
    with pytest.raises(InvalidArgument) as caught:
        call(lab)
    assert "\n" not in str(caught.value)
    _nothing_happened(lab)


def test_bad_wait_arguments_are_refused(lab):
    order = lab.buy("AAPL", 1, limit=lab.quote("AAPL").bid - Decimal(1))
    for call in (lambda: order.wait("done"), lambda: order.wait(timeout=-1), lambda: order.wait(None)):
        with pytest.raises(InvalidArgument):
            call()
    with pytest.raises(InvalidArgument, match="status='done'"):
        lab.run(order._lab.await_for(order.order_id, "done"))


def test_bad_order_fields_stay_invalid_orders(lab):
    with pytest.raises(InvalidOrder, match="positive"):
        lab.buy("AAPL", -5)
    assert lab.orders.empty  # a malformed request never becomes an order


def test_lab_constructor_arguments():
    for kwargs in ({"clock": "wall"}, {"speed": 0}, {"timeout": -1}, {"broker": "nobody"}):
        with pytest.raises(ConfigError):
            Lab(journal=None, **kwargs)


def test_default_time_in_force_follows_the_instrument(lab):
    assert lab.buy("BTC/USD", 0.5).time_in_force == "gtc"  # crypto has no day
    assert lab.sell("EUR/USD", 1000).time_in_force == "gtc"
    assert lab.buy("AAPL", 1).time_in_force == "day"
    assert lab.place(symbol="BTC/USD", side="sell", quantity="0.25").time_in_force == "gtc"
    assert lab.buy("BTC/USD", "0.1", tif="ioc").time_in_force == "ioc"
    lab.buy("BTC/USD", 1)
    assert [h.time_in_force for h in lab.flatten("BTC/USD")] == ["gtc"]


def test_a_sync_call_that_fails_on_the_core_reads_from_the_callers_line(lab):
    with pytest.raises(NtlabError) as caught:
        lab.quote("ZZZZ")
    files = []
    tb = caught.value.__traceback__
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert not any("ntlab/lab/session.py" in f for f in files)
    assert caught.value.core_traceback is not None  # kept for %tb
