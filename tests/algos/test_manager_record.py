"""OrderManager.record / journal_events: other components' state survives a restart beside the orders."""

import pytest

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager, OrderRequest
from ntlab.errors import JournalError


async def test_records_come_back_after_a_restart_and_do_not_disturb_orders(tmp_path):
    path = tmp_path / "j.sqlite"
    broker = PaperBroker()
    async with OrderManager(broker, journal=path, id_prefix="t") as om:
        await om.record("algo_start", {"parent_id": "p1", "quantity": "100"}, key="p1")
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=10))
        await om.record("algo_status", {"parent_id": "p1", "status": "filled"}, key="p1")
    async with OrderManager(PaperBroker(), journal=path) as om:
        events = om.journal_events(["algo_start", "algo_status"])
        assert [(e.kind, e.order_id, e.data) for e in events] == [
            ("algo_start", "p1", {"parent_id": "p1", "quantity": "100"}),
            ("algo_status", "p1", {"parent_id": "p1", "status": "filled"}),
        ]
        assert len(om.orders()) == 1 and om.orders()[0].filled_quantity == 10


async def test_record_refuses_order_kinds_and_is_a_no_op_without_a_journal():
    async with OrderManager(PaperBroker(), id_prefix="t") as om:
        for own in ("filled", "request", "cancel_request", "session"):
            with pytest.raises(JournalError, match="the manager journals itself"):
                await om.record(own, {})
        await om.record("algo_start", {"x": 1})
        assert om.journal_events(["algo_start"]) == []
