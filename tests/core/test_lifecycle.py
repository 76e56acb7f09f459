from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.core import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Fill,
    Filled,
    Order,
    OrderStatus,
    OrderType,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
    Side,
    TimeInForce,
    Triggered,
    transition_table,
)
from ntlab.core.lifecycle import TRANSITIONS, OrderState, apply, move

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
S = OrderStatus


def new_order(quantity: str = "100") -> OrderState:
    return OrderState(
        Order(
            order_id="o1",
            symbol="AAPL",
            side=Side.BUY,
            quantity=Decimal(quantity),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            status=S.PENDING,
            created_at=T0,
            updated_at=T0,
            limit_price=Decimal("100.00"),
        )
    )


def fill(fill_id: str, quantity: str, price: str = "100.00") -> Filled:
    return Filled(
        "o1",
        Fill(
            fill_id=fill_id,
            order_id="o1",
            symbol="AAPL",
            side=Side.BUY,
            quantity=Decimal(quantity),
            price=Decimal(price),
            time=T1,
            fee=Decimal("0.01"),
        ),
    )


def test_table_prints_every_status_once():
    text = transition_table()
    assert [line.split()[0] for line in text.splitlines()] == [s.value for s in OrderStatus]
    assert "filled           -> (final)" in text


def test_final_statuses_have_no_exit():
    for final in (S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED):
        assert TRANSITIONS[final] == frozenset()
        assert final.is_final


def test_ack_records_the_brokers_id():
    order = new_order()
    assert apply(order, Accepted("o1", T1, "b-1")).changed
    assert (
        order.status is S.ACCEPTED and order.order.broker_order_id == "b-1" and order.order.updated_at == T1
    )


def test_fill_before_ack_then_late_ack_is_ignored_but_its_id_kept():
    order = new_order()
    apply(order, fill("e1", "100"))
    assert order.status is S.FILLED
    assert apply(order, Accepted("o1", T1, "b-1")).changed  # only the broker's id is learned
    assert order.status is S.FILLED and order.order.broker_order_id == "b-1"
    assert not apply(order, Accepted("o1", T1, "b-1")).changed


def test_fill_after_cancel_request_then_cancel():
    order = new_order()
    apply(order, Accepted("o1", T0))
    move(order, S.PENDING_CANCEL, T0)
    apply(order, fill("e1", "40"))
    assert order.status is S.PENDING_CANCEL and order.order.filled_quantity == 40
    apply(order, Cancelled("o1", T1, "by request"))
    assert order.status is S.CANCELLED and order.order.filled_quantity == 40
    assert order.order.reason == "by request"


def test_broker_acknowledges_a_cancel_request():
    order = new_order()
    apply(order, Accepted("o1", T0))
    assert apply(order, PendingCancel("o1", T1)).changed
    assert order.status is S.PENDING_CANCEL


def test_cancel_rejected_returns_to_where_the_fills_say():
    order = new_order()
    apply(order, Accepted("o1", T0))
    apply(order, fill("e1", "10"))
    move(order, S.PENDING_CANCEL, T0)
    apply(order, CancelRejected("o1", T1, "too late"))
    assert order.status is S.PARTIALLY_FILLED and order.order.reason == "too late"
    fresh = new_order()
    apply(fresh, Accepted("o1", T0))
    move(fresh, S.PENDING_CANCEL, T0)
    apply(fresh, CancelRejected("o1", T1, "no"))
    assert fresh.status is S.ACCEPTED
    assert not apply(fresh, CancelRejected("o1", T1, "again")).changed  # nothing pending to refuse


def test_replace_changes_the_order_and_keeps_its_id():
    order = new_order()
    apply(order, Accepted("o1", T0, "b-1"))
    apply(order, fill("e1", "30"))
    move(order, S.PENDING_REPLACE, T0)
    apply(
        order, Replaced("o1", T1, quantity=Decimal(50), limit_price=Decimal("100.05"), broker_order_id="b-2")
    )
    o = order.order
    assert (o.order_id, o.quantity, o.limit_price, o.broker_order_id) == ("o1", 50, Decimal("100.05"), "b-2")
    assert o.status is S.PARTIALLY_FILLED
    move(order, S.PENDING_REPLACE, T1)
    apply(order, ReplaceRejected("o1", T1, "too late"))
    assert order.status is S.PARTIALLY_FILLED and order.order.quantity == 50


def test_replace_down_to_what_is_filled_fills_the_order():
    order = new_order()
    apply(order, Accepted("o1", T0))
    apply(order, fill("e1", "30"))
    move(order, S.PENDING_REPLACE, T0)
    apply(order, Replaced("o1", T1, quantity=Decimal(30)))
    assert order.status is S.FILLED


def test_duplicate_fill_is_a_no_op():
    order = new_order("100")
    apply(order, fill("e1", "60"))
    assert not apply(order, fill("e1", "60")).changed
    assert order.order.filled_quantity == 60 and order.order.fees == Decimal("0.01")


def test_overfill_is_booked_and_flagged():
    order = new_order("100")
    apply(order, fill("e1", "60", "100.00"))
    outcome = apply(order, fill("e2", "50", "99.00"))
    assert outcome.changed and outcome.overfill
    o = order.order
    assert o.filled_quantity == 110 and o.overfilled and o.status is S.FILLED
    assert o.avg_fill_price == (60 * Decimal("100.00") + 50 * Decimal("99.00")) / 110


def test_late_fill_on_a_closed_order_is_booked():
    order = new_order()
    apply(order, Accepted("o1", T0))
    apply(order, Cancelled("o1", T0))
    assert apply(order, fill("e1", "10")).changed
    assert order.status is S.CANCELLED and order.order.filled_quantity == 10


def test_rejection_carries_the_reason_and_its_code():
    order = new_order()
    apply(order, Rejected("o1", T1, "insufficient buying power", "insufficient_funds"))
    assert order.status is S.REJECTED
    assert (order.order.reason, order.order.reason_code) == (
        "insufficient buying power",
        "insufficient_funds",
    )


def test_illegal_transition_leaves_state_untouched():
    order = new_order()
    apply(order, Cancelled("o1", T0))
    before = order.order
    for report in (Accepted("o1", T1), Expired("o1", T1), Rejected("o1", T1, "x"), Triggered("o1", T1)):
        assert not apply(order, report).changed
    assert move(order, S.PENDING_REPLACE, T1).changed is False
    assert order.order is before


def test_snapshots_never_change_under_their_reader():
    order = new_order()
    seen = order.order
    apply(order, Accepted("o1", T1))
    apply(order, fill("e1", "100"))
    assert seen.status is S.PENDING and seen.filled_quantity == 0


reports = st.one_of(
    st.sampled_from(
        [
            Accepted("o1", T1, "b-1"),
            Rejected("o1", T1, "no"),
            Triggered("o1", T1),
            PendingCancel("o1", T1),
            Cancelled("o1", T1),
            CancelRejected("o1", T1, "no"),
            ReplaceRejected("o1", T1, "no"),
            Expired("o1", T1),
            Replaced("o1", T1, quantity=Decimal(80)),
            Replaced("o1", T1, limit_price=Decimal("100.01")),
        ]
    ),
    st.builds(
        fill,
        st.sampled_from(["e1", "e2", "e3", "e4", "e5"]),
        st.sampled_from(["1", "10", "25", "50", "99", "100"]),
        st.sampled_from(["99.98", "100.00", "100.02"]),
    ),
    st.sampled_from([S.PENDING_CANCEL, S.PENDING_REPLACE]),  # the manager's own requests
)


@settings(max_examples=400)
@given(st.lists(reports, max_size=30))
def test_random_report_sequences_keep_the_order_consistent(sequence):
    order = new_order("100")
    booked: dict[str, tuple[Decimal, Decimal]] = {}
    for report in sequence:
        before = order.order
        outcome = move(order, report, T1) if isinstance(report, OrderStatus) else apply(order, report)
        after = order.order
        if outcome.fill is not None:
            booked[outcome.fill.fill_id] = (outcome.fill.quantity, outcome.fill.price)
        if not outcome.changed:  # a refused report leaves the order exactly as it was
            assert after is before
        # state always legal: unchanged or a table edge (a final order never leaves its status)
        assert after.status is before.status or after.status in TRANSITIONS[before.status]
        if before.status.is_final:
            assert after.status is before.status
        assert after.filled_quantity == sum((q for q, _ in booked.values()), Decimal(0))
        assert after.overfilled == (after.filled_quantity > after.quantity) or before.overfilled
        notional = sum((q * p for q, p in booked.values()), Decimal(0))
        if after.filled_quantity:
            assert after.avg_fill_price == notional / after.filled_quantity
            assert Decimal("99.98") <= after.avg_fill_price <= Decimal("100.02")
        else:
            assert after.avg_fill_price is None
        if after.filled_quantity >= after.quantity and before.status.is_open and after.status.is_open:
            raise AssertionError(f"{after.status} with everything filled")
