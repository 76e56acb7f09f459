"""Per-fill mids from backward as-of joins: NaN where no fresh quote stands, never a forward-filled guess."""

import math

import pytest

from ntlab.analytics import tca
from tests.analytics.conftest import fills_of, one_order


def fill(quotes, seconds, price=100.05, **options):
    fills = fills_of(("a", seconds, price, 10))
    return tca(one_order(arrival_time=fills["time"][0]), fills, quotes, **options).fills.loc["a"]


def test_a_quote_older_than_the_limit_gives_nan(quotes):
    f = fill(quotes, 1, max_quote_age="5s")
    # at 2 s the 0 s quote is 2 s old: used; at 6 s it is 6 s old: too old
    assert f["markout_bps_1s"] == pytest.approx((100.05 - 100.00) / 100.00 * 1e4)
    assert math.isnan(f["markout_bps_5s"])
    # the default limit (60 s) accepts it
    assert fill(quotes, 1)["markout_bps_5s"] == pytest.approx(5.0)


def test_no_quote_before_the_time_gives_nan(quotes):
    f = fill(quotes, -18)
    # -23 s is before the first quote (-20 s): nothing to look back to
    assert math.isnan(f["markout_bps_-5s"])
    assert f["mid"] == pytest.approx(99.90)


def test_a_time_past_the_last_quote_gives_nan_even_if_the_quote_is_fresh(quotes):
    f = fill(quotes, 398)
    # 399 s: the 20 s quote is 379 s old, too old; 403 s: past the last quote (400 s), beyond the data
    assert math.isnan(f["markout_bps_1s"]) and math.isnan(f["markout_bps_5s"])
    assert math.isnan(f["mid"])  # at 398 s the newest quote is 378 s old
    # with no age limit the 1 s horizon is priced, the 5 s one still is not (no data after 400 s)
    loose = fill(quotes, 398, max_quote_age="1h")
    assert loose["markout_bps_1s"] == pytest.approx((100.05 - 100.20) / 100.20 * 1e4)
    assert math.isnan(loose["markout_bps_5s"])


def test_horizons_are_configurable(quotes):
    f = fill(quotes, 1, horizons=["500ms", "9s", "-2m"], realized=["30s"])
    assert {"markout_bps_500ms", "markout_bps_9s", "markout_bps_-2m", "realized_spread_bps_30s"} <= set(
        f.index
    )
    # at 10 s the 10 s quote has just arrived: mid 100.10
    assert f["markout_bps_9s"] == pytest.approx((100.05 - 100.10) / 100.00 * 1e4)
    assert "markout_bps_1m" not in f.index


def test_liquidity_is_normalised_and_venue_kept(quotes):
    fills = fills_of(("a", 1, 100.02, 10), ("b", 2, 100.02, 10), ("c", 3, 100.02, 10))
    fills = fills.assign(liquidity=["Maker", " TAKER", None], venue=["XNAS", "ARCX", "XNAS"])
    f = tca(one_order(), fills, quotes).fills
    assert f["liquidity"].tolist() == ["maker", "taker", ""]
    assert f["venue"].tolist() == ["XNAS", "ARCX", "XNAS"]


def test_orders_take_the_venue_that_filled_most_of_them(quotes):
    fills = fills_of(("a", 1, 100.02, 10), ("b", 2, 100.02, 30), ("c", 3, 100.02, 25))
    r = tca(one_order(), fills.assign(venue=["XNAS", "ARCX", "XNAS"]), quotes)
    # XNAS filled 10 + 25 = 35 of the order, ARCX 30
    assert r.orders.loc["o1", "venue"] == "XNAS"
    assert r.by("venue").index.tolist() == ["XNAS"]
