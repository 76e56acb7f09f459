"""Bracket, oto and oco orders and trailing stops on the paper venue, through the OrderManager."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderClass, OrderManager, OrderRequest, OrderStatus, RiskLimits
from ntlab.core.session import load_session
from ntlab.errors import InvalidOrder, Reason
from tests.brokers.test_paper_venue import OPEN, market

S = OrderStatus
OPEN_LIMITS = RiskLimits(  # random orders, on both sides: only the venue decides
    price_band_bps=None,
    max_order_notional=None,
    duplicate_window=None,
    self_trade="off",
    check_stop_side=False,
)
# the market rises to 101, falls to 99, and comes back a little
WAVE = [
    (0, 100.00, 100.02, 1000, 500),
    (10, 100.50, 100.52, 1000, 500),
    (20, 101.00, 101.02, 1000, 500),
    (30, 100.40, 100.42, 1000, 500),
    (40, 99.00, 99.02, 1000, 500),
    (50, 99.50, 99.52, 1000, 500),
]


def at(second: int) -> pd.Timestamp:
    return OPEN + pd.Timedelta(seconds=second)


def bracket(take: str, stop: str, **more) -> OrderRequest:
    fields = {"symbol": "AAPL", "side": "buy", "quantity": 100, "order_class": "bracket"}
    return OrderRequest(**(fields | {"take_profit": take, "stop_loss": stop} | more))


async def manager(quotes=WAVE, **kwargs):
    broker = PaperBroker(market(quotes), **kwargs)
    return broker, OrderManager(broker)


def statuses(om: OrderManager, entry: str) -> tuple[S, S, S]:
    return om.order(entry).status, om.order(f"{entry}-tp").status, om.order(f"{entry}-sl").status


async def test_bracket_take_profit_fills_and_cancels_the_stop_loss():
    broker, om = await manager()
    async with om:
        entry = await om.place_order(bracket("101.00", "99.50"))
        assert entry.status is S.FILLED
        tp, sl = om.order(f"{entry.order_id}-tp"), om.order(f"{entry.order_id}-sl")
        assert (tp.side, tp.limit_price, tp.linked_to) == ("sell", Decimal("101.00"), entry.order_id)
        assert (sl.order_type, sl.stop_price, sl.status) == ("stop", Decimal("99.50"), S.ACCEPTED)
        await broker.advance_to(at(25))
        assert statuses(om, entry.order_id) == (S.FILLED, S.FILLED, S.CANCELLED)
        assert om.order(f"{entry.order_id}-tp").avg_fill_price == Decimal("101.00")
        assert om.order(f"{entry.order_id}-sl").reason == f"oco: {entry.order_id}-tp filled"
        assert om.position("AAPL") == 0
        await broker.advance_to(at(59))  # the market goes through the old stop: nothing more happens
        assert om.position("AAPL") == 0


async def test_bracket_stop_loss_fills_and_cancels_the_take_profit():
    broker, om = await manager()
    async with om:
        entry = await om.place_order(bracket("101.50", "99.50"))
        await broker.advance_to(at(59))
        assert statuses(om, entry.order_id) == (S.FILLED, S.CANCELLED, S.FILLED)
        assert om.order(f"{entry.order_id}-sl").avg_fill_price == Decimal(
            "99.00"
        )  # the bid that went through
        assert om.position("AAPL") == 0


async def test_exits_wait_for_the_entry_and_start_working_within_the_same_step():
    quotes = [(0, 100.00, 100.02, 300, 500), (40, 99.00, 99.02, 300, 500), (50, 100.60, 100.62, 300, 500)]
    broker, om = await manager(quotes)
    async with om:
        entry = await om.place_order(bracket("100.50", "98.00", order_type="limit", limit_price="100.00"))
        assert statuses(om, entry.order_id) == (S.ACCEPTED, S.ACCEPTED, S.ACCEPTED)
        await broker.advance_to(at(59))  # the entry fills at 40s; its take-profit at 50s, in one step
        assert statuses(om, entry.order_id) == (S.FILLED, S.FILLED, S.CANCELLED)
        tp_fill = [f for f in om.fills() if f.order_id == f"{entry.order_id}-tp"]
        assert [(f.price, f.time) for f in tp_fill] == [(Decimal("100.50"), at(50).to_pydatetime())]


async def test_an_entry_cancelled_unfilled_cancels_its_exits():
    _, om = await manager()
    async with om:
        entry = await om.place_order(bracket("101.00", "95.00", order_type="limit", limit_price="98.00"))
        await om.cancel_order(entry.order_id)
        assert statuses(om, entry.order_id) == (S.CANCELLED, S.CANCELLED, S.CANCELLED)
        assert om.order(f"{entry.order_id}-tp").reason == f"its entry {entry.order_id} ended unfilled"


async def test_an_entry_cancelled_part_filled_hands_its_exits_what_it_filled():
    broker, om = await manager()
    async with om:
        entry = await om.place_order(
            bracket("101.00", "99.50", quantity=800, order_type="limit", limit_price="100.02")
        )
        assert om.order(entry.order_id).filled_quantity == 500  # the ask showed 500
        assert om.order(f"{entry.order_id}-tp").quantity == 800  # held for the whole entry so far
        await om.cancel_order(entry.order_id)
        tp, sl = om.order(f"{entry.order_id}-tp"), om.order(f"{entry.order_id}-sl")
        assert (tp.quantity, sl.quantity) == (500, 500)
        await broker.advance_to(at(25))
        assert om.position("AAPL") == 0
        assert statuses(om, entry.order_id) == (S.CANCELLED, S.FILLED, S.CANCELLED)


async def test_at_the_close_a_day_entry_expires_with_its_exits_and_a_gtc_one_keeps_them_held():
    quotes = [(0, 100.00, 100.02, 300, 500), (30, 101.00, 101.02, 300, 500)]
    broker, om = await manager(quotes)
    async with om:
        day = await om.place_order(
            bracket("102.00", "99.00", quantity=800, order_type="limit", limit_price="100.02")
        )
        gtc = await om.place_order(
            bracket(
                "102.00",
                "99.00",
                quantity=800,
                order_type="limit",
                limit_price="100.02",
                time_in_force="gtc",
                allow_duplicate=True,
            )
        )
        await broker.advance_to(at(61))  # past the close
        assert statuses(om, day.order_id) == (S.EXPIRED, S.EXPIRED, S.EXPIRED)
        assert om.order(f"{day.order_id}-tp").quantity == 500  # what the entry filled, before they expired
        assert statuses(om, gtc.order_id) == (S.ACCEPTED, S.ACCEPTED, S.ACCEPTED)  # the ask's 500 went to day


async def test_oto_and_replacing_the_entry_resizes_its_held_exit():
    broker, om = await manager()
    async with om:
        entry = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="buy",
                quantity=100,
                order_type="limit",
                limit_price="99.10",
                order_class="oto",
                stop_loss="98.00",
            )
        )
        assert f"{entry.order_id}-tp" not in {o.order_id for o in om.orders()}
        await om.replace_order(entry.order_id, quantity=300)
        assert om.order(f"{entry.order_id}-sl").quantity == 300
        await broker.advance_to(at(59))  # 99.02 offered at 40s: the entry fills, the stop-loss waits below
        assert om.order(entry.order_id).status is S.FILLED
        assert om.order(f"{entry.order_id}-sl").status is S.ACCEPTED
        assert om.position("AAPL") == 300


async def test_oco_both_work_at_once_and_the_first_to_fill_cancels_the_other():
    broker, om = await manager()
    async with om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
        oco = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="sell",
                quantity=100,
                order_type="limit",
                limit_price="101.50",
                order_class="oco",
                stop_loss="99.50",
            )
        )
        sl = om.order(f"{oco.order_id}-sl")
        assert (sl.side, sl.status, sl.linked_to) == ("sell", S.ACCEPTED, oco.order_id)
        await broker.advance_to(at(59))
        assert (om.order(oco.order_id).status, om.order(sl.order_id).status) == (S.CANCELLED, S.FILLED)
        assert om.position("AAPL") == 0


async def test_cancelling_one_of_an_oco_cancels_the_other():
    _, om = await manager()
    async with om:
        oco = await om.place_order(
            OrderRequest(
                symbol="AAPL",
                side="sell",
                quantity=100,
                order_type="limit",
                limit_price="101.50",
                order_class="oco",
                stop_loss="99.00",
            )
        )
        await om.cancel_order(f"{oco.order_id}-sl")
        assert om.order(oco.order_id).status is S.CANCELLED
        assert om.order(oco.order_id).reason == f"oco: {oco.order_id}-sl was cancelled"


async def test_a_rejected_entry_takes_its_legs_with_it():
    broker, om = await manager()
    async with om:
        await broker.advance_to(at(61))  # the session is over
        with pytest.raises(Exception, match="market closed"):
            await om.place_order(bracket("101.00", "99.50"))
        entry = next(o for o in om.orders() if o.order_class == "bracket")
        assert statuses(om, entry.order_id) == (S.REJECTED, S.REJECTED, S.REJECTED)
        assert om.orders(open_only=True) == []


async def test_trailing_stop_follows_the_best_bid_and_triggers_when_it_turns():
    broker, om = await manager()
    async with om:
        await om.place_order(OrderRequest(symbol="AAPL", side="buy", quantity=100))
        trail = await om.place_order(
            OrderRequest(
                symbol="AAPL", side="sell", quantity=100, order_type="trailing_stop", trail_price="0.30"
            )
        )
        await broker.advance_to(at(25))
        assert (await broker.lookup_order(trail.order_id)).stop_price == Decimal("100.70")  # 101.00 - 0.30
        await broker.advance_to(at(59))
        assert om.order(trail.order_id).status is S.FILLED
        assert om.order(trail.order_id).avg_fill_price == Decimal("100.40")  # the bid at 30s, under 100.70


async def test_trailing_stop_by_percent_for_a_buy():
    broker, om = await manager()
    async with om:
        await broker.advance_to(at(40))  # ask 99.02: the buy's stop starts at 1% above it
        trail = await om.place_order(
            OrderRequest(
                symbol="AAPL", side="buy", quantity=100, order_type="trailing_stop", trail_percent="0.3"
            )
        )
        await broker.advance_to(at(59))  # ask 99.52 >= 99.02 * 1.003 = 99.317
        assert om.order(trail.order_id).avg_fill_price == Decimal("99.52")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"order_class": "bracket", "take_profit": "101"}, Reason.INVALID_FIELD),
        ({"order_class": "bracket", "take_profit": "99", "stop_loss": "101"}, Reason.INVALID_PRICE),
        ({"take_profit": "101"}, Reason.INVALID_FIELD),
        ({"order_class": "oto", "take_profit": "101", "stop_loss": "99"}, Reason.INVALID_FIELD),
        ({"order_class": "oco", "stop_loss": "99"}, Reason.INVALID_FIELD),  # an oco is a limit
        (
            {"order_class": "bracket", "take_profit": "101", "stop_loss": "99", "time_in_force": "ioc"},
            Reason.TIF_NOT_ALLOWED,
        ),
        ({"order_type": "trailing_stop"}, Reason.MISSING_STOP_PRICE),
        (
            {"order_type": "trailing_stop", "trail_price": "1", "trail_percent": "1"},
            Reason.MISSING_STOP_PRICE,
        ),
        ({"trail_percent": "1"}, Reason.STOP_PRICE_NOT_ALLOWED),
        ({"order_type": "trailing_stop", "trail_percent": "100"}, Reason.INVALID_PRICE),
    ],
)
def test_order_classes_and_trails_are_checked_when_asked_for(fields, reason):
    with pytest.raises(InvalidOrder) as caught:
        OrderRequest(symbol="AAPL", side="buy", quantity=1, **fields)
    assert caught.value.reason is reason


async def test_legs_are_journaled_and_a_restarted_venue_still_works_them(tmp_path):
    ledger, journal = tmp_path / "venue.sqlite", tmp_path / "journal.sqlite"
    broker = PaperBroker(market(WAVE), ledger=ledger)
    async with OrderManager(broker, journal=journal) as om:
        entry = await om.place_order(bracket("101.00", "98.50", order_type="limit", limit_price="99.10"))
    await broker.close()
    session = load_session(journal)
    assert session.orders[f"{entry.order_id}-sl"].order.linked_to == entry.order_id

    broker = PaperBroker(market(WAVE), ledger=ledger)
    async with OrderManager(broker, journal=journal) as om:
        await broker.advance_to(at(59))  # 99.02 offered at 40s: the entry fills, then its stop-loss works
        assert statuses(om, entry.order_id) == (S.FILLED, S.ACCEPTED, S.ACCEPTED)
        assert om.position("AAPL") == 100


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["bracket", "oto", "oco", "trailing"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 900),
            st.integers(-120, 120),  # the entry's limit, in cents from 100.00
            st.integers(20, 150),  # how far out the exits are, in cents
            st.integers(0, 12),  # seconds to wait after it
            st.booleans(),  # cancel it after waiting
        ),
        min_size=1,
        max_size=8,
    )
)
def test_linked_orders_never_exit_more_than_they_entered_and_the_manager_agrees_with_the_venue(orders):
    async def run():
        trades = [(s + 5, p, 400) for s, p in ((0, 100.3), (20, 100.9), (40, 99.2))]
        broker = PaperBroker(market(WAVE, trades, close_after=120))  # the session outlasts the waits
        async with OrderManager(broker, risk=OPEN_LIMITS) as om:
            asked: dict[str, Decimal] = {}
            for kind, side, qty, offset, away, wait, cancel in orders:
                price = Decimal("100.00") + Decimal(offset) / 100
                out = Decimal(away) / 100
                up, down = (price + out, price - out) if side == "buy" else (price - out, price + out)
                fields = {"symbol": "AAPL", "side": side, "quantity": qty, "allow_duplicate": True}
                if kind == "trailing":
                    fields |= {"order_type": "trailing_stop", "trail_price": out}
                elif kind == "oco":
                    fields |= {
                        "order_type": "limit",
                        "limit_price": down,
                        "order_class": "oco",
                        "stop_loss": up,
                    }
                else:
                    fields |= {
                        "order_type": "limit",
                        "limit_price": price,
                        "order_class": kind,
                        "stop_loss": down,
                    }
                    if kind == "bracket":
                        fields["take_profit"] = up
                placed = await om.place_order(OrderRequest(**fields))
                asked[placed.order_id] = Decimal(qty)
                await broker.advance(timedelta(seconds=wait))
                if cancel and om.order(placed.order_id).status.is_open:
                    await om.cancel_order(placed.order_id)
            await broker.advance("2min")
            venue = {o.order_id: o for o in broker.order_views()}
            return om.orders(), venue, om.fills(), asked

    orders_, venue, fills, asked = asyncio.run(run())
    filled: dict[str, Decimal] = {}
    for fill in fills:
        filled[fill.order_id] = filled.get(fill.order_id, Decimal(0)) + fill.quantity
    by_id = {o.order_id: o for o in orders_}
    for order in orders_:
        seen = venue[order.order_id]
        assert (order.status, order.filled_quantity) == (seen.status, seen.filled_quantity), order.order_id
        assert order.status.is_final  # the session is over: day orders are done
        assert filled.get(order.order_id, 0) <= order.quantity
        if order.order_class in (OrderClass.BRACKET, OrderClass.OTO):
            exits = sum(filled.get(f"{order.order_id}-{leg}", Decimal(0)) for leg in ("tp", "sl"))
            assert exits <= order.filled_quantity
        if order.order_class is OrderClass.OCO:  # its members close one position, however they were cut
            group = filled.get(order.order_id, 0) + filled.get(f"{order.order_id}-sl", 0)
            assert group <= asked[order.order_id]
        if order.linked_to is not None:
            assert order.linked_to in by_id
