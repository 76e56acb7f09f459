"""What tca() accepts and how it explains what it refuses."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ntlab.analytics import tca
from ntlab.errors import DataError
from tests.analytics.conftest import at, fills_of, one_order


def test_unknown_order_ids_are_counted_and_named(quotes):
    fills = pd.concat([fills_of(("a", 1, 100.0, 10)), fills_of(("b", 2, 100.0, 10)).assign(order_id="X1")])
    with pytest.raises(DataError) as error:
        tca(one_order(), fills, quotes)
    assert str(error.value) == (
        "fills: 1 rows name order ids not in orders (e.g. 'X1'); pass the orders they belong to or drop them"
    )


def test_bad_sides_are_named(quotes):
    orders = pd.concat([one_order(side="long"), one_order(order_id="o2", side="hold")])
    with pytest.raises(DataError, match="got 'hold', 'long'"):
        tca(orders, fills_of(), quotes)


@pytest.mark.parametrize("side", ["BUY", " Buy", 1, "+1"])
def test_buy_spellings_all_mean_buy(quotes, side):
    o = tca(one_order(side=side), fills_of(("a", 1, 100.02, 100)), quotes).orders.loc["o1"]
    assert o["side"] == "buy" and o["arrival_slippage_bps"] == pytest.approx(2.0)


@pytest.mark.parametrize("side", ["sell", "SELL", -1, "-1"])
def test_sell_spellings_all_mean_sell(quotes, side):
    o = tca(one_order(side=side), fills_of(("a", 1, 99.98, 100)), quotes).orders.loc["o1"]
    assert o["side"] == "sell" and o["arrival_slippage_bps"] == pytest.approx(2.0)


def test_missing_columns_are_listed_with_what_was_found(quotes):
    with pytest.raises(DataError, match=r"quotes: missing column\(s\) ask; found symbol, time, bid"):
        tca(one_order(), fills_of(), quotes.drop(columns="ask"))


def test_unsorted_quotes_say_which_symbol_and_row(quotes):
    shuffled = quotes.iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(DataError, match="times for AAPL go backwards at its row 3; sort by time first"):
        tca(one_order(), fills_of(), shuffled)


def test_quotes_of_several_symbols_may_interleave(quotes):
    other = quotes.assign(symbol="MSFT", bid=quotes["bid"] * 4, ask=quotes["ask"] * 4)
    mixed = pd.concat([quotes, other]).sort_values("time", kind="stable")
    orders = pd.concat([one_order(), one_order(order_id="o2", symbol="MSFT")])
    r = tca(orders, fills_of(), mixed)
    assert r.orders["arrival_mid"].tolist() == pytest.approx([100.0, 400.0])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda q: q.assign(bid=[99.88, 0.0, 100.08, 100.18, 100.48]), "bids and asks must be positive"),
        (lambda q: q.assign(ask=[99.92, np.nan, 100.12, 100.22, 100.52]), "bids and asks must be positive"),
    ],
)
def test_empty_quotes_are_refused(quotes, change, words):
    with pytest.raises(DataError, match=words):
        tca(one_order(), fills_of(), change(quotes))


def test_non_positive_fill_prices_name_a_fill(quotes):
    fills = fills_of(("a", 1, 100.0, 10), ("b", 2, 0.0, 10))
    with pytest.raises(DataError, match=r"fills: price: 1 rows are not positive numbers \(e.g. 'b'\)"):
        tca(one_order(), fills, quotes)


def test_overfilled_orders_are_refused(quotes):
    fills = fills_of(("a", 1, 100.0, 80), ("b", 2, 100.0, 30))
    with pytest.raises(DataError, match=r"more filled than ordered.*'o1': 110 of 100"):
        tca(one_order(), fills, quotes)


def test_duplicate_fill_ids_are_refused(quotes):
    with pytest.raises(DataError, match="fill_id 'a' appears twice"):
        tca(one_order(), fills_of(("a", 1, 100.0, 10), ("a", 2, 100.0, 10)), quotes)


def test_trades_with_negative_sizes_are_refused(quotes):
    trades = pd.DataFrame({"symbol": "AAPL", "time": [at(1)], "price": [100.0], "size": [-5]})
    with pytest.raises(DataError, match="trades: sizes must be"):
        tca(one_order(), fills_of(), quotes, trades)


def test_decimals_and_nullable_numbers_become_floats(quotes):
    orders = one_order(quantity=Decimal(100))
    fills = fills_of(("a", 1, 0, 0), ("b", 2, 0, 0)).assign(
        price=[Decimal("100.02"), Decimal("100.04")],
        quantity=pd.array([40, 60], dtype="Int64"),
        fee=[None, Decimal("0.25")],
    )
    decimal_quotes = quotes.assign(bid=[Decimal(str(b)) for b in quotes["bid"]])
    o = tca(orders, fills, decimal_quotes).orders.loc["o1"]
    # (40 x 100.02 + 60 x 100.04) / 100 = 100.032; a missing fee is no fee: 0.25 in all
    assert o["avg_price"] == pytest.approx(100.032)
    assert o["fees"] == pytest.approx(0.25)


def test_naive_times_are_utc(quotes):
    naive = quotes.assign(time=quotes["time"].dt.tz_localize(None))
    fills = fills_of(("a", 1, 100.02, 100))
    aware = tca(one_order(), fills, quotes).orders
    assert tca(one_order(), fills, naive).orders["arrival_mid"].equals(aware["arrival_mid"])


def test_missing_decision_and_end_times_take_their_defaults(quotes):
    orders = pd.concat(
        [
            one_order(decision_time=pd.NaT, end_time=pd.NaT),
            one_order(order_id="o2", decision_time=at(-15), end_time=at(20)),
        ]
    )
    fills = pd.concat(
        [fills_of(("a", 12, 100.12, 50)), fills_of(("b", 12, 100.12, 50)).assign(order_id="o2")]
    )
    o = tca(orders, fills, quotes).orders
    # o1: decision = arrival (mid 100.00); end = its last fill at 12 s (mid 100.10)
    assert o.loc["o1", "decision_mid"] == pytest.approx(100.0)
    assert o.loc["o1", "end_mid"] == pytest.approx(100.10)
    # o2: the given times: decision at -15 s (mid 99.90), end at 20 s (mid 100.20)
    assert o.loc["o2", "decision_mid"] == pytest.approx(99.90)
    assert o.loc["o2", "end_mid"] == pytest.approx(100.20)


def test_empty_fills_give_a_report_with_nan_where_undefined(quotes, tmp_path):
    r = tca(one_order(), fills_of(), quotes)
    o = r.orders.loc["o1"]
    assert o["filled_quantity"] == 0 and o["fill_rate"] == 0
    assert np.isnan([o["avg_price"], o["arrival_slippage_bps"], o["spread_paid_bps"]]).all()
    # nothing traded and no end given: the opportunity window is unknown, so IS is NaN with a reason
    assert np.isnan(o["is_cost"]) and np.isnan(o["opportunity_bps"]) and o["delay_bps"] == 0
    assert "opportunity window is unknown" in o["reason"] and "nothing filled" in o["reason"]
    assert len(r.fills) == 0 and "markout_bps_1m" in r.fills
    assert r.to_html(tmp_path / "empty.html").exists()
    # with an end: the unfilled 100 shares cost the move from 100.00 to 100.20 (at 20 s), 20.00
    ended = tca(one_order(end_time=at(20)), fills_of(), quotes).orders.loc["o1"]
    assert ended["is_cost"] == pytest.approx(20.0) and ended["opportunity_bps"] == pytest.approx(20.0)
    assert ended["trading_bps"] == 0 and "window" not in ended["reason"]
