"""Benchmarks, participation and the pre-trade estimate, worked by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from ntlab.analytics import tca
from tests.analytics.conftest import at, fills_of, one_order

TRADES = pd.DataFrame(
    {
        "symbol": "AAPL",
        "time": [at(2), at(8), at(16), at(17)],
        "price": [100.01, 100.05, 100.09, 100.50],
        "size": [300, 100, 600, 1000],
    }
)


def worked(quotes, **options):
    # buy 100 between 0 s and 16 s: 50 @ 100.02 at 1 s (mid 100.00), 50 @ 100.13 at 12 s (mid 100.10)
    fills = fills_of(("a", 1, 100.02, 50), ("b", 12, 100.13, 50))
    return tca(one_order(end_time=at(16)), fills, quotes, TRADES, **options).orders.loc["o1"]


def test_interval_vwap_and_participation(quotes):
    o = worked(quotes)
    # trades at 2, 8 and 16 s are inside [0 s, 16 s] (both ends count); the 17 s print is not
    # VWAP = (300 x 100.01 + 100 x 100.05 + 600 x 100.09) / 1000 = 100,062 / 1000 = 100.062
    assert o["vwap"] == pytest.approx(100.062)
    assert o["market_volume"] == 1000 and o["participation"] == pytest.approx(100 / 1000)
    # average price (50 x 100.02 + 50 x 100.13) / 100 = 100.075
    assert o["vwap_slippage_bps"] == pytest.approx((100.075 - 100.062) / 100.062 * 1e4)


def test_twap_is_weighted_by_time_not_by_quote_count(quotes):
    o = worked(quotes)
    # mid 100.00 for 10 s, then 100.10 for 6 s: (10 x 100.00 + 6 x 100.10) / 16 = 100.0375
    # (the plain mean of the two quotes, 100.05, would be wrong)
    assert o["twap"] == pytest.approx(100.0375)
    assert o["twap_slippage_bps"] == pytest.approx((100.075 - 100.0375) / 100.0375 * 1e4)


def test_spread_paid_per_order_is_over_the_fills_mid_notional(quotes):
    o = worked(quotes)
    # 50 x (100.02 - 100.00) + 50 x (100.13 - 100.10) = 1.0 + 1.5 = 2.5 over 50 x 100.00 + 50 x 100.10 = 10,005
    assert o["spread_paid_bps"] == pytest.approx(2.5 / 10_005 * 1e4)


def test_no_trades_leave_vwap_and_participation_undefined(quotes):
    fills = fills_of(("a", 1, 100.02, 100))
    o = tca(one_order(), fills, quotes).orders.loc["o1"]
    assert math.isnan(o["vwap_slippage_bps"]) and math.isnan(o["participation"])
    assert math.isnan(o["pretrade_estimate_bps"])  # no ADV without trades (unless given)


@pytest.mark.parametrize(("coef", "expected"), [(1.0, 22.0), (0.5, 12.0)])
def test_pretrade_estimate_with_given_sigma_and_adv(quotes, coef, expected):
    order = one_order(quantity=10_000)
    r = tca(order, fills_of(), quotes, impact_coef=coef, sigma_bps={"AAPL": 200.0}, adv=1_000_000)
    # half the 4 bps arrival spread + Y x 200 bps x sqrt(10,000 / 1,000,000) = 2 + Y x 20
    assert r.orders.loc["o1", "pretrade_estimate_bps"] == pytest.approx(expected)


def _minute(day: int, minute: float) -> pd.Timestamp:
    return pd.Timestamp("2026-03-02 14:30", tz="UTC") + pd.Timedelta(days=day, minutes=minute)


def test_volatility_and_adv_estimated_from_the_data():
    r = 0.001
    # day 0: last mids of minutes 0, 1, 2 and 4 (the 0.5-minute quote is superseded within its minute);
    # day 1: an overnight jump to 150, which must not count, then one more minute
    points = [
        (0, 0.0, 100.0 * math.exp(0.05)),
        (0, 0.5, 100.0),
        (0, 1, 100.0 * math.exp(r)),
        (0, 2, 100.0),
        (0, 4, 100.0 * math.exp(2 * r)),
        (1, 0, 150.0),
        (1, 1, 150.0 * math.exp(r)),
    ]
    mids = np.array([p[2] for p in points])
    quotes = pd.DataFrame(
        {
            "symbol": "AAPL",
            "time": [_minute(d, m) for d, m, _ in points],
            "bid": mids - 0.01,
            "ask": mids + 0.01,
        }
    )
    # log returns r, -r, 2r over 1, 1 and 2 minutes on day 0, r over 1 minute on day 1:
    # variance per minute = (1 + 1 + 4 + 1) r² / 5 minutes = 1.4e-6; σ = sqrt(1.4e-6 x 390) in bps
    expected_sigma = math.sqrt(7 * r**2 / 5 * 390) * 1e4
    trades = pd.DataFrame(
        {
            "symbol": "AAPL",
            "time": [_minute(0, 0), _minute(0, 30), _minute(1, 0), _minute(1, 10)],
            "price": 100.0,
            "size": [200, 400, 100, 300],
        }
    )
    # 1,000 shares over 30 + 10 traded minutes = 25 a minute, x 390 minutes a session = 9,750
    order = one_order(quantity=975, arrival_time=_minute(0, 2))
    o = tca(order, fills_of(), quotes, trades).orders.loc["o1"]
    assert o["sigma_bps"] == pytest.approx(expected_sigma)
    assert o["adv"] == pytest.approx(9_750)
    spread_bps = 0.02 / 100.0 * 1e4
    assert o["pretrade_estimate_bps"] == pytest.approx(spread_bps / 2 + expected_sigma * math.sqrt(0.1))
    crypto = tca(order, fills_of(), quotes, trades, session_minutes=1440).orders.loc["o1"]
    assert crypto["adv"] == pytest.approx(25 * 1440)
