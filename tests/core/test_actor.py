"""The actor serialises the session: concurrent callers share commits, and a venue that gives the loop
away inside a submit still never sees two batches at once or orders out of the order they were accepted."""

import asyncio
import sqlite3

from ntlab.core import OrderManager, OrderRequest, OrderStatus, read_events
from tests.core.brokers import ScriptedVenue


def market(qty=1, side="buy"):
    return OrderRequest(symbol="AAPL", side=side, quantity=qty, allow_duplicate=True)


class SuspendingVenue(ScriptedVenue):
    """An in-process venue whose submit and cancel give the loop away, counting how many run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.most_inside = 0
        self.seen: list[str] = []

    async def _enter(self, order_id: str) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.seen.append(order_id)
        await asyncio.sleep(0)
        self.inside -= 1

    async def submit_order(self, order):
        await self._enter(order.order_id)
        return await super().submit_order(order)

    async def cancel_order(self, order):
        await self._enter(order.order_id)
        return await super().cancel_order(order)


async def test_concurrent_callers_share_commits(tmp_path):
    path = tmp_path / "j.sqlite"
    async with OrderManager(ScriptedVenue(), journal=path, id_prefix="t") as om:
        answers = await asyncio.gather(*(om.place_order(market(i + 1)) for i in range(100)))
    assert all(a.status is OrderStatus.FILLED for a in answers)
    with sqlite3.connect(path) as db:
        order_batches = db.execute("SELECT count(*) FROM batches").fetchone()[0] - 1  # the session's row
    assert order_batches <= 3  # a burst is one batch, give or take the first caller's


async def test_a_venue_that_suspends_never_sees_two_batches_at_once(tmp_path):
    venue = SuspendingVenue()
    path = tmp_path / "j.sqlite"
    async with OrderManager(venue, journal=path, id_prefix="t") as om:
        resting = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=5, order_type="limit", limit_price="90")
        )

        async def trader(k):
            answers = [await om.place_order(market(k + 1)) for _ in range(5)]
            return answers

        results = await asyncio.gather(*(trader(k) for k in range(8)), om.cancel_order(resting.order_id))
        answers = [a for group in results[:-1] for a in group]
        assert results[-1].status is OrderStatus.CANCELLED
    assert venue.most_inside == 1
    assert all(a.status is OrderStatus.FILLED for a in answers) and len(answers) == 40
    assert sum(venue.submits.values()) == 41 and set(venue.submits.values()) == {1}
    events = read_events(path)
    position = {}
    for e in events:  # each order's request is journaled before its news
        if e.order_id is not None:
            position.setdefault(e.order_id, e.kind)
    assert set(position.values()) == {"request"}
    # the venue heard of orders in the order ntlab accepted them
    accepted = [e.order_id for e in events if e.kind == "request"]
    assert [i for i in venue.seen if i != resting.order_id] == [i for i in accepted if i != resting.order_id]
