from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.core import Fill, OrderStatus, OrderType, OrderUpdate, Side, TimeInForce, transition_table
from ntlab.core.lifecycle import TRANSITIONS, OrderState, apply_update

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
S = OrderStatus


def new_order(quantity: str = "100") -> OrderState:
    return OrderState(
        order_id="o1",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(quantity),
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        created_at=T0,
        limit_price=Decimal("100.00"),
    )


def fill(fill_id: str, quantity: str, price: str = "100.00") -> OrderUpdate:
    f = Fill(
        fill_id=fill_id,
        order_id="o1",
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal(price),
        time=T0,
    )
    return OrderUpdate(order_id="o1", fill=f)


def status(s: OrderStatus) -> OrderUpdate:
    return OrderUpdate(order_id="o1", status=s)


def test_table_prints_every_status_once():
    text = transition_table()
    assert [line.split()[0] for line in text.splitlines()] == [s.value for s in OrderStatus]
    assert "filled           -> (final)" in text


def test_final_statuses_have_no_exit():
    for final in (S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED):
        assert TRANSITIONS[final] == frozenset()
        assert final.is_final


def test_fill_before_ack_then_late_ack_is_ignored():
    order = new_order()
    apply_update(order, fill("e1", "100"))
    assert order.status is S.FILLED
    outcomes = apply_update(order, status(S.ACCEPTED))
    assert order.status is S.FILLED
    assert not any(o.changed for o in outcomes)


def test_fill_after_cancel_request_then_cancel():
    order = new_order()
    apply_update(order, status(S.ACCEPTED))
    apply_update(order, status(S.PENDING_CANCEL))
    apply_update(order, fill("e1", "40"))
    assert order.status is S.PENDING_CANCEL
    assert order.filled_quantity == 40
    apply_update(order, status(S.CANCELLED))
    assert order.status is S.CANCELLED
    assert order.filled_quantity == 40


def test_cancel_rejected_returns_to_previous_status():
    order = new_order()
    apply_update(order, status(S.ACCEPTED))
    apply_update(order, fill("e1", "10"))
    apply_update(order, status(S.PENDING_CANCEL))
    apply_update(order, OrderUpdate(order_id="o1", cancel_rejected=True, reason="too late"))
    assert order.status is S.PARTIALLY_FILLED
    fresh = new_order()
    apply_update(fresh, status(S.ACCEPTED))
    apply_update(fresh, status(S.PENDING_CANCEL))
    apply_update(fresh, OrderUpdate(order_id="o1", cancel_rejected=True))
    assert fresh.status is S.ACCEPTED


def test_duplicate_fill_is_a_no_op_and_overfill_is_refused():
    order = new_order("100")
    apply_update(order, fill("e1", "60", "100.00"))
    apply_update(order, fill("e1", "60", "100.00"))
    assert order.filled_quantity == 60
    outcomes = apply_update(order, fill("e2", "50", "99.00"))
    assert outcomes[0].note == "overfill refused"
    assert order.filled_quantity == 60
    assert order.avg_fill_price == Decimal("100.00")


def test_illegal_transition_leaves_state_untouched():
    order = new_order()
    apply_update(order, status(S.CANCELLED))
    before = (order.status, order.filled_quantity, order.updated_at)
    apply_update(order, status(S.ACCEPTED))
    apply_update(order, status(S.PENDING_REPLACE))
    assert (order.status, order.filled_quantity, order.updated_at) == before


events = st.one_of(
    st.sampled_from([status(s) for s in OrderStatus]),
    st.builds(
        fill,
        st.sampled_from(["e1", "e2", "e3", "e4", "e5"]),
        st.sampled_from(["1", "10", "25", "50", "99", "100"]),
        st.sampled_from(["99.98", "100.00", "100.02"]),
    ),
    st.just(OrderUpdate(order_id="o1", cancel_rejected=True)),
)


@settings(max_examples=400)
@given(st.lists(events, max_size=30))
def test_random_event_sequences_keep_the_order_consistent(sequence):
    order = new_order("100")
    booked: dict[str, tuple[Decimal, Decimal]] = {}
    for update in sequence:
        before = order.status
        outcomes = apply_update(order, update)
        for outcome in outcomes:
            if outcome.fill is not None:
                booked[outcome.fill.fill_id] = (outcome.fill.quantity, outcome.fill.price)
        # state always legal: unchanged or a table edge (a final order never leaves its status)
        assert order.status is before or order.status in TRANSITIONS[before] or update.cancel_rejected
        if before.is_final:
            assert order.status is before
        assert 0 <= order.filled_quantity <= order.quantity
        assert order.filled_quantity == sum((q for q, _ in booked.values()), Decimal(0))
        notional = sum((q * p for q, p in booked.values()), Decimal(0))
        if order.filled_quantity:
            assert order.avg_fill_price == notional / order.filled_quantity
            assert Decimal("99.98") <= order.avg_fill_price <= Decimal("100.02")
        else:
            assert order.avg_fill_price is None
        if order.filled_quantity == order.quantity and before.is_open:
            assert order.status is S.FILLED
