"""Aggregates, pictures, notebook display and the self-contained HTML file."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ntlab.analytics import tca
from ntlab.errors import DataError
from tests.analytics.conftest import at


def two_day_session(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """20 orders a day on two days and two symbols; every fill 1 s after arrival."""
    rng = np.random.default_rng(seed)
    days = [pd.Timestamp("2026-03-02 14:30", tz="UTC"), pd.Timestamp("2026-03-03 14:30", tz="UTC")]
    quotes = pd.concat(
        [
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "time": day + pd.to_timedelta(np.arange(0, 600, 5), unit="s"),
                    "bid": base - 0.01,
                    "ask": base + 0.01,
                }
            )
            for day in days
            for symbol, base in (("AAPL", 100.0), ("MSFT", 400.0))
        ]
    )
    orders, fills = [], []
    for k in range(40):
        day, symbol = days[k // 20], ("AAPL", "MSFT")[k % 2]
        base = 100.0 if symbol == "AAPL" else 400.0
        arrival = day + pd.Timedelta(seconds=int(rng.integers(0, 500)))
        side = ("buy", "sell")[int(rng.integers(0, 2))]
        s = 1 if side == "buy" else -1
        quantity = int(rng.integers(10, 500))
        orders.append(
            {
                "order_id": f"o{k}",
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "arrival_time": arrival,
            }
        )
        price = base * (1 + s * rng.normal(2, 3) / 1e4)
        fills.append(
            {
                "order_id": f"o{k}",
                "fill_id": f"f{k}",
                "time": arrival + pd.Timedelta(seconds=1),
                "price": price,
                "quantity": quantity,
                "liquidity": ("maker", "taker")[k % 2],
            }
        )
    return pd.DataFrame(orders), pd.DataFrame(fills), quotes


def test_slippage_is_weighted_by_filled_notional_and_is_by_paper_notional():
    quotes = pd.DataFrame(
        {"symbol": "AAPL", "time": [at(0), at(30)], "bid": [99.99, 99.99], "ask": [100.01, 100.01]}
    )
    orders = pd.DataFrame(
        {
            "order_id": ["a", "b"],
            "symbol": "AAPL",
            "side": "buy",
            "quantity": [100, 300],
            "arrival_time": at(0),
        }
    )
    # a: all 100 @ 100.06 (6 bps); b: 50 of 300 @ 100.02 (2 bps), the rest unfilled
    fills = pd.DataFrame(
        {
            "order_id": ["a", "b"],
            "fill_id": ["1", "2"],
            "time": at(1),
            "price": [100.06, 100.02],
            "quantity": [100, 50],
        }
    )
    r = tca(orders, fills, quotes)
    # arrival slippage over what traded: (6 x 10,006 + 2 x 5,001) / 15,007
    expected = (6 * 10_006 + 2 * 5_001) / 15_007
    assert r.summary.loc["arrival_slippage_bps", "mean_bps"] == pytest.approx(expected)
    assert r.summary.loc["arrival_slippage_bps", "notional"] == pytest.approx(15_007)
    # IS over the paper notional: (6.00 + 1.00) currency over 100 x 100 + 300 x 100 = 40,000
    assert r.summary.loc["is_bps", "mean_bps"] == pytest.approx(7.0 / 40_000 * 1e4)
    assert r.summary.loc["is_bps", "notional"] == pytest.approx(40_000)


def test_breakdowns_by_one_or_several_keys():
    r = tca(*two_day_session())
    by_symbol = r.by("symbol")
    assert by_symbol.index.tolist() == ["AAPL", "MSFT"]
    assert by_symbol["count"].tolist() == [20, 20]
    aapl = r.orders[r.orders["symbol"] == "AAPL"]
    assert by_symbol.loc["AAPL", "mean_bps"] == pytest.approx(
        aapl["is_cost"].sum() / aapl["notional"].sum() * 1e4
    )
    assert by_symbol.loc["AAPL", "median_bps"] == pytest.approx(aapl["is_bps"].median())
    assert by_symbol.loc["AAPL", "p95_bps"] == pytest.approx(np.percentile(aapl["is_bps"], 95))
    assert r.by("day").index.tolist() == ["2026-03-02", "2026-03-03"]
    both = r.by(["symbol", "side"], metric="arrival_slippage_bps")
    assert both.index.names == ["symbol", "side"] and both["count"].sum() == 40
    with pytest.raises(DataError, match="cannot group by strategy"):
        r.by("strategy")


def test_confidence_interval_is_seeded_and_clustered_by_day():
    orders, fills, quotes = session = two_day_session()
    # one day: orders are resampled; the same seed repeats the interval, another seed moves it
    first_day = (orders[:20], fills[:20], quotes)
    a, b = tca(*first_day, seed=7).summary, tca(*first_day, seed=7).summary
    assert a.loc["is_bps", "ci_low_bps"] == b.loc["is_bps", "ci_low_bps"]
    other = tca(*first_day, seed=8).summary
    assert other.loc["is_bps", "ci_low_bps"] != a.loc["is_bps", "ci_low_bps"]
    # with two days, every resample is day 1 twice, day 2 twice, or both: the interval lies between
    # the two days' own weighted means
    r = tca(*session)
    by_day = r.by("day")["mean_bps"]
    low, high = r.summary.loc["is_bps", ["ci_low_bps", "ci_high_bps"]]
    assert by_day.min() - 1e-9 <= low <= high <= by_day.max() + 1e-9
    assert low < r.summary.loc["is_bps", "mean_bps"] < high


def test_markout_table_by_liquidity():
    r = tca(*two_day_session())
    table = r.markouts
    assert table.index.tolist() == ["all", "maker", "taker"]
    assert table.columns.tolist() == ["-5s", "0s", "1s", "5s", "1m", "5m"]
    makers = r.fills[r.fills["liquidity"] == "maker"]
    weight = makers["price"] * makers["quantity"]
    assert table.loc["maker", "1m"] == pytest.approx((makers["markout_bps_1m"] * weight).sum() / weight.sum())


def test_pictures_build():
    from matplotlib.figure import Figure

    r = tca(*two_day_session())
    figures = r.figures()
    assert len(figures) == 6 and all(isinstance(f, Figure) for f in figures.values())
    markouts = r.plot_markouts().axes[0]
    assert [line.get_label() for line in markouts.get_lines()[:3]] == ["all fills", "maker", "taker"]
    curve = r.plot_cost_vs_participation().axes[0]
    assert not any(line.get_label().startswith("pre-trade") for line in curve.get_lines())  # no ADV: no curve
    assert len(r.plot_slippage().axes[0].patches) > 0
    assert len(r.plot_cumulative_cost().axes[0].get_lines()) == 1


def test_pre_trade_curve_is_drawn_when_there_is_volume():
    orders, fills, quotes = two_day_session()
    trades = quotes.rename(columns={"bid": "price"}).drop(columns="ask").assign(size=1000.0)
    curve = tca(orders, fills, quotes, trades).plot_cost_vs_participation().axes[0]
    assert any(line.get_label().startswith("pre-trade") for line in curve.get_lines())


def test_html_file_is_self_contained(tmp_path):
    r = tca(*two_day_session())
    text = r.to_html(tmp_path / "tca.html").read_text()
    assert text.count('src="data:image/png;base64,') == 6
    assert 'src="http' not in text and "<link" not in text and "<script" not in text
    assert "Worst orders" in text and "By day" in text and "Markouts" in text


def test_notebook_display_is_html_tables():
    html = tca(*two_day_session())._repr_html_()
    assert html.startswith("<h2>Execution quality: 40 orders, 40 fills</h2>")
    assert html.count("<table") >= 5


def test_importing_the_package_does_not_import_matplotlib():
    code = "import sys, ntlab.analytics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_vectorised_bootstrap_equals_resampling_one_draw_at_a_time():
    from ntlab.analytics import aggregate

    rng = np.random.default_rng(5)
    n, k, resamples = 60, 7, 40
    costs = rng.normal(0, 5, (n, 2))
    costs[3, 1] = np.nan  # a NaN weighs nothing in that metric only
    weights = np.column_stack([rng.uniform(1, 10, n), rng.uniform(1, 10, n)])
    codes = rng.integers(0, k, n)
    fast = aggregate.bootstrap_means(
        costs, weights, codes, k, resamples=resamples, rng=np.random.default_rng(9)
    )
    # the same draws, resampled the slow way: pick k days with replacement, add up their orders
    draws = aggregate._draws(np.random.default_rng(9), resamples * k, k).reshape(resamples, k)
    ok = np.isfinite(costs)
    for r in range(resamples):
        chosen = np.concatenate([np.flatnonzero(codes == day) for day in draws[r]])
        for j in range(2):
            rows = chosen[ok[chosen, j]]
            expected = (costs[rows, j] * weights[rows, j]).sum() / weights[rows, j].sum()
            assert fast[r, j] == pytest.approx(expected, rel=1e-12)
