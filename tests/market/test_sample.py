import numpy as np
import pandas as pd
import pytest

from ntlab.core.instruments import AssetKind
from ntlab.errors import DataError
from ntlab.market import sample_market
from ntlab.market.sample import _build

ALL = ["AAPL", "MSFT", "NVDA", "SPY", "BRK.B", "BTC/USD", "EUR/USD"]
EQUITIES = ["AAPL", "MSFT", "NVDA", "SPY"]


@pytest.fixture(scope="module")
def market():
    return sample_market()


def test_same_seed_same_frames_different_seed_different():
    a = sample_market(seed=7)
    _build.cache_clear()
    b = sample_market(seed=7)
    c = sample_market(seed=8)
    pd.testing.assert_frame_equal(a.quotes, b.quotes)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    for symbol in ALL:
        assert not np.array_equal(a.quote_arrays(symbol).bid, c.quote_arrays(symbol).bid)
        assert not np.array_equal(a.trade_arrays(symbol).size, c.trade_arrays(symbol).size)


def test_a_subset_of_symbols_gets_the_same_data(market):
    part = sample_market(symbols=["EUR/USD", "NVDA"])
    assert part.symbols == ["EUR/USD", "NVDA"]
    for symbol in part.symbols:
        pd.testing.assert_frame_equal(
            part.quotes_for(symbol).reset_index(drop=True).astype({"symbol": str}),
            market.quotes_for(symbol).reset_index(drop=True).astype({"symbol": str}),
        )
        np.testing.assert_array_equal(part.trade_arrays(symbol).price, market.trade_arrays(symbol).price)


def test_another_date_moves_the_session_and_keeps_new_york_hours():
    summer = sample_market(date="2026-07-01", symbols=["SPY"])
    assert summer.session_open == pd.Timestamp("2026-07-01 13:30", tz="UTC")  # EDT
    assert summer.session_close == pd.Timestamp("2026-07-01 20:00", tz="UTC")


def test_shapes_dtypes_and_order(market):
    assert market.symbols == ALL
    assert list(market.quotes.columns) == ["symbol", "time", "bid", "ask", "bid_size", "ask_size"]
    assert list(market.trades.columns) == ["symbol", "time", "price", "size"]
    for frame in (market.quotes, market.trades):
        assert isinstance(frame["symbol"].dtype, pd.CategoricalDtype)
        assert frame["time"].dtype == "datetime64[ns, UTC]"
        assert all(frame[c].dtype == "float64" for c in frame.columns[2:])
        # symbols contiguous, in the order asked for
        changes = frame["symbol"].astype(str).ne(frame["symbol"].astype(str).shift()).sum()
        assert changes == len(ALL)
    assert market.session_open == pd.Timestamp("2026-03-02 09:30", tz="America/New_York")
    assert market.session_close == pd.Timestamp("2026-03-02 16:00", tz="America/New_York")
    for symbol in ALL:
        q, t = market.quote_arrays(symbol), market.trade_arrays(symbol)
        assert len(q.time_ns) == 23_400
        assert q.time_ns.dtype == np.int64 and q.bid.dtype == np.float64
        assert np.all(np.diff(q.time_ns) == 1_000_000_000)
        assert len(t.time_ns) > 5_000 and np.all(np.diff(t.time_ns) >= 0)
        assert np.mean(t.time_ns % 1_000_000_000 != 0) > 0.99  # stamped finer than the 1-second quotes
        assert t.time_ns[0] >= market.session_open.value and t.time_ns[-1] < market.session_close.value
        assert len(market.quotes_for(symbol)) == 23_400


def test_prices_and_spreads_are_on_tick_and_positive(market):
    for symbol in ALL:
        q = market.quote_arrays(symbol)
        tick = float(market.instruments[symbol].tick_size)
        assert np.all(q.ask > q.bid) and np.all(q.bid > 0)
        for prices in (q.bid, q.ask, market.trade_arrays(symbol).price):
            np.testing.assert_allclose(prices / tick, np.round(prices / tick), atol=1e-6)


def test_spreads_are_realistic(market):
    for symbol in EQUITIES:
        ticks = np.round(
            np.diff([market.quote_arrays(symbol).bid, market.quote_arrays(symbol).ask], axis=0) / 0.01
        )
        assert ticks.min() >= 1 and ticks.max() <= 3
        assert ticks[0, :1800].mean() > ticks[0, 9000:14000].mean()  # wider at the open
    btc = market.quote_arrays("BTC/USD")
    assert 0.5 < np.median((btc.ask - btc.bid) / btc.bid * 1e4) < 2
    eur = market.quote_arrays("EUR/USD")
    pips = (eur.ask - eur.bid) / 1e-4
    assert pips.min() >= 0.5 - 1e-9 and pips.max() <= 1 + 1e-9


def test_starting_prices(market):
    start = {s: (market.quote_arrays(s).bid[0] + market.quote_arrays(s).ask[0]) / 2 for s in ALL}
    expected = {
        "AAPL": 190,
        "MSFT": 410,
        "NVDA": 120,
        "SPY": 520,
        "BRK.B": 410,
        "BTC/USD": 65_000,
        "EUR/USD": 1.08,
    }
    for symbol, price in expected.items():
        assert start[symbol] == pytest.approx(price, rel=0.01)


def test_sizes_make_small_orders_fill_at_the_touch_and_large_ones_walk(market):
    for symbol in EQUITIES:
        q = market.quote_arrays(symbol)
        assert np.all(q.ask_size % 100 == 0) and np.all(q.ask_size >= 100)
        assert 200 <= np.median(q.ask_size) <= 1_000
        assert np.mean(q.ask_size < 5_000) > 0.99
    assert 0.3 < np.median(market.quote_arrays("BTC/USD").ask_size) < 5
    assert 1e5 <= np.median(market.quote_arrays("EUR/USD").ask_size) <= 5e6
    aapl = market.trade_arrays("AAPL").size
    assert aapl.min() >= 1 and np.all(aapl == np.round(aapl))
    assert np.mean(aapl) > 1.3 * np.median(aapl)  # lognormal: a long right tail


def test_daily_volume_is_realistic(market):
    assert 2e6 < market.daily_volume("AAPL") < 8e6
    assert 1e3 < market.daily_volume("BTC/USD") < 1e4
    assert 1e9 < market.daily_volume("EUR/USD") < 2e10


@pytest.mark.parametrize("symbol", ALL)
def test_volume_is_u_shaped(market, symbol):
    profile = market.volume_profile(symbol, bins=13)  # half-hour buckets
    assert profile.sum() == pytest.approx(1.0)
    midday = profile.iloc[5:8].mean()
    assert profile.iloc[0] > 1.5 * midday and profile.iloc[-1] > 1.3 * midday


def test_trades_print_at_the_touch_and_buyers_move_prices_up(market):
    for symbol in ["AAPL", "SPY", "BTC/USD"]:
        q, t = market.quote_arrays(symbol), market.trade_arrays(symbol)
        i = np.searchsorted(q.time_ns, t.time_ns, side="right") - 1
        at_ask, at_bid = t.price == q.ask[i], t.price == q.bid[i]
        assert np.all(at_ask | at_bid)
        sign = np.where(at_ask, 1.0, -1.0)
        assert np.mean(sign[1:] == sign[:-1]) > 0.6  # order flow is autocorrelated
        mid = (q.bid + q.ask) / 2
        later = mid[np.minimum(i + 5, len(mid) - 1)]
        assert np.mean(sign * (later - mid[i]) / mid[i]) > 0  # positive 5-second markout


def test_intraday_volatility_is_higher_at_open_and_close(market):
    for symbol in ["AAPL", "NVDA"]:
        q = market.quote_arrays(symbol)
        moves = np.abs(np.diff(np.log((q.bid + q.ask) / 2)))
        assert moves[:1800].mean() > moves[9000:14000].mean()
        assert moves[-1800:].mean() > moves[9000:14000].mean()


def test_instruments_match_their_kind(market):
    assert market.instruments["BRK.B"].kind is AssetKind.EQUITY
    assert market.instruments["BTC/USD"].kind is AssetKind.CRYPTO and market.instruments["BTC/USD"].fractional
    assert market.instruments["EUR/USD"].kind is AssetKind.FX


def test_callers_cannot_change_what_the_next_caller_gets():
    first = sample_market(symbols=["AAPL"])
    first.quotes.loc[:, "bid"] = -1.0
    assert (sample_market(symbols=["AAPL"]).quotes["bid"] > 0).all()
    with pytest.raises(ValueError):
        first.quote_arrays("AAPL").bid[0] = 0.0


def test_bad_arguments_are_explained():
    with pytest.raises(DataError, match="choose from"):
        sample_market(symbols=["TSLA"])
    with pytest.raises(DataError, match="not a date"):
        sample_market(date="yesterday-ish")
    with pytest.raises(DataError, match="this market has AAPL"):
        sample_market().quotes_for("TSLA")
