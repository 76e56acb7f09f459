"""The same scenarios for every broker adapter, each ending with the same check: no order placed twice at the
broker, every fill the broker made booked in ntlab, ntlab's positions equal to the broker's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ntlab.core import OrderManager, OrderRequest, OrderStatus, OrderType, Quote, TimeInForce
from ntlab.core.broker import QuoteSource
from ntlab.errors import BrokerTimeout, OrderDenied, OrderRejected
from tests.conformance.conftest import RISK, check, lacks, marketable_price, passive_price, session
from tests.conformance.subject import Subject

S = OrderStatus


async def quote_of(om: OrderManager, symbol: str) -> Quote:
    broker = om.broker
    quote = broker.last_quote(symbol)
    if quote is None and isinstance(broker, QuoteSource):
        quote = await broker.fetch_quote(symbol)
    assert quote is not None, f"no quote for {symbol}"
    return quote


def request(subject: Subject, **fields: Any) -> OrderRequest:
    base: dict[str, Any] = {"symbol": subject.caps.symbol, "side": "buy", "quantity": subject.caps.quantity}
    return OrderRequest(**(base | subject.caps.defaults | fields))


async def big_order(subject: Subject, om: OrderManager) -> OrderRequest:
    """A buy of ``caps.big``, more than the touch holds: it fills in part at once and works for the rest (a
    market order, or a limit a little through the touch where market orders cannot rest)."""
    if subject.caps.resting_market:
        return request(subject, quantity=subject.caps.big)
    quote = await quote_of(om, subject.caps.symbol)
    price = marketable_price(quote.ask, buy=True)
    return request(
        subject,
        quantity=subject.caps.big,
        order_type="limit",
        limit_price=price,
        time_in_force=subject.caps.resting_tif.value,
    )


async def until(
    condition: Any, subject: Subject, om: OrderManager, *, step: float = 1.0, rounds: int = 60
) -> None:
    """Move the fake's market until ``condition()`` holds (bounded)."""
    for _ in range(rounds):
        await subject.settle(om)
        if condition():
            return
        await subject.advance(step)
    raise AssertionError("the condition never held")


# --- placing ---------------------------------------------------------------------------------------------


async def test_a_market_order_fills(subject: Subject) -> None:
    async with session(subject) as om:
        placed = await om.place_order(request(subject))
        await until(lambda: om.order(placed.order_id).status is S.FILLED, subject, om)
        assert om.position(subject.caps.symbol) == subject.caps.quantity
        check(subject, om)


async def test_a_notional_order_is_sized_by_the_broker(subject: Subject) -> None:
    """An order for an amount of money: the broker works out the quantity, ntlab books what it says."""
    if not subject.caps.notional:
        lacks(subject, "notional")
    async with session(subject) as om:
        quote = await quote_of(om, subject.caps.symbol)
        amount = (quote.ask * 5 + Decimal("0.5")).quantize(Decimal("0.01"))  # a little over 5 units' worth
        fields = {"symbol": subject.caps.symbol, "side": "buy", "notional": amount}
        placed = await om.place_order(OrderRequest(**(fields | subject.caps.defaults)))
        await until(lambda: om.order(placed.order_id).status.is_final, subject, om)
        order = om.order(placed.order_id)
        assert order.status is S.FILLED and order.notional == amount and not order.overfilled
        assert order.quantity == order.filled_quantity >= 5
        assert order.avg_fill_price is not None
        assert order.quantity * order.avg_fill_price <= amount
        assert om.position(subject.caps.symbol) == order.quantity
        check(subject, om)


def _priced(subject: Subject, kind: OrderType, tif: TimeInForce, quote: Quote) -> dict[str, Any] | None:
    """Fields of a buy of this type and time in force that rests (or, for IOC/FOK, is refused the rest)."""
    rest = passive_price(quote.bid, buy=True)
    above = passive_price(quote.ask, buy=False)  # a buy stop over the market waits for it
    if kind is OrderType.MARKET:
        return {} if tif not in (TimeInForce.GTC,) else None
    if kind is OrderType.LIMIT:
        return {"limit_price": rest}
    if tif in (TimeInForce.IOC, TimeInForce.FOK):
        return None  # a stop cannot wait with IOC/FOK (ntlab refuses it before any broker)
    if kind is OrderType.STOP:
        return {"stop_price": above}
    if kind is OrderType.STOP_LIMIT:
        return {"stop_price": above, "limit_price": above}
    return None


async def test_every_order_type_and_time_in_force_it_supports(subject: Subject) -> None:
    caps = subject.caps
    async with session(subject) as om:
        quote = await quote_of(om, caps.symbol)
        tried = 0
        for kind in sorted(caps.order_types, key=lambda k: k.value):
            for tif in sorted(caps.time_in_force, key=lambda t: t.value):
                fields = _priced(subject, kind, tif, quote)
                if fields is None:
                    continue
                await subject.advance(2)  # a fresh touch: size taken at a quote stays taken until it moves
                answer = await om.place_order(request(subject, order_type=kind, time_in_force=tif, **fields))
                tried += 1
                order = om.order(answer.order_id)
                if kind is OrderType.MARKET:
                    await until(lambda o=order: om.order(o.order_id).status.is_final, subject, om)
                    assert om.order(order.order_id).filled_quantity > 0, (kind, tif)
                elif tif in (TimeInForce.IOC, TimeInForce.FOK):
                    await until(lambda o=order: om.order(o.order_id).status.is_final, subject, om)
                    assert om.order(order.order_id).status is S.CANCELLED, (
                        kind,
                        tif,
                    )  # nothing at that price
                else:
                    assert order.status in (S.ACCEPTED, S.PENDING), (kind, tif, order)
        assert tried >= len(caps.order_types)
        await om.cancel_all()
        await until(lambda: not om.orders(open_only=True), subject, om)
        check(subject, om)


async def test_a_refusal_is_mapped_to_its_reason(subject: Subject) -> None:
    if subject.caps.refusal is None:
        lacks(subject, "refusal")
    async with session(subject) as om:
        with pytest.raises(OrderRejected) as refused:
            await om.place_order(request(subject, **subject.refuse()))
        order = om.order(refused.value.order_id or "")
        assert order.status is S.REJECTED and order.reason_code == subject.caps.refusal
        check(subject, om)


async def test_partial_fills_then_the_rest(subject: Subject) -> None:
    async with session(subject) as om:
        placed = await om.place_order(await big_order(subject, om))
        await subject.settle(om)
        first = om.order(placed.order_id)
        assert first.filled_quantity < subject.caps.big  # the touch could not take it all at once
        await until(lambda: om.order(placed.order_id).status is S.FILLED, subject, om)
        assert len([f for f in om.fills() if f.order_id == placed.order_id]) >= 2
        check(subject, om)


# --- cancelling and replacing ----------------------------------------------------------------------------


async def _resting(subject: Subject, om: OrderManager) -> str:
    quote = await quote_of(om, subject.caps.symbol)
    fields = {
        "order_type": "limit",
        "limit_price": passive_price(quote.bid, buy=True),
        "time_in_force": subject.caps.resting_tif.value,
    }
    answer = await om.place_order(request(subject, **fields))
    await subject.settle(om)
    return answer.order_id


async def test_cancel(subject: Subject) -> None:
    async with session(subject) as om:
        order_id = await _resting(subject, om)
        await om.cancel_order(order_id)
        await until(lambda: om.order(order_id).status is S.CANCELLED, subject, om)
        check(subject, om)


async def test_a_cancel_the_broker_refuses_leaves_the_order_as_its_fills_say(subject: Subject) -> None:
    """The broker filled the order while the session could not hear; the cancel comes too late."""
    if not subject.caps.stream:
        lacks(subject, "stream")
    async with session(subject) as om:
        placed = await om.place_order(await big_order(subject, om))
        subject.drop_stream()
        await subject.advance(30)  # it fills meanwhile
        answer = await om.cancel_order(placed.order_id)
        assert answer.status is not S.CANCELLED
        await until(lambda: om.order(placed.order_id).status is S.FILLED, subject, om)
        check(subject, om)


async def test_replace(subject: Subject) -> None:
    if not subject.caps.replace:
        lacks(subject, "replace")
    async with session(subject) as om:
        order_id = await _resting(subject, om)
        before = om.order(order_id)
        lower = before.limit_price - Decimal("0.05")
        await om.replace_order(order_id, quantity=before.quantity * 2, limit_price=lower)
        await subject.settle(om)
        after = om.order(order_id)
        assert (after.order_id, after.quantity, after.limit_price) == (order_id, before.quantity * 2, lower)
        assert after.status is S.ACCEPTED
        await om.cancel_order(order_id)
        await until(lambda: om.order(order_id).status is S.CANCELLED, subject, om)
        check(subject, om)


async def test_a_refused_replace_leaves_the_order_as_it_was(subject: Subject) -> None:
    """A replace of an order the broker has filled meanwhile (the session could not hear it) is refused by
    the broker; without a stream, one below what is filled is refused before it is sent."""
    if not subject.caps.replace:
        lacks(subject, "replace")
    async with session(subject) as om:
        placed = await om.place_order(await big_order(subject, om))
        if subject.caps.stream:
            subject.drop_stream()
            await subject.advance(30)
            with pytest.raises(OrderRejected):
                await om.replace_order(placed.order_id, limit_price=None, quantity=subject.caps.big * 2)
        else:
            await until(lambda: om.order(placed.order_id).filled_quantity > 0, subject, om)
            with pytest.raises(OrderDenied):
                await om.replace_order(placed.order_id, quantity=Decimal(1))
        await until(lambda: om.order(placed.order_id).status is S.FILLED, subject, om)
        assert om.order(placed.order_id).quantity == subject.caps.big
        check(subject, om)


# --- the stream ----------------------------------------------------------------------------------------


async def test_duplicated_and_reordered_events_change_nothing(subject: Subject) -> None:
    if not subject.caps.stream or subject.faults is None:
        lacks(subject, "stream")
    subject.faults.duplicate_events = 20
    subject.faults.reorder_events = 10
    async with session(subject) as om:
        placed = [await om.place_order(request(subject, side=side)) for side in ("buy", "sell", "buy")]
        big = await om.place_order(await big_order(subject, om))
        await until(lambda: all(om.order(p.order_id).status is S.FILLED for p in [*placed, big]), subject, om)
        check(subject, om)


async def test_a_dropped_stream_recovers_what_it_missed(subject: Subject) -> None:
    if not subject.caps.stream:
        lacks(subject, "stream")
    async with session(subject) as om:
        order_id = await _resting(subject, om)
        big = await om.place_order(await big_order(subject, om))
        subject.drop_stream()
        await om.cancel_order(order_id)  # its outcome streams while nobody listens
        await subject.advance(20)
        await until(
            lambda: om.order(order_id).status is S.CANCELLED and om.order(big.order_id).status is S.FILLED,
            subject,
            om,
        )
        check(subject, om)


# --- the network -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["server error", "rate limit", "reset before", "reset after", "stall"])
async def test_a_submit_through_a_fault_is_placed_once(subject: Subject, fault: str) -> None:
    if not subject.caps.request_faults or subject.faults is None:
        lacks(subject, "request_faults")
    faults = subject.faults
    post = dict(subject.caps.submit_request)
    if fault == "server error":
        faults.fail_next(1, 503, after_processing=True, **post)
    elif fault == "rate limit":
        faults.rate_limit_next(2, retry_after=1, **post)
    elif fault == "reset before":
        faults.reset_next(1, **post)
    elif fault == "reset after":
        faults.reset_next(1, after_processing=True, **post)
    else:
        faults.stall_next(1, seconds=2.0, **post)
    async with session(subject) as om:
        try:
            placed = await om.place_order(request(subject))
            order_id = placed.order_id
        except BrokerTimeout as unclear:  # no answer and no lookup in time: the stream settles it
            order_id = unclear.args[0].split(":")[0].split()[-1]
        await until(lambda: om.order(order_id).status is S.FILLED, subject, om)
        assert subject.placed().count(order_id) == 1
        check(subject, om)


# --- restarts --------------------------------------------------------------------------------------------


class Unreachable:
    """A broker that never answers a submit or a lookup: the order stays pending, as a crash would leave it."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self.name, self.local, self.durable = broker.name, broker.local, broker.durable

    async def submit_order(self, order: Any) -> Any:
        raise BrokerTimeout("no answer")

    async def lookup_order(self, order_id: str) -> Any:
        raise BrokerTimeout("no answer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)


async def test_a_restart_reconciles_missed_fills_external_orders_and_what_never_arrived(
    subject: Subject, tmp_path
) -> None:
    if not subject.caps.restart:
        lacks(subject, "restart")
    journal = tmp_path / "session.sqlite"
    async with session(subject, journal) as om:
        resting = await _resting(subject, om)
        big = await om.place_order(await big_order(subject, om))
    lost = OrderManager(
        Unreachable(subject.broker()), journal=journal, risk=RISK, **subject.manager_options()
    )
    await lost.start()
    with pytest.raises(BrokerTimeout):
        await lost.place_order(request(subject))
    never = lost.orders()[-1].order_id  # journaled, never received by the broker
    await lost.close()
    # while the session is down: its big order fills, the resting one is still there, another app trades
    await subject.advance(30)
    external = None
    if subject.caps.external_orders:
        external = await subject.place_external(subject.caps.symbol, "buy", subject.caps.quantity)
        await subject.advance(5)
    async with session(subject, journal) as om:
        await until(lambda: om.order(big.order_id).status is S.FILLED, subject, om)
        assert om.order(resting).status is S.ACCEPTED
        assert om.order(never).status is S.REJECTED and om.order(never).reason_code == "never_sent"
        if external is not None:
            await until(lambda: external in {o.order_id for o in om.orders()}, subject, om)
            assert om.order(external).external
        await om.cancel_order(resting)
        await until(lambda: om.order(resting).status is S.CANCELLED, subject, om)
        assert never not in subject.placed()
        check(subject, om)


def test_capabilities_are_declared(subject: Subject) -> None:
    """What each subject lacks is said, with a reason, in one place."""
    caps = subject.caps
    assert caps.order_types and caps.time_in_force
    for name in (
        "replace",
        "stream",
        "request_faults",
        "restart",
        "external_orders",
        "resting_market",
        "notional",
    ):
        if not getattr(caps, name):
            assert name in caps.notes, f"{subject.name} turns {name} off without saying why"
    if caps.refusal is None:
        assert "refusal" in caps.notes
