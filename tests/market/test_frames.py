from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ntlab.core.instruments import AssetKind, Instrument
from ntlab.errors import DataError
from ntlab.market import Market

T0 = pd.Timestamp("2026-03-02 14:30", tz="UTC")


def quotes(rows):
    """Rows as (symbol, second, bid, ask)."""
    frame = pd.DataFrame(rows, columns=["symbol", "s", "bid", "ask"])
    frame.insert(1, "time", T0 + pd.to_timedelta(frame.pop("s"), unit="s"))
    frame["bid_size"] = 100.0
    frame["ask_size"] = 200.0
    return frame


def trades(rows):
    """Rows as (symbol, second, price, size)."""
    frame = pd.DataFrame(rows, columns=["symbol", "s", "price", "size"])
    frame.insert(1, "time", T0 + pd.to_timedelta(frame.pop("s"), unit="s"))
    return frame


INTERLEAVED = quotes(
    [
        ("AAPL", 0, 10.0, 10.01),
        ("EUR/USD", 0, 1.1, 1.10001),
        ("AAPL", 1, 10.01, 10.02),
        ("EUR/USD", 2, 1.1, 1.1),
    ]
)


def test_from_frames_groups_symbols_infers_instruments_and_session():
    m = Market.from_frames(INTERLEAVED, trades([("AAPL", 0.5, 10.01, 100), ("AAPL", 30, 10.0, 50)]))
    assert m.symbols == ["AAPL", "EUR/USD"]
    assert m.instruments["EUR/USD"].kind is AssetKind.FX
    assert m.quotes["symbol"].astype(str).tolist() == ["AAPL", "AAPL", "EUR/USD", "EUR/USD"]
    assert m.session_open == T0 and m.session_close == T0 + pd.Timedelta(seconds=30)
    assert m.quotes_for("EUR/USD")["bid"].tolist() == [1.1, 1.1]
    assert m.trades_for("EUR/USD").empty
    assert len(m.trade_arrays("EUR/USD").time_ns) == 0
    assert m.daily_volume("AAPL") == 150
    np.testing.assert_array_equal(m.quote_arrays("AAPL").time_ns, [T0.value, T0.value + 10**9])


def test_given_instruments_win_and_the_rest_are_inferred():
    custom = Instrument(symbol="AAPL", kind=AssetKind.EQUITY, tick_size=Decimal("0.0001"))
    m = Market.from_frames(INTERLEAVED, instruments={"AAPL": custom})
    assert m.instruments["AAPL"].tick_size == Decimal("0.0001")
    assert m.instruments["EUR/USD"].tick_size == Decimal("0.00001")


def test_unrecognisable_symbols_and_orphan_trades_are_explained():
    with pytest.raises(DataError, match=r"no recognisable form.*instruments="):
        Market.from_frames(quotes([("not a symbol", 0, 1.0, 1.1)]))
    with pytest.raises(DataError, match="trades for MSFT have no quotes"):
        Market.from_frames(INTERLEAVED, trades([("MSFT", 0, 10.0, 1)]))


def test_unknown_symbol_lists_the_known_ones():
    m = Market.from_frames(INTERLEAVED)
    with pytest.raises(DataError, match=r"'TSLA'.*AAPL, EUR/USD"):
        m.trades_for("TSLA")
    with pytest.raises(DataError, match="TSLA"):
        m.quote_arrays("TSLA")


def test_arrays_are_cached_and_read_only():
    m = Market.from_frames(INTERLEAVED)
    assert m.quote_arrays("AAPL") is m.quote_arrays("AAPL")
    assert not m.quote_arrays("AAPL").ask.flags.writeable
    with pytest.raises(AttributeError):
        m.quote_arrays("AAPL").ask = np.zeros(2)  # frozen dataclass


def test_volume_profile_by_count_and_by_width():
    m = Market(
        quotes([("AAPL", 0, 10.0, 10.01)]),
        trades([("AAPL", 1, 10.0, 30), ("AAPL", 61, 10.0, 10), ("AAPL", 119, 10.0, 60)]),
        session_open=T0,
        session_close=T0 + pd.Timedelta(minutes=3),
    )
    by_width = m.volume_profile("AAPL", "1min")
    assert by_width.tolist() == pytest.approx([0.3, 0.7, 0.0])
    assert by_width.index[1] == T0 + pd.Timedelta(minutes=1)
    assert m.volume_profile("AAPL", 3).tolist() == pytest.approx([0.3, 0.7, 0.0])
    flat = Market(quotes([("AAPL", 0, 10.0, 10.01)]), session_open=T0, session_close=T0 + pd.Timedelta("1h"))
    assert flat.volume_profile("AAPL", 4).tolist() == [0.25] * 4
    with pytest.raises(DataError, match="at least 1"):
        m.volume_profile("AAPL", 0)


def test_repr_is_a_short_summary():
    text = repr(Market.from_frames(INTERLEAVED))
    assert text.startswith("Market(2 symbols: AAPL, EUR/USD; 4 quotes, 0 trades;")
    assert "\n" not in text
