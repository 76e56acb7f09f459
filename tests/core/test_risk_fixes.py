"""The holes issue 12 found, each tried as a new user would: now closed.

The rest of the rules have their own hand-worked tests (test_risk_rules.py); these go through the real
OrderManager on the paper venue or against the local Alpaca fake.
"""

from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, OrderStatus, RiskLimits, read_events
from ntlab.core.instruments import classify_symbol
from ntlab.errors import InvalidOrder, Reason, RiskDenied


@pytest.fixture
async def paper():
    broker = PaperBroker()
    async with OrderManager(broker, id_prefix="t") as om:
        yield om, broker


async def test_passive_orders_far_from_the_market_pass_the_band(paper):
    om, broker = paper
    aapl = broker.last_quote("AAPL")
    low = await om.place_order(
        OrderRequest(symbol="AAPL", side="buy", quantity=1, order_type="limit", limit_price="1.00")
    )
    assert low.status is OrderStatus.ACCEPTED
    protective = (aapl.bid * Decimal("0.9")).quantize(Decimal("0.01"))
    stop = await om.place_order(
        OrderRequest(symbol="AAPL", side="sell", quantity=1, order_type="stop", stop_price=protective)
    )
    assert stop.status is OrderStatus.ACCEPTED
    with pytest.raises(RiskDenied) as caught:  # the aggressive side is still guarded
        await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=1, order_type="limit", limit_price=aapl.ask * 2)
        )
    assert caught.value.reason is Reason.PRICE_BAND


async def test_a_buy_stop_under_the_market_is_refused_instead_of_filling_at_once(paper):
    om, broker = paper
    aapl = broker.last_quote("AAPL")
    under = aapl.ask - Decimal("1.00")
    with pytest.raises(RiskDenied) as caught:
        await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=10, order_type="stop", stop_price=under)
        )
    assert caught.value.reason is Reason.STOP_WOULD_TRIGGER
    assert om.order(caught.value.order_id).status is OrderStatus.REJECTED
    assert om.fills() == []


async def test_max_position_counts_working_orders():
    broker = PaperBroker()
    async with OrderManager(broker, risk=RiskLimits(max_position=100)) as om:
        bid = broker.last_quote("AAPL").bid
        placed, reasons = 0, []
        for k in range(5):  # five resting buys of 100: only the first fits a limit of 100
            try:
                await om.place_order(
                    OrderRequest(
                        symbol="AAPL", side="buy", quantity=100, order_type="limit", limit_price=bid - k
                    )
                )
                placed += 1
            except RiskDenied as denial:
                reasons.append(denial.reason)
        assert placed == 1 and reasons == [Reason.MAX_POSITION] * 4


def test_symbols_outside_ascii_are_refused_never_folded():
    assert "ſPY".upper() == "SPY"  # what folding would have traded
    for symbol in ("ſPY", "ＡＡＰＬ", "AAPL\u200b", "ﬁ"):
        with pytest.raises(InvalidOrder) as caught:
            OrderRequest(symbol=symbol, side="buy", quantity=1)
        assert caught.value.reason is Reason.INVALID_SYMBOL
        assert "outside ASCII" in str(caught.value)
        assert classify_symbol(symbol) is None
    assert OrderRequest(symbol=" spy ", side="buy", quantity=1).symbol == "SPY"  # plain ASCII still folds
    assert classify_symbol("AAPL\n") is None  # whole-string matches only


async def test_denials_are_journaled_with_their_reason(tmp_path):
    broker = PaperBroker()
    path = tmp_path / "j.sqlite"
    limits = RiskLimits(restricted={"TSLA": "earnings blackout"})
    async with OrderManager(broker, journal=path, risk=limits) as om:
        with pytest.raises(RiskDenied):
            await om.place_order(OrderRequest(symbol="TSLA", side="buy", quantity=1))
    [denied] = [e for e in read_events(path) if e.kind == "denied"]
    assert denied.data["reason_code"] == "restricted_symbol"
    assert "earnings blackout" in denied.data["reason"]
