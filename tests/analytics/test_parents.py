"""Parents first: a parent with three children (one filled, one partly filled, one cancelled), by hand.

Quotes (conftest): mids 99.90 (-20 s), 100.00 (0 s), 100.10 (10 s), 100.20 (20 s), 100.50 (400 s), 4 cents wide.
The parent buys 300 from 0 s to 20 s:
  c1 100 arrives 0 s, fills 100 @ 100.02 at 1 s (fee 0.50)
  c2 100 arrives 10 s, fills 40 @ 100.12 at 11 s (fee 0.20), the rest cancelled at 12 s
  c3 100 arrives 15 s, cancelled at 20 s with nothing filled
The sell is the mirror image: every price reflected around 100 (p -> 200 - p), sides swapped.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntlab.analytics import tca
from ntlab.errors import DataError
from tests.analytics.conftest import at

TRADES = pd.DataFrame(
    {
        "symbol": "AAPL",
        "time": [at(2), at(8), at(16)],
        "price": [100.01, 100.05, 100.09],
        "size": [300, 100, 600],
    }
)


def session(side="buy", *, explicit=True):
    rows = [
        {"order_id": "c1", "parent_id": "P", "quantity": 100, "arrival_time": at(0), "end_time": at(1)},
        {"order_id": "c2", "parent_id": "P", "quantity": 100, "arrival_time": at(10), "end_time": at(12)},
        {"order_id": "c3", "parent_id": "P", "quantity": 100, "arrival_time": at(15), "end_time": at(20)},
    ]
    if explicit:
        rows.insert(
            0,
            {"order_id": "P", "parent_id": None, "quantity": 300, "arrival_time": at(0), "end_time": at(20)},
        )
    orders = pd.DataFrame(rows).assign(symbol="AAPL", side=side, algo="twap")
    fills = pd.DataFrame(
        {
            "order_id": ["c1", "c2"],
            "fill_id": ["f1", "f2"],
            "time": [at(1), at(11)],
            "price": [100.02, 100.12],
            "quantity": [100, 40],
            "fee": [0.50, 0.20],
            "liquidity": ["taker", "taker"],
        }
    )
    return orders, fills


def mirrored(quotes, trades=TRADES):
    orders, fills = session("sell")
    return (
        orders,
        fills.assign(price=200 - fills["price"]),
        quotes.assign(bid=200 - quotes["ask"], ask=200 - quotes["bid"]),
        trades.assign(price=200 - trades["price"]),
    )


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_the_parent_is_the_unit_of_implementation_shortfall(quotes, side):
    if side == "buy":
        orders, fills = session()
        data = (orders, fills, quotes, TRADES)
    else:
        data = mirrored(quotes)
    r = tca(*data, impact_horizon="10s")
    assert list(r.orders.index) == ["P"] and list(r.children.index) == ["c1", "c2", "c3"]
    p = r.orders.loc["P"]
    # X = 300, Xf = 140; buy: Σx·p = 100 x 100.02 + 40 x 100.12 = 14,006.80 (sell: 13,993.20), fees 0.70
    assert p["filled_quantity"] == 140 and p["fill_rate"] == pytest.approx(140 / 300) and p["children"] == 3
    assert p["decision_mid"] == p["arrival_mid"] == 100.0  # the parent's start, 0 s
    assert p["end_mid"] == pytest.approx(100.20 if side == "buy" else 99.80)  # the parent's end, 20 s
    # trading = s x (Σx·p - Xf x P0) = 6.80; opportunity = s x 160 x (PN - P0) = 160 x 0.20 = 32.00
    # IS = 6.80 + 32.00 + 0.70 = 39.50 on a paper notional of 300 x 100.00 = 30,000
    assert p["is_cost"] == pytest.approx(39.5)
    assert p["is_bps"] == pytest.approx(39.5 / 30_000 * 1e4)
    assert p["trading_bps"] == pytest.approx(6.8 / 30_000 * 1e4)
    assert p["opportunity_bps"] == pytest.approx(32 / 30_000 * 1e4)
    assert p["fees_bps"] == pytest.approx(0.7 / 30_000 * 1e4) and p["delay_bps"] == 0
    # against arrival: 6.80 / 14,000 = 4.857 bps over what traded
    assert p["arrival_slippage_bps"] == pytest.approx(6.8 / 14_000 * 1e4)
    # last fill at 11 s (mid 100.10, sell 99.90): timing 10 bps; 10 s later (21 s) the mid is 100.20
    # (sell 99.80): it did not come back, reversion -10 bps, permanent impact 20 bps = timing - reversion
    assert p["timing_bps"] == pytest.approx(10.0)
    assert p["reversion_bps"] == pytest.approx(-10.0)
    assert p["permanent_impact_bps"] == pytest.approx(20.0)
    # the tape over [0 s, 20 s] printed 1,000 shares and includes our fills: 140 / 1,000
    assert p["market_volume"] == 1000 and p["participation"] == pytest.approx(0.14)
    assert p["reason"] == ""


def test_children_against_their_own_arrival_and_the_parents(quotes):
    r = tca(*session(), quotes, TRADES)
    c = r.children
    assert (c["parent_id"] == "P").all()
    # c1: 100 @ 100.02, its arrival mid and the parent's are both 100.00: 2 bps either way
    assert c.loc["c1", "arrival_slippage_bps"] == pytest.approx(2.0)
    assert c.loc["c1", "parent_arrival_slippage_bps"] == pytest.approx(2.0)
    # c2: 40 @ 100.12 looks cheap against its own arrival (mid 100.10 at 10 s: 2.0 bps) but cost
    # 12 bps against the parent's arrival mid of 100.00: the drift the child-only view hides
    assert c.loc["c2", "arrival_slippage_bps"] == pytest.approx((100.12 - 100.10) / 100.10 * 1e4)
    assert c.loc["c2", "parent_arrival_slippage_bps"] == pytest.approx(12.0)
    assert c.loc["c2", "fill_rate"] == pytest.approx(0.4)
    # c3: nothing filled: NaN with a reason, never 0.00 or -0.00
    assert math.isnan(c.loc["c3", "arrival_slippage_bps"]) and math.isnan(
        c.loc["c3", "parent_arrival_slippage_bps"]
    )
    assert "nothing filled" in c.loc["c3", "reason"]
    # the parent's VWAP: (300 x 100.01 + 100 x 100.05 + 600 x 100.09) / 1,000 = 100.062; c2 against it
    assert c.loc["c2", "parent_vwap_slippage_bps"] == pytest.approx((100.12 - 100.062) / 100.062 * 1e4)
    # fills know their parent
    assert r.fills["parent_id"].tolist() == ["P", "P"]


def test_mirrored_children_cost_the_same(quotes):
    buy = tca(*session(), quotes, TRADES).children
    sell = tca(*mirrored(quotes)).children
    for column in ("parent_arrival_slippage_bps", "fees", "filled_quantity"):
        np.testing.assert_allclose(buy[column], sell[column], equal_nan=True)
    # own-arrival slippage is over the child's own (reflected) mid: same currency, other denominator
    currency = buy["arrival_slippage_bps"] * buy["arrival_mid"]
    np.testing.assert_allclose(currency, sell["arrival_slippage_bps"] * sell["arrival_mid"], equal_nan=True)


def test_a_parent_derived_from_its_children_is_the_same_parent(quotes):
    explicit = tca(*session(), quotes, TRADES).orders
    derived = tca(*session(explicit=False), quotes, TRADES).orders
    # no parent row: quantity 300 = the children's, start 0 s = the first child's, end 20 s = the last end
    assert list(derived.index) == ["P"] and derived.loc["P", "algo"] == "twap"
    numbers = explicit.select_dtypes("number").columns
    pd.testing.assert_frame_equal(derived[numbers], explicit[numbers])


def test_by_algo_compares_parents_not_children(quotes):
    orders, fills = session()
    alone = pd.DataFrame(
        [
            {
                "order_id": "m",
                "symbol": "AAPL",
                "side": "buy",
                "quantity": 50,
                "arrival_time": at(0),
                "algo": "manual",
            }
        ]
    )
    more = pd.DataFrame([{"order_id": "m", "fill_id": "f3", "time": at(1), "price": 100.03, "quantity": 50}])
    r = tca(pd.concat([orders, alone]), pd.concat([fills, more]), quotes)
    by_algo = r.by("algo")
    assert by_algo["count"].to_dict() == {"manual": 1, "twap": 1}
    assert by_algo.loc["twap", "mean_bps"] == pytest.approx(r.orders.loc["P", "is_bps"])


def test_a_tape_without_our_fills_has_them_added(quotes):
    r = tca(*session(), quotes, TRADES, tape_includes_fills=False)
    # 140 filled over 1,000 printed by others: 140 / 1,140
    assert r.orders.loc["P", "participation"] == pytest.approx(140 / 1140)
    assert "does not include" in r.header["participation"]
    assert "includes our fills" in tca(*session(), quotes, TRADES).header["participation"]


def test_the_parent_against_its_pre_trade_estimate(quotes):
    p = tca(*session(), quotes, TRADES, sigma_bps=100, adv=1_000_000).orders.loc["P"]
    # ½ x 4 bps spread at arrival + 1 x 100 x sqrt(300 / 1,000,000) = 2 + 1.7321 = 3.7321 bps
    assert p["pretrade_estimate_bps"] == pytest.approx(2 + 100 * math.sqrt(300 / 1e6))
    assert p["is_vs_pretrade_bps"] == pytest.approx(p["is_bps"] - p["pretrade_estimate_bps"])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda o: o.assign(side=["buy", "buy", "sell", "buy"]), "another side"),
        (lambda o: o.assign(parent_id=["Q", "P", "P", "P"]), "parent_id of its own"),
        (lambda o: o.assign(quantity=[100, 100, 100, 100]), "140 filled of 100"),
    ],
)
def test_inconsistent_parents_are_explained(quotes, change, words):
    orders, fills = session()
    with pytest.raises(DataError, match=words):
        tca(change(orders), fills, quotes)


# --- properties ----------------------------------------------------------------------------------


@st.composite
def parent_sessions(draw):
    q_times = np.cumsum(draw(st.lists(st.integers(1, 20), min_size=4, max_size=10)))
    mids = draw(st.lists(st.floats(95, 105), min_size=len(q_times), max_size=len(q_times)))
    quotes = pd.DataFrame(
        {
            "symbol": "AAPL",
            "time": [at(int(t)) for t in q_times],
            "bid": np.subtract(mids, 0.02),
            "ask": np.add(mids, 0.02),
        }
    )
    span = int(q_times[-1])
    side = draw(st.sampled_from(["buy", "sell"]))
    start = draw(st.integers(int(q_times[0]), span))
    quantity = draw(st.integers(10, 1000))
    orders = [{"order_id": "P", "quantity": quantity, "arrival_time": at(start), "end_time": at(span)}]
    fills, left = [], quantity
    for k in range(draw(st.integers(1, 4))):
        child_q = draw(st.integers(1, quantity))
        arrival = draw(st.integers(start, span))
        orders.append(
            {"order_id": f"c{k}", "parent_id": "P", "quantity": child_q, "arrival_time": at(arrival)}
        )
        x = min(left, draw(st.integers(0, child_q)))
        if x > 0:
            left -= x
            fills.append(
                {
                    "order_id": f"c{k}",
                    "fill_id": f"f{k}",
                    "time": at(draw(st.integers(arrival, span))),
                    "price": draw(st.floats(95, 105)),
                    "quantity": x,
                    "fee": draw(st.floats(0, 1)),
                }
            )
    frame = pd.DataFrame(orders).assign(symbol="AAPL", side=side)
    return (
        frame,
        pd.DataFrame(fills, columns=["order_id", "fill_id", "time", "price", "quantity", "fee"]),
        quotes,
    )


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(parent_sessions())
def test_rolling_up_is_one_order_with_all_the_children_fills(data):
    orders, fills, quotes = data
    rolled = tca(orders, fills, quotes, max_quote_age="1h").orders
    alone = tca(
        orders[orders["order_id"] == "P"].drop(columns="parent_id"),
        fills.assign(order_id="P"),
        quotes,
        max_quote_age="1h",
    ).orders
    columns = [
        "is_cost",
        "is_bps",
        "delay_bps",
        "trading_bps",
        "opportunity_bps",
        "fees_bps",
        "arrival_slippage_bps",
        "timing_bps",
    ]
    np.testing.assert_allclose(rolled[columns], alone[columns], rtol=1e-9, atol=1e-9)


@SETTINGS
@given(parent_sessions())
def test_parent_parts_add_up_and_impact_splits(data):
    o = tca(*data, max_quote_age="1h", impact_horizon="5s").orders
    parts = o["delay_bps"] + o["trading_bps"] + o["opportunity_bps"] + o["fees_bps"]
    np.testing.assert_allclose(o["is_bps"], parts, rtol=1e-9, atol=1e-9)
    split = o["permanent_impact_bps"] + o["reversion_bps"]
    ok = split.notna()
    np.testing.assert_allclose(o.loc[ok, "timing_bps"], split[ok], rtol=1e-9, atol=1e-9)
    costs = o.select_dtypes("number")
    assert not (np.signbit(costs.to_numpy()) & (costs.to_numpy() == 0)).any()  # never a -0.00


@SETTINGS
@given(parent_sessions())
def test_parents_mirror(data):
    orders, fills, quotes = data
    mirrored_orders = orders.assign(side=orders["side"].map({"buy": "sell", "sell": "buy"}))
    a = tca(orders, fills, quotes, max_quote_age="1h").orders
    b = tca(
        mirrored_orders,
        fills.assign(price=200 - fills["price"]),
        quotes.assign(bid=200 - quotes["ask"], ask=200 - quotes["bid"]),
        max_quote_age="1h",
    ).orders
    np.testing.assert_allclose(a["is_cost"], b["is_cost"], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(
        a["timing_bps"] * a["arrival_mid"], b["timing_bps"] * b["arrival_mid"], atol=1e-5
    )
