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


# --- a caller that finds the actor parked runs its batch itself ------------------------------------------


async def test_a_caller_placing_in_a_tight_loop_still_lets_the_event_loop_run(tmp_path):
    """Batches a caller runs itself never give the loop away; the manager sends every few through the actor,
    so other tasks (a widget's refresh, a stream) keep running while a notebook loop trades."""
    ticks = 0

    async def other_task():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async with OrderManager(ScriptedVenue(), journal=tmp_path / "j.sqlite", id_prefix="t") as om:
        other = asyncio.create_task(other_task())
        await asyncio.sleep(0)
        before = ticks
        answers = [await om.place_order(market(side="sell" if i % 2 else "buy")) for i in range(160)]
        ran = ticks - before
        other.cancel()
    assert all(a.status is OrderStatus.FILLED for a in answers)
    assert ran >= 160 // 16 - 1


async def test_one_callers_orders_are_each_journaled_before_their_answer(tmp_path):
    path = tmp_path / "j.sqlite"
    async with OrderManager(ScriptedVenue(), journal=path, id_prefix="t") as om:
        for i in range(20):
            answer = await om.place_order(market(side="sell" if i % 2 else "buy"))
            kinds = [e.kind for e in read_events(path) if e.order_id == answer.order_id]
            assert kinds == ["request", "accepted", "filled"], kinds


class GatedVenue(ScriptedVenue):
    """Its submits wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def submit_order(self, order):
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        return await super().submit_order(order)


async def test_a_caller_cancelled_while_its_batch_waits_on_the_venue_leaves_nothing_half_done(tmp_path):
    venue = GatedVenue()
    venue.gate.set()
    path = tmp_path / "j.sqlite"
    async with OrderManager(venue, journal=path, id_prefix="t") as om:

        async def trader():
            await om.place_order(market())  # a task's first order goes through the actor
            venue.gate.clear()
            await om.place_order(market(2))  # its next it runs itself, and the venue makes it wait

        placing = asyncio.create_task(trader())
        while not venue.waiting:
            await asyncio.sleep(0)
        queued = asyncio.create_task(om.place_order(market(3)))  # waits for that batch
        await asyncio.sleep(0)
        placing.cancel()
        await asyncio.sleep(0)
        venue.gate.set()
        third = await queued
        orders = om.orders()
        position = om.position("AAPL")
    assert placing.cancelled()
    assert third.status is OrderStatus.FILLED
    assert [o.status for o in orders] == [OrderStatus.FILLED] * 3
    assert position == 6
    replayed = [e.kind for e in read_events(path) if e.order_id == orders[1].order_id]
    assert replayed == ["request", "accepted", "filled"]
