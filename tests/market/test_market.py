import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntlab.errors import DataError
from ntlab.market import Market, load_market, load_quotes, load_trades, sample_market
from ntlab.market.sample import _build


def test_same_seed_same_market_and_different_seed_differs():
    a = sample_market(seed=7)
    _build.cache_clear()
    b = sample_market(seed=7)
    c = sample_market(seed=8)
    pd.testing.assert_frame_equal(a.quotes, b.quotes)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    assert not np.allclose(a.quote_arrays("AAPL").bid, c.quote_arrays("AAPL").bid)


def test_a_subset_of_symbols_gets_the_same_data():
    full = sample_market()
    part = sample_market(symbols=["NVDA", "EUR/USD"])
    assert part.symbols == ["NVDA", "EUR/USD"]
    np.testing.assert_array_equal(full.quote_arrays("NVDA").ask, part.quote_arrays("NVDA").ask)
    np.testing.assert_array_equal(full.trade_arrays("EUR/USD").size, part.trade_arrays("EUR/USD").size)


def test_shapes_dtypes_and_session():
    m = sample_market()
    assert {"AAPL", "MSFT", "NVDA", "SPY", "BRK.B", "BTC/USD", "EUR/USD"} <= set(m.symbols)
    assert list(m.quotes.columns) == ["symbol", "time", "bid", "ask", "bid_size", "ask_size"]
    assert str(m.quotes["time"].dt.tz) == "UTC"
    assert m.session_open == pd.Timestamp("2026-03-02 09:30", tz="America/New_York")
    assert len(m.quotes_for("AAPL")) == 23_400
    assert len(m.trades_for("AAPL")) > 23_400  # finer than one second
    for symbol in m.symbols:
        q = m.quote_arrays(symbol)
        t = m.trade_arrays(symbol)
        assert np.all(np.diff(q.time_ns) > 0) and np.all(np.diff(t.time_ns) >= 0)
        assert np.all(q.ask > q.bid) and np.all(q.bid_size > 0)
        tick = float(m.instruments[symbol].tick_size)
        assert np.allclose(np.round(q.bid / tick), q.bid / tick)


def test_spreads_and_sizes_are_realistic():
    m = sample_market()
    q = m.quote_arrays("AAPL")
    spread_bps = ((q.ask - q.bid) / ((q.ask + q.bid) / 2) * 1e4).mean()
    assert 0.3 < spread_bps < 3
    assert 100 < np.median(q.ask_size) < 1_000
    btc = m.quote_arrays("BTC/USD")
    assert 0.3 < ((btc.ask - btc.bid) / btc.bid * 1e4).mean() < 3
    assert 2_000_000 < m.daily_volume("AAPL") < 8_000_000


def test_volume_is_u_shaped():
    profile = sample_market().volume_profile("AAPL", bins=13)  # half-hour buckets
    assert profile.sum() == pytest.approx(1.0)
    midday = profile.iloc[5:8].mean()
    assert profile.iloc[0] > 1.5 * midday and profile.iloc[-1] > 1.3 * midday


def test_unknown_symbols_are_explained():
    with pytest.raises(DataError, match="choose from"):
        sample_market(symbols=["TSLA"])
    with pytest.raises(DataError, match="this market has"):
        sample_market().quotes_for("TSLA")


def test_round_trip_through_csv_and_parquet(tmp_path):
    m = sample_market(symbols=["AAPL"])
    quotes = m.quotes.head(500)
    trades = m.trades.head(500)
    quotes.to_csv(tmp_path / "q.csv", index=False)
    trades.to_parquet(tmp_path / "t.parquet")
    loaded = load_market(tmp_path / "q.csv", tmp_path / "t.parquet")
    np.testing.assert_allclose(loaded.quote_arrays("AAPL").bid, quotes["bid"].to_numpy())
    np.testing.assert_array_equal(loaded.trade_arrays("AAPL").time_ns, m.trade_arrays("AAPL").time_ns[:500])
    assert loaded.instruments["AAPL"].kind == "equity"


def test_epoch_and_naive_times():
    base = pd.Timestamp("2026-03-02 14:30", tz="UTC")
    for column in (
        [base.value // 10**9, base.value // 10**9 + 1],
        [base.value // 10**6, base.value // 10**6 + 1000],
        ["2026-03-02 14:30:00", "2026-03-02 14:30:01"],
    ):
        q = load_quotes(
            pd.DataFrame({"symbol": "AAPL", "time": column, "bid": [1.0, 1.0], "ask": [1.1, 1.1]})
        )
        assert q["time"].iloc[0] == base


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"symbol": ["AAPL"], "time": ["2026-03-02"], "bid": [1.0]}), "missing column"),
        (
            pd.DataFrame(
                {
                    "symbol": ["AAPL"] * 2,
                    "time": ["2026-03-02 10:00", "2026-03-02 09:00"],
                    "bid": [1.0, 1.0],
                    "ask": [1.1, 1.1],
                }
            ),
            "go backwards",
        ),
        (
            pd.DataFrame({"symbol": ["AAPL"], "time": ["2026-03-02"], "bid": [0.0], "ask": [1.1]}),
            "non-positive",
        ),
        (
            pd.DataFrame({"symbol": ["AAPL"], "time": ["2026-03-02"], "bid": [1.2], "ask": [1.1]}),
            "drop_crossed=True",
        ),
        (pd.DataFrame({"symbol": ["AAPL"], "time": ["not a time"], "bid": [1.0], "ask": [1.1]}), "not times"),
    ],
)
def test_bad_quotes_are_explained(frame, message):
    with pytest.raises(DataError, match=message):
        load_quotes(frame)


def test_bad_files(tmp_path):
    with pytest.raises(DataError, match="no file"):
        load_trades(tmp_path / "missing.csv")
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(DataError, match="neither"):
        load_trades(tmp_path / "t.json")


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["AAPL", "MSFT", "bad symbol"]),
            st.integers(1_700_000_000, 1_700_000_100),
            st.one_of(st.floats(-5, 500), st.just(float("nan"))),
            st.one_of(st.floats(-5, 500), st.just(float("nan"))),
        ),
        max_size=20,
    )
)
def test_loaders_load_or_explain(rows):
    frame = pd.DataFrame(rows, columns=["symbol", "time", "bid", "ask"])
    try:
        market = Market.from_frames(frame)
    except DataError as error:
        assert str(error)
    else:
        assert not market.quotes[["bid", "ask"]].isna().any().any()
        assert (market.quotes["bid"] > 0).all()
