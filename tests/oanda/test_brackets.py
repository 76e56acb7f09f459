"""Bracket and oto orders on OANDA against the fake: the entry carries takeProfitOnFill / stopLossOnFill
with ntlab's leg ids in their clientExtensions; when it fills, the trade's TAKE_PROFIT and STOP_LOSS orders
are the legs ``<id>-tp`` / ``<id>-sl`` in the manager; the one that fills closes the trade and the other is
cancelled (LINKED_TRADE_CLOSED). An entry that fills in part has its legs sized to its trade; one that ends
unfilled takes its legs with it. oco and stop-loss limits are refused before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from ntlab.brokers.oanda import OandaBroker
from ntlab.brokers.oanda.fake import FakeOanda
from ntlab.core import OrderRequest, OrderStatus
from ntlab.errors import OrderRejected
from tests.oanda.conftest import broker_for, eurusd, manager, settle

S = OrderStatus
PIP = Decimal("0.0001")
TICK = Decimal("0.00001")


async def run_until(fake: FakeOanda, broker: OandaBroker, done: Callable[[], bool], steps: int = 400) -> None:
    """Step the fake's market (10s a step) until ``done()`` holds (bounded)."""
    for _ in range(steps):
        await settle(fake, broker)
        if done():
            return
        await fake.advance(10)
    raise AssertionError("the market never got there")


def resting_bracket(low: Decimal, take: Decimal, stop: Decimal, quantity: int = 10_000) -> OrderRequest:
    """A GTC limit buy at ``low`` with its take-profit and stop-loss."""
    return eurusd(
        quantity=quantity,
        order_type="limit",
        limit_price=low,
        time_in_force="gtc",
        order_class="bracket",
        take_profit=take,
        stop_loss=stop,
    )


def txns(fake: FakeOanda, kind: str) -> list[dict[str, object]]:
    return [t for t in fake.account.transactions if t["type"] == kind]


@pytest.mark.parametrize("exit_by", ["take_profit", "stop_loss"])
async def test_a_bracket_exits_by_one_leg_and_cancels_the_other(fake: FakeOanda, exit_by: str) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None
        # the exit that should fill is close to the market, the other far away
        near, far = 4 * PIP, 200 * PIP
        take = quote.ask + (near if exit_by == "take_profit" else far)
        stop = quote.bid - (far if exit_by == "take_profit" else near)
        placed = await om.place_order(
            eurusd(order_class="bracket", take_profit=take.quantize(TICK), stop_loss=stop.quantize(TICK))
        )
        tp, sl = f"{placed.order_id}-tp", f"{placed.order_id}-sl"
        await settle(fake, broker)
        assert om.order(placed.order_id).status is S.FILLED
        assert om.order(tp).status is S.ACCEPTED and om.order(sl).status is S.ACCEPTED
        (created,) = txns(fake, "MARKET_ORDER")
        assert created["takeProfitOnFill"] == {  # type: ignore[comparison-overlap]
            "price": str(take.quantize(TICK)),
            "timeInForce": "GFD",
            "clientExtensions": {"id": tp},
        }
        (tp_txn,) = txns(fake, "TAKE_PROFIT_ORDER")
        (sl_txn,) = txns(fake, "STOP_LOSS_ORDER")
        (entry_fill,) = txns(fake, "ORDER_FILL")
        trade_id = entry_fill["tradeOpened"]["tradeID"]  # type: ignore[index]
        assert tp_txn["tradeID"] == sl_txn["tradeID"] == trade_id and tp_txn["reason"] == "ON_FILL"
        assert om.order(tp).broker_order_id == tp_txn["id"] and om.order(sl).broker_order_id == sl_txn["id"]
        winner, loser = (tp, sl) if exit_by == "take_profit" else (sl, tp)
        await run_until(fake, broker, lambda: om.order(winner).status.is_final)
        assert om.order(winner).status is S.FILLED and om.order(winner).filled_quantity == 10_000
        assert om.order(loser).status is S.CANCELLED and "LINKED_TRADE_CLOSED" in (
            om.order(loser).reason or ""
        )
        (cancel,) = [t for t in txns(fake, "ORDER_CANCEL") if t["reason"] == "LINKED_TRADE_CLOSED"]
        assert cancel["clientOrderID"] == loser
        exit_fill = txns(fake, "ORDER_FILL")[-1]
        expected = "TAKE_PROFIT_ORDER" if exit_by == "take_profit" else "STOP_LOSS_ORDER"
        assert exit_fill["reason"] == expected and exit_fill["tradesClosed"][0]["tradeID"] == trade_id  # type: ignore[index]
        assert await broker.positions() == [] and fake.positions() == {}
        assert {f.fill_id for f in om.fills()} == {t["id"] for t in fake.fills()}
        assert await broker.open_orders() == []
        looked = await broker.lookup_order(winner)  # a trade's order, read back by its client id
        assert looked is not None and looked.symbol == "EUR/USD" and looked.status is S.FILLED
        assert looked.quantity == Decimal(10_000)
    finally:
        await om.close()


async def test_an_oto_sends_its_one_exit(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None
        stop = (quote.ask + 100 * PIP).quantize(TICK)
        placed = await om.place_order(
            eurusd(side="sell", order_class="oto", stop_loss=stop, time_in_force="gtc")
        )
        await settle(fake, broker)
        assert om.order(f"{placed.order_id}-sl").status is S.ACCEPTED
        assert txns(fake, "TAKE_PROFIT_ORDER") == []
        (sl_txn,) = txns(fake, "STOP_LOSS_ORDER")
        assert sl_txn["price"] == str(stop) and sl_txn["timeInForce"] == "GTC"
        (pending,) = await broker.open_orders()
        assert pending.order_id == f"{placed.order_id}-sl" and pending.stop_price == stop
        assert pending.side == "buy" and pending.quantity == Decimal(10_000)
    finally:
        await om.close()


async def test_an_unfilled_entry_cancelled_takes_its_legs_along(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None
        low = (quote.bid * Decimal("0.97")).quantize(TICK)
        placed = await om.place_order(resting_bracket(low, low + 50 * PIP, low - 50 * PIP))
        await settle(fake, broker)
        assert om.order(f"{placed.order_id}-tp").status is S.PENDING  # OANDA makes it when the entry fills
        await om.cancel_order(placed.order_id)
        await settle(fake, broker)
        assert om.order(placed.order_id).status is S.CANCELLED
        for leg in ("tp", "sl"):
            assert om.order(f"{placed.order_id}-{leg}").status is S.CANCELLED
        assert txns(fake, "TAKE_PROFIT_ORDER") == [] and txns(fake, "STOP_LOSS_ORDER") == []
    finally:
        await om.close()


async def test_an_entry_filled_in_part_then_cancelled_leaves_legs_sized_to_its_trade(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None
        through = (quote.ask * Decimal("1.0005")).quantize(TICK)
        take, stop = (through * Decimal("1.05")).quantize(TICK), (through * Decimal("0.95")).quantize(TICK)
        placed = await om.place_order(resting_bracket(through, take, stop, quantity=5_000_000))
        entry, tp, sl = placed.order_id, f"{placed.order_id}-tp", f"{placed.order_id}-sl"
        await settle(fake, broker)
        filled = om.order(entry).filled_quantity
        assert 0 < filled < 5_000_000, "the touch should fill the entry in part"
        await om.cancel_order(entry)
        await settle(fake, broker)
        assert om.order(entry).status is S.CANCELLED
        held = om.order(entry).filled_quantity
        for leg in (tp, sl):
            assert om.order(leg).status is S.ACCEPTED and om.order(leg).quantity == held
        (trade,) = await broker.trades()
        assert trade.units == held  # one trade, which both exits close
        (tp_txn,) = txns(fake, "TAKE_PROFIT_ORDER")
        assert tp_txn["tradeID"] == trade.id
        await om.cancel_order(tp)
        await settle(fake, broker)
        assert om.order(tp).status is S.CANCELLED and om.order(sl).status is S.ACCEPTED
    finally:
        await om.close()


async def test_a_replaced_entry_keeps_its_exits(fake: FakeOanda) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        quote = await broker.fetch_quote("EUR/USD")
        assert quote is not None
        low = (quote.bid * Decimal("0.99")).quantize(TICK)
        take, stop = (quote.ask * Decimal("1.05")).quantize(TICK), (low * Decimal("0.95")).quantize(TICK)
        placed = await om.place_order(resting_bracket(low, take, stop))
        await settle(fake, broker)
        await om.replace_order(placed.order_id, limit_price=(quote.ask + 5 * PIP).quantize(TICK))
        await settle(fake, broker)
        assert om.order(placed.order_id).status is S.FILLED
        for leg in ("tp", "sl"):
            assert om.order(f"{placed.order_id}-{leg}").status is S.ACCEPTED
        (replacement,) = txns(fake, "LIMIT_ORDER")[1:]
        assert replacement["clientExtensions"] == {"id": f"{placed.order_id}~r1"}  # type: ignore[comparison-overlap]
        assert replacement["stopLossOnFill"]["clientExtensions"] == {"id": f"{placed.order_id}-sl"}  # type: ignore[index]
        with pytest.raises(OrderRejected, match="belongs to its trade"):
            await om.replace_order(f"{placed.order_id}-tp", limit_price=(quote.ask * 2).quantize(TICK))
        assert om.order(f"{placed.order_id}-tp").status is S.ACCEPTED
    finally:
        await om.close()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"order_type": "limit", "limit_price": "1.2", "order_class": "oco", "stop_loss": "1.0"},
            "OANDA has no oco order",
        ),
        (
            {"order_class": "bracket", "take_profit": "1.2", "stop_loss": "1.0", "stop_loss_limit": "0.99"},
            "takes no limit",
        ),
        ({"order_type": "trailing_stop", "trail_price": "0.001", "time_in_force": "gtc"}, "trails only"),
    ],
)
async def test_what_v20_cannot_carry_is_refused_before_sending(
    fake: FakeOanda, fields: dict[str, object], words: str
) -> None:
    broker = broker_for(fake)
    om = await manager(fake, broker)
    try:
        sent = len(fake.account.transactions)
        request = eurusd(**(fields | ({"side": "sell"} if fields.get("order_class") == "oco" else {})))
        with pytest.raises(OrderRejected, match=words) as refused:
            await om.place_order(request)
        assert om.order(refused.value.order_id or "").reason_code == "not_allowed"
        assert len(fake.account.transactions) == sent  # nothing reached OANDA
    finally:
        await om.close()
