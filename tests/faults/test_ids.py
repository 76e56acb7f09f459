"""Order ids: a caller's own id never takes over another order's record, and generated ids skip used ones."""

from decimal import Decimal

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest, Side
from ntlab.errors import InvalidOrder, Reason
from ntlab.market import sample_market

MARKET = sample_market(symbols=["AAPL"])


def buy(quantity: int, client_order_id: str | None = None) -> OrderRequest:
    return OrderRequest(symbol="AAPL", side="buy", quantity=quantity, client_order_id=client_order_id)


def booked(om: OrderManager) -> Decimal:
    signed = (o.filled_quantity if o.side is Side.BUY else -o.filled_quantity for o in om.orders())
    return sum(signed, Decimal(0))


async def test_a_callers_id_equal_to_the_next_generated_one_takes_nothing_over(tmp_path):
    journal = tmp_path / "j.sqlite"
    async with OrderManager(PaperBroker(MARKET), journal=journal, id_prefix="s") as om:
        first = await om.place_order(buy(10))
        mine = await om.place_order(buy(20, client_order_id="s-000002"))  # the id the manager would pick next
        third = await om.place_order(buy(5))
        ids = [first.order_id, mine.order_id, third.order_id]
        assert ids[:2] == ["s-000001", "s-000002"] and len(set(ids)) == 3
        assert [om.order(i).quantity for i in ids] == [10, 20, 5]
        assert om.position("AAPL") == booked(om) == 35
        with pytest.raises(InvalidOrder) as refused:
            await om.place_order(buy(7, client_order_id="s-000002"))
        assert refused.value.reason is Reason.DUPLICATE_ORDER_ID
        assert refused.value.order_id not in ids and om.order("s-000002").quantity == 20
    async with OrderManager(PaperBroker(MARKET), journal=journal) as om:  # a restart continues past them all
        again = await om.place_order(buy(1))
        assert again.order_id not in ids and again.order_id.startswith("s-")
        assert om.position("AAPL") == booked(om) == 36
