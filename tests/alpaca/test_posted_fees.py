"""Fees Alpaca posts after the close amend the fills the session booked before: the fill, its order, the
position, the journal (a restart replays them) and what TCA reads."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from ntlab.core import FeeCharged, OrderManager, OrderRequest, read_events
from ntlab.core.session import load_session
from ntlab.lab.frames import tca_frames
from ntlab.lab.table import FillTable

from .conftest import assert_invariants, make_broker, settle


async def _trade(fake, om, broker) -> tuple[str, str]:
    await settle(fake, om, broker)
    bought = await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
    await fake.advance(1)
    sold = await om.place_order(OrderRequest(symbol="AAPL", side="sell", quantity=60))
    await fake.advance(1)
    await settle(fake, om, broker)
    return bought.order_id, sold.order_id


async def test_posted_fees_amend_booked_fills_orders_positions_and_tca(fake, tmp_path):
    journal = tmp_path / "session.sqlite"
    broker = make_broker(fake)
    async with OrderManager(broker, journal=journal, id_prefix="f") as om:
        bought, sold = await _trade(fake, om, broker)
        table = FillTable(om.fills())
        assert all(f.fee == 0 for f in om.fills())
        assert await broker.post_fees() == []  # nothing posted yet
        assert fake.post_fees() > 0
        reports = await broker.post_fees()
        await settle(fake, om, broker)
        posted = await broker.fill_fees()
        assert {r.fill_id: r.fee for r in reports} == posted and all(
            isinstance(r, FeeCharged) for r in reports
        )
        fees = {f.fill_id: f.fee for f in om.fills()}
        assert fees == posted and sum(fees.values()) == fake.account.fees_posted_usd()
        for order_id in (bought, sold):
            order = om.order(order_id)
            assert order.fees == sum(f.fee for f in om.fills() if f.order_id == order_id) > 0
        assert om.order(sold).fees > om.order(bought).fees  # REG and TAF fall on the sale
        position = om.positions()[0]
        assert position.fees == sum(fees.values()) and position.quantity == 40
        _, fills_frame = tca_frames(om.orders(), om.fills())
        assert Decimal(str(fills_frame["fee"].sum())).quantize(Decimal("0.000001")) == sum(fees.values())
        shown = table.sync(om.fills()).frame()["fee"]  # the Lab's fills view takes the new figures too
        assert shown.to_dict() == {fill_id: float(fee) for fill_id, fee in fees.items()}
        again = await broker.post_fees()  # the same posting again: nothing changes, nothing is journaled
        await settle(fake, om, broker)
        assert {f.fill_id: f.fee for f in om.fills()} == fees
        assert len(again) == len(reports)
        assert_invariants(fake, om)
        amended = om.orders(), om.fills(), om.positions()
    replayed = load_session(journal)
    assert [e.kind for e in read_events(journal)].count("fee_charged") == len(reports)
    assert {f.fill_id: f.fee for f in replayed.fills} == fees
    later = make_broker(fake)
    async with OrderManager(later, journal=journal, id_prefix="f") as om:  # a restart replays them
        await settle(fake, om, later)
        assert (om.orders(), om.fills(), om.positions()) == amended


async def test_a_fee_for_a_fill_the_session_does_not_hold_is_logged_not_applied(fake, caplog):
    broker = make_broker(fake)
    async with OrderManager(broker, id_prefix="u") as om:
        bought, _ = await _trade(fake, om, broker)
        before = om.fills(), om.order(bought), om.positions()
        when = datetime.now(UTC)
        with caplog.at_level(logging.WARNING):
            await om.handle_order_updates(
                [
                    FeeCharged(bought, "not-a-fill", Decimal("0.5"), when),
                    FeeCharged("no-such-order", "x:1", Decimal("0.5"), when),
                ]
            )
        assert (om.fills(), om.order(bought), om.positions()) == before
        assert "no such fill" in caplog.text and "unknown order" in caplog.text
