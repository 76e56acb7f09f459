import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntlab.analytics import tca
from ntlab.errors import DataError

T0 = pd.Timestamp("2026-03-02 14:30", tz="UTC")


def at(seconds):
    return T0 + pd.Timedelta(seconds=seconds)


QUOTES = pd.DataFrame(
    {
        "symbol": "AAPL",
        "time": [at(-20), at(0), at(10), at(20), at(400)],
        "bid": [99.88, 99.98, 100.08, 100.18, 100.48],
        "ask": [99.92, 100.02, 100.12, 100.22, 100.52],
    }
)  # mids 99.90, 100.00, 100.10, 100.20, 100.50


def report():
    orders = pd.DataFrame(
        {
            "order_id": ["buy", "sell"],
            "symbol": "AAPL",
            "side": ["buy", "SELL"],
            "quantity": [100, 200],
            "arrival_time": [at(0), at(0)],
            "decision_time": [at(0), at(-15)],
            "end_time": [at(11), at(20)],
        }
    )
    fills = pd.DataFrame(
        {
            "order_id": ["buy", "buy", "sell"],
            "fill_id": ["f1", "f2", "f3"],
            "time": [at(1), at(11), at(2)],
            "price": [100.02, 100.12, 99.98],
            "quantity": [60, 40, 50],
            "fee": [0.30, 0.20, 0.0],
            "liquidity": ["taker", "taker", "maker"],
        }
    )
    return tca(orders, fills, QUOTES)


def test_a_buy_worked_by_hand():
    o = report().orders.loc["buy"]
    # 60 @ 100.02 + 40 @ 100.12 = 10,006.00 for 100 shares: average 100.06; decision = arrival mid 100.00
    assert o["avg_price"] == pytest.approx(100.06)
    # IS = (10,006.00 - 100 x 100.00) + fees 0.50 = 6.50 on a paper notional of 10,000: 6.5 bps
    assert o["is_cost"] == pytest.approx(6.5)
    assert o["is_bps"] == pytest.approx(6.5)
    assert o["trading_bps"] == pytest.approx(6.0)  # 100 x (100.06 - 100.00) = 6.00
    assert o["fees_bps"] == pytest.approx(0.5)
    assert o["delay_bps"] == 0 and o["opportunity_bps"] == 0
    assert o["arrival_slippage_bps"] == pytest.approx(6.0)
    assert o["fill_rate"] == 1.0


def test_a_partly_filled_sell_with_delay_and_opportunity_cost():
    o = report().orders.loc["sell"]
    # s = -1; decision mid 99.90 (at -15 s), arrival mid 100.00, end mid 100.20 (at 20 s); 50 of 200 @ 99.98
    # delay = -200 x (100.00 - 99.90) = -20; trading = -50 x (99.98 - 100.00) = +1; opportunity = -150 x 0.20 = -30
    # IS = -(4,999 - 50 x 99.90) - 150 x (100.20 - 99.90) = -4 - 45 = -49 on 200 x 99.90 = 19,980
    assert o["is_cost"] == pytest.approx(-49.0)
    assert o["is_bps"] == pytest.approx(-49.0 / 19_980 * 1e4)
    assert o["delay_bps"] == pytest.approx(-20.0 / 19_980 * 1e4)
    assert o["trading_bps"] == pytest.approx(1.0 / 19_980 * 1e4)
    assert o["opportunity_bps"] == pytest.approx(-30.0 / 19_980 * 1e4)
    assert o["fill_rate"] == 0.25


def test_a_sell_fill_by_hand_effective_is_realized_plus_impact():
    f = report().fills.loc["f3"]
    # sell 50 @ 99.98 at 2 s, mid 100.00: s = -1 so effective = 2 x -1 x (99.98 - 100.00) / 100 = 4 bps
    assert f["effective_spread_bps"] == pytest.approx(4.0)
    # at 17 s the 10 s quote (mid 100.10) stands: realized = 2 x -1 x (99.98 - 100.10) / 100 = 24 bps
    assert f["realized_spread_bps_15s"] == pytest.approx(24.0)
    # impact = 2 x -1 x (100.10 - 100.00) / 100 = -20 bps: the price rose after the sale
    assert f["price_impact_bps_15s"] == pytest.approx(-20.0)


def test_fill_metrics_and_markouts_by_hand():
    f = report().fills.loc["f1"]
    # buy 60 @ 100.02 at 1 s, mid 100.00: paid 2 bps of half spread, 4 bps effective spread
    assert f["mid"] == pytest.approx(100.0)
    assert f["spread_paid_bps"] == pytest.approx(2.0)
    assert f["effective_spread_bps"] == pytest.approx(4.0)
    assert f["markout_bps_5s"] == pytest.approx(2.0)  # at 6 s the 0 s quote is still in force
    assert f["markout_bps_1m"] == pytest.approx(-18.0)  # at 61 s: the 20 s quote, mid 100.20
    assert math.isnan(f["markout_bps_5m"])  # at 301 s the last quote is 281 s old: no guess
    # at -4 s the -20 s quote (16 s old, mid 99.90) stands: (100.02 - 99.90) / 100.00 = 12 bps
    assert f["markout_bps_-5s"] == pytest.approx(12.0)
    # realized spread at 15 s: at 16 s the 10 s quote (mid 100.10) is in force
    assert f["realized_spread_bps_15s"] == pytest.approx(2 * (100.02 - 100.10) / 100 * 1e4)


def test_aggregates_are_notional_weighted():
    r = report()
    total = r.orders["is_cost"].sum() / r.orders["notional"].sum() * 1e4
    assert r.summary.loc["is_bps", "mean_bps"] == pytest.approx(total)
    by_side = r.by("side")
    assert list(by_side.index) == ["buy", "sell"] and by_side["count"].tolist() == [1, 1]
    with pytest.raises(DataError, match="cannot group by"):
        r.by("strategy")


def test_html_report_is_self_contained(tmp_path):
    path = report().to_html(tmp_path / "report.html")
    text = path.read_text()
    assert text.count('src="data:image/png;base64,') == 6
    assert 'src="http' not in text and "<link" not in text
    assert "Worst orders" in text and "is_bps" in text


def test_empty_fills_give_nan_not_a_crash():
    orders = pd.DataFrame(
        {"order_id": ["x"], "symbol": "AAPL", "side": "buy", "quantity": [10], "arrival_time": [at(0)]}
    )
    fills = pd.DataFrame(columns=["order_id", "fill_id", "time", "price", "quantity"])
    r = tca(orders, fills, QUOTES)
    o = r.orders.loc["x"]
    assert o["filled_quantity"] == 0 and math.isnan(o["avg_price"]) and math.isnan(o["is_cost"])
    assert "nothing filled" in o["reason"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda o, f, q: (o.drop(columns="side"), f, q), "missing column"),
        (lambda o, f, q: (o, f.assign(order_id=["buy", "nope", "sell"]), q), "not in orders"),
        (lambda o, f, q: (o, f.assign(price=[100.0, -1.0, 99.0]), q), "not positive"),
        (lambda o, f, q: (o.assign(side=["long", "sell"]), f, q), "side must be"),
        (lambda o, f, q: (o, f, q.iloc[::-1]), "go backwards"),
        (lambda o, f, q: (o, f.assign(time=["soon", "x", "y"]), q), "not times"),
    ],
)
def test_bad_input_is_explained(change, words):
    orders = pd.DataFrame(
        {
            "order_id": ["buy", "sell"],
            "symbol": "AAPL",
            "side": ["buy", "sell"],
            "quantity": [100, 200],
            "arrival_time": [at(0), at(0)],
        }
    )
    fills = pd.DataFrame(
        {
            "order_id": ["buy", "buy", "sell"],
            "fill_id": ["a", "b", "c"],
            "time": [at(1), at(2), at(3)],
            "price": [100.0, 100.1, 99.9],
            "quantity": [1, 1, 1],
        }
    )
    with pytest.raises(DataError, match=words):
        tca(*change(orders, fills, QUOTES))


def test_decimal_columns_are_accepted():
    from decimal import Decimal

    orders = pd.DataFrame(
        {"order_id": ["b"], "symbol": "AAPL", "side": [1], "quantity": [Decimal(10)], "arrival_time": [at(0)]}
    )
    fills = pd.DataFrame(
        {
            "order_id": ["b"],
            "fill_id": ["f"],
            "time": [at(1)],
            "price": [Decimal("100.02")],
            "quantity": [Decimal(10)],
        }
    )
    assert tca(orders, fills, QUOTES).orders.loc["b", "avg_price"] == pytest.approx(100.02)


# --- identities ------------------------------------------------------------------------------------------

prices = st.floats(95, 105, allow_nan=False)


@st.composite
def sessions(draw):
    n_quotes = draw(st.integers(3, 12))
    q_times = np.cumsum(draw(st.lists(st.integers(1, 30), min_size=n_quotes, max_size=n_quotes)))
    mids = draw(st.lists(prices, min_size=n_quotes, max_size=n_quotes))
    half = draw(st.lists(st.floats(0.005, 0.1), min_size=n_quotes, max_size=n_quotes))
    quotes = pd.DataFrame(
        {
            "symbol": "AAPL",
            "time": [at(int(t)) for t in q_times],
            "bid": np.subtract(mids, half),
            "ask": np.add(mids, half),
        }
    )
    n_orders = draw(st.integers(1, 5))
    orders, fills = [], []
    span = int(q_times[-1])
    for k in range(n_orders):
        quantity = draw(st.integers(1, 1000))
        arrival = draw(st.integers(int(q_times[0]), span))
        decision = draw(st.integers(int(q_times[0]), arrival))
        orders.append(
            {
                "order_id": f"o{k}",
                "symbol": "AAPL",
                "side": draw(st.sampled_from(["buy", "sell"])),
                "quantity": quantity,
                "arrival_time": at(arrival),
                "decision_time": at(decision),
                "end_time": at(span),
            }
        )
        left = quantity
        for j in range(draw(st.integers(0, 3))):
            if left <= 0:
                break
            x = draw(st.integers(1, left))
            left -= x
            fills.append(
                {
                    "order_id": f"o{k}",
                    "fill_id": f"o{k}f{j}",
                    "time": at(draw(st.integers(arrival, span))),
                    "price": draw(prices),
                    "quantity": x,
                    "fee": draw(st.floats(0, 2)),
                    "liquidity": draw(st.sampled_from(["maker", "taker"])),
                }
            )
    fill_frame = pd.DataFrame(
        fills, columns=["order_id", "fill_id", "time", "price", "quantity", "fee", "liquidity"]
    )
    return pd.DataFrame(orders), fill_frame, quotes


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(sessions())
def test_is_is_the_sum_of_its_parts(session):
    o = tca(*session, max_quote_age="1h").orders
    parts = o["delay_bps"] + o["trading_bps"] + o["opportunity_bps"] + o["fees_bps"]
    np.testing.assert_allclose(o["is_bps"], parts, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(sessions())
def test_weighted_mean_is_total_cost_over_total_notional(session):
    r = tca(*session, max_quote_age="1h")
    expected = r.orders["is_cost"].sum() / r.orders["notional"].sum() * 1e4
    assert r.summary.loc["is_bps", "mean_bps"] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@SETTINGS
@given(sessions())
def test_buy_and_sell_mirror(session):
    orders, fills, quotes = session
    center = 100.0
    mirrored_orders = orders.assign(side=orders["side"].map({"buy": "sell", "sell": "buy"}))
    mirrored_fills = fills.assign(price=2 * center - fills["price"])
    mirrored_quotes = quotes.assign(bid=2 * center - quotes["ask"], ask=2 * center - quotes["bid"])
    a = tca(orders, fills, quotes, max_quote_age="1h")
    b = tca(mirrored_orders, mirrored_fills, mirrored_quotes, max_quote_age="1h")
    # costs in currency are identical when every price is reflected around the center and sides swap
    # (bps differ only because the reflected mids they are divided by differ)
    np.testing.assert_allclose(a.orders["is_cost"], b.orders["is_cost"], rtol=1e-7, atol=1e-7)
    for part in ("delay_bps", "trading_bps", "opportunity_bps", "fees_bps"):
        currency_a = a.orders[part] * a.orders["notional"]
        currency_b = b.orders[part] * b.orders["notional"]
        np.testing.assert_allclose(currency_a, currency_b, rtol=1e-7, atol=1e-5)
    per_fill = ["spread_paid_bps", "effective_spread_bps", "markout_bps_1m", "realized_spread_bps_15s"]
    np.testing.assert_allclose(
        a.fills[per_fill].mul(a.fills["mid"], axis=0),
        b.fills[per_fill].mul(b.fills["mid"], axis=0),
        atol=1e-5,
    )


@SETTINGS
@given(sessions())
def test_effective_spread_is_realized_plus_impact(session):
    f = tca(*session, max_quote_age="1h").fills
    for delta in ("15s", "1m"):
        total = f[f"realized_spread_bps_{delta}"] + f[f"price_impact_bps_{delta}"]
        ok = total.notna()
        np.testing.assert_allclose(f.loc[ok, "effective_spread_bps"], total[ok], rtol=1e-9, atol=1e-9)
