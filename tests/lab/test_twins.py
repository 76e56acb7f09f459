"""Twins by construction: every Lab and algos operation exists sync and async, and both give the same."""

import asyncio
import inspect
from decimal import Decimal

import pandas as pd
import pytest

from ntlab import Lab
from ntlab.core import OrderStatus
from ntlab.core.records import Account
from ntlab.lab.algos import Algos
from ntlab.lab.twins import twin


def test_every_operation_has_both_twins():
    assert {"buy", "sell", "place", "cancel", "quote", "orders", "advance", "account"} <= set(Lab.TWINS)
    assert {"twap", "vwap", "pov", "cancel", "frame", "run"} <= set(Algos.TWINS)
    for cls in (Lab, Algos):
        for name in cls.TWINS:
            sync, asynchronous = inspect.getattr_static(cls, name), getattr(cls, f"a{name}")
            assert inspect.iscoroutinefunction(asynchronous), (cls, name)
            body = sync.fget if isinstance(sync, property) else sync
            assert not inspect.iscoroutinefunction(body)
            assert inspect.signature(body) == inspect.signature(asynchronous)
            assert body.__doc__, f"{cls.__name__}.{name} says what it does"


def test_adding_an_operation_is_one_decorated_coroutine():
    class Extended(Lab):
        @twin
        async def spread(self, symbol: str) -> Decimal:
            quote = self.broker.last_quote(symbol)
            return quote.ask - quote.bid

    assert Extended.TWINS[-1] == "spread" and "spread" not in Lab.TWINS
    with Extended(journal=None) as lab:
        assert lab.spread("AAPL") == asyncio.run(lab.aspread("AAPL")) > 0


def run_both(lab, sync, asynchronous):
    """The result of the sync twin, then of the async one on a fresh loop (a notebook's)."""
    return sync(), asyncio.run(asynchronous())


def test_order_twins_act_alike():
    with Lab(journal=None) as a, Lab(journal=None) as b:
        for name, arguments in [
            ("buy", ("AAPL", 10)),
            ("sell", ("MSFT", 5)),
            ("place", ()),
        ]:
            kwargs = {"symbol": "NVDA", "side": "buy", "quantity": 3} if name == "place" else {}
            sync = getattr(a, name)(*arguments, **kwargs)
            other = asyncio.run(getattr(b, f"a{name}")(*arguments, **kwargs))
            assert sync.order_id == other.order_id and sync.status is other.status is OrderStatus.FILLED
        for lab in (a, b):
            assert lab.buy("SPY", 1, limit=lab.quote("SPY").bid - Decimal(1)).status is OrderStatus.ACCEPTED
        assert a.cancel("sim-000004").status is asyncio.run(b.acancel("sim-000004")).status
        a.buy("SPY", 1, limit=a.quote("SPY").bid - Decimal(1), allow_duplicate=True)
        b.buy("SPY", 1, limit=b.quote("SPY").bid - Decimal(1), allow_duplicate=True)
        assert a.cancel_all() == asyncio.run(b.acancel_all()) == 1
        assert [h.order_id for h in a.flatten()] == [h.order_id for h in asyncio.run(b.aflatten())]
        assert a.advance("1min") == asyncio.run(b.aadvance("1min"))
        assert a.now() == asyncio.run(b.anow())


def test_view_and_lookup_twins_give_the_same(lab):
    lab.buy("AAPL", 10)
    lab.sell("BTC/USD", "0.5")
    for name in ("orders", "fills", "positions"):
        sync = getattr(lab, name)
        other = asyncio.run(getattr(lab, f"a{name}")())
        pd.testing.assert_frame_equal(sync, other)
        assert sync.attrs["ntlab"].ticks["BTC/USD"] == Decimal("0.01")
    assert isinstance(lab.account, Account) and lab.account == asyncio.run(lab.aaccount())
    for name, arguments in [
        ("quote", ("AAPL",)),
        ("symbols", ()),
        ("instrument", ("BTC/USD",)),
        ("snapshot", ("sim-000001",)),
        ("snapshots", ()),
        ("order", ("sim-000001",)),
        ("wait_for", ("sim-000001",)),
    ]:
        assert getattr(lab, name)(*arguments) == asyncio.run(getattr(lab, f"a{name}")(*arguments)), name
    handle = lab.order("sim-000001")
    assert handle.wait() == asyncio.run(handle.await_status())
    report, other = lab.tca(), asyncio.run(lab.atca())
    pd.testing.assert_frame_equal(report.orders, other.orders)


def test_algo_twins_act_alike():
    with Lab(journal=None) as a, Lab(journal=None) as b:
        for name, kwargs in [
            ("twap", {"minutes": 5}),
            ("vwap", {"minutes": 5}),
            ("pov", {"rate": 0.05, "minutes": 5}),
        ]:
            sync = getattr(a.algos, name)("AAPL", 500, **kwargs)
            other = asyncio.run(getattr(b.algos, f"a{name}")("AAPL", 500, **kwargs))
            assert sync.parent_id == other.parent_id
        assert a.algos.parent("sim-twap-001").params == asyncio.run(b.algos.aparent("sim-twap-001")).params
        assert a.algos.cancel("sim-pov-003").status == asyncio.run(b.algos.acancel("sim-pov-003")).status
        assert a.algos.run() == asyncio.run(b.algos.arun())
        pd.testing.assert_frame_equal(a.algos.frame, asyncio.run(b.algos.aframe()), check_exact=False)
        assert [s.status for s in a.algos.snapshots()] == [
            s.status for s in asyncio.run(b.algos.asnapshots())
        ]


@pytest.mark.parametrize("name", ["buy", "quote", "orders"])
def test_async_twins_run_from_the_core_thread_itself(lab, name):
    """Callbacks on the core thread use the async API: it awaits the operation in place."""
    results = []

    async def on_core():
        twin_ = getattr(lab, f"a{name}")
        results.append(
            await (twin_("AAPL", 1) if name == "buy" else twin_("AAPL") if name == "quote" else twin_())
        )

    lab.run(on_core())
    assert results and results[0] is not None
