"""The paper venue sizes a notional order on arrival: the notional over the price it takes, rounded down to
the instrument's lot (whole shares, 0.0001 BTC, or 9 decimals for a stock that trades in fractions)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ntlab.brokers.paper import PaperBroker, PaperConfig
from ntlab.core import OrderManager, OrderRequest, OrderStatus, Replaced
from ntlab.market import Market, sample_market


def _market(lot: str | None = None) -> Market:
    market = sample_market(symbols=["AAPL", "BTC/USD"])
    if lot is None:
        return market
    instruments = dict(market.instruments)
    instruments["AAPL"] = instruments["AAPL"].model_copy(update={"lot_size": Decimal(lot)})
    return Market(market.quotes, market.trades, instruments, market.session_open, market.session_close)


@pytest.mark.parametrize(
    ("symbol", "lot", "tif"),
    [("AAPL", None, "day"), ("BTC/USD", None, "gtc"), ("AAPL", "0.000000001", "day")],
)
async def test_a_notional_order_buys_whole_lots_at_the_price_it_takes(
    symbol: str, lot: str | None, tif: str
) -> None:
    venue = PaperBroker(_market(lot))
    step = venue.market.instruments[symbol].lot_size
    async with OrderManager(broker=venue) as om:
        ask = venue.last_quote(symbol).ask  # type: ignore[union-attr]
        placed = await om.place_order(
            OrderRequest(symbol=symbol, side="buy", notional="1000", time_in_force=tif)
        )
        order = om.order(placed.order_id)
    expected = (Decimal(1000) / ask / step).to_integral_value(rounding="ROUND_DOWN") * step
    assert order.status is OrderStatus.FILLED and order.quantity == expected == order.filled_quantity
    assert order.quantity * ask <= 1000 < (order.quantity + step) * ask
    if lot is not None:
        assert order.quantity != order.quantity.to_integral_value()  # fractional, to 9 decimals
        assert order.quantity == order.quantity.quantize(Decimal("1e-9"))


async def test_the_size_is_reported_after_the_ack_and_before_the_fill() -> None:
    venue = PaperBroker(_market(), config=PaperConfig(slippage_bps=Decimal(5)))
    async with OrderManager(broker=venue) as om:
        quote = venue.last_quote("AAPL")
        assert quote is not None
        order = om.order(
            (await om.place_order(OrderRequest(symbol="AAPL", side="sell", notional=5000))).order_id
        )
        fill = om.fills()[-1]
    assert fill.price < quote.bid  # slipped: the size is taken at that price, not at the bid
    assert order.quantity == Decimal(5000) // fill.price
    reports = await PaperBroker(_market()).submit_order(
        order._replace(quantity=Decimal(0), status=OrderStatus.PENDING)
    )
    assert [type(r).__name__ for r in reports][:3] == ["Accepted", "Replaced", "Filled"]
    assert isinstance(reports[1], Replaced) and reports[1].quantity == reports[2].fill.quantity  # type: ignore[union-attr]


async def test_the_ledger_keeps_the_notional(tmp_path: Path) -> None:
    ledger = tmp_path / "venue.sqlite"
    venue = PaperBroker(_market(), ledger=ledger)
    async with OrderManager(broker=venue) as om:
        placed = await om.place_order(OrderRequest(symbol="AAPL", side="buy", notional=1000))
    again = PaperBroker(_market(), ledger=ledger)
    seen = await again.lookup_order(placed.order_id)
    assert seen is not None and seen.notional == 1000 and seen.quantity == seen.filled_quantity > 0
    await again.close()
