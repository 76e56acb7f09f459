import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

from ntlab.errors import DataError
from ntlab.market import load_market, load_quotes, load_trades, sample_market

BASE = pd.Timestamp("2026-03-02 14:30", tz="UTC")


def quote_frame(**columns):
    frame = {
        "symbol": ["AAPL", "AAPL"],
        "time": ["2026-03-02 14:30:00", "2026-03-02 14:30:01"],
        "bid": [10.0, 10.01],
        "ask": [10.02, 10.03],
        "bid_size": [100, 200],
        "ask_size": [300, 400],
    }
    frame.update(columns)
    return pd.DataFrame(frame)


@pytest.fixture(scope="module")
def small():
    m = sample_market(symbols=["AAPL", "BTC/USD", "EUR/USD"])
    q = pd.concat([m.quotes_for(s).head(300) for s in m.symbols], ignore_index=True)
    t = pd.concat([m.trades_for(s).head(300) for s in m.symbols], ignore_index=True)
    return q, t


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".csv.gz"])
def test_round_trip_through_files(tmp_path, small, suffix):
    q, t = small
    write = "to_parquet" if suffix == ".parquet" else "to_csv"
    kwargs = {} if suffix == ".parquet" else {"index": False}
    getattr(q, write)(tmp_path / f"q{suffix}", **kwargs)
    getattr(t, write)(tmp_path / f"t{suffix}", **kwargs)
    m = load_market(quotes=tmp_path / f"q{suffix}", trades=str(tmp_path / f"t{suffix}"))
    pd.testing.assert_frame_equal(m.quotes, q, check_categorical=False)
    pd.testing.assert_frame_equal(m.trades, t, check_categorical=False)
    assert m.symbols == ["AAPL", "BTC/USD", "EUR/USD"]
    assert m.instruments["BTC/USD"].kind == "crypto"
    assert m.session_open == q["time"].min()


def test_interleaved_symbols_are_grouped_keeping_time_order(small):
    q, _ = small
    interleaved = q.sort_values("time", kind="stable").reset_index(drop=True)
    loaded = load_quotes(interleaved)
    pd.testing.assert_frame_equal(loaded, q, check_categorical=False)


@pytest.mark.parametrize(
    "times",
    [
        [BASE.value // 10**9, BASE.value // 10**9 + 1],  # epoch seconds
        [BASE.value // 10**6, BASE.value // 10**6 + 1000],  # epoch milliseconds
        [BASE.value, BASE.value + 10**9],  # epoch nanoseconds
        [float(BASE.value // 10**9), BASE.value / 1e9 + 1],  # float seconds
        ["2026-03-02 14:30:00", "2026-03-02 14:30:01"],  # naive ISO: UTC
        ["2026-03-02T09:30:00-05:00", "2026-03-02T14:30:01Z"],  # offsets: converted
        pd.to_datetime(["2026-03-02 14:30:00", "2026-03-02 14:30:01"]),  # naive datetimes
        pd.to_datetime(["2026-03-02 09:30:00", "2026-03-02 09:30:01"]).tz_localize("America/New_York"),
        pd.to_datetime(["2026-03-02 14:30:00", "2026-03-02 14:30:01"]).as_unit("s"),
    ],
)
def test_time_columns_in_every_form(times):
    q = load_quotes(quote_frame(time=times))
    assert q["time"].dtype == "datetime64[ns, UTC]"
    assert q["time"].tolist() == [BASE, BASE + pd.Timedelta(seconds=1)]
    assert q["bid_size"].dtype == "float64"


def test_missing_columns_name_what_is_missing_and_what_was_found():
    with pytest.raises(
        DataError, match=r"missing column\(s\) bid_size, ask_size; found symbol, time, bid, ask"
    ):
        load_quotes(quote_frame().drop(columns=["bid_size", "ask_size"]))
    with pytest.raises(DataError, match=r"trades: missing column\(s\) size; found symbol, time, price"):
        load_trades(pd.DataFrame({"symbol": ["AAPL"], "time": [BASE], "price": [1.0]}))


def test_unsorted_times_name_the_symbol_and_the_row():
    frame = pd.DataFrame(
        {
            "symbol": ["MSFT", "AAPL", "MSFT", "AAPL", "AAPL"],
            "time": ["14:30:00", "14:30:00", "14:30:01", "14:30:05", "14:30:02"],
            "price": [1.0] * 5,
            "size": [1.0] * 5,
        }
    )
    frame["time"] = "2026-03-02 " + frame["time"]
    with pytest.raises(DataError, match=r"times for AAPL go backwards at row 4 .*sort"):
        load_trades(frame)


def test_equal_times_are_allowed():
    loaded = load_trades(
        pd.DataFrame({"symbol": ["AAPL"] * 2, "time": [BASE] * 2, "price": [1.0, 2.0], "size": 1})
    )
    assert len(loaded) == 2


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"bid": [10.0, 0.0]}, r"1 rows have a non-positive bid or ask \(first at row 1\)"),
        ({"ask": [-1.0, 10.03]}, r"non-positive bid or ask \(first at row 0\)"),
        ({"ask_size": [300, -1]}, r"negative size \(first at row 1\)"),
        ({"bid": [10.0, np.nan]}, r"1 rows have no bid or an infinite one \(first at row 1\)"),
        ({"ask": [10.02, np.inf]}, "infinite"),
        ({"bid": ["10.0", "ten"]}, r"column 'bid' has non-numeric values"),
        ({"time": ["2026-03-02 14:30", "not a time"]}, "not times"),
        ({"time": [BASE, pd.NaT]}, r"1 rows have no time \(first at row 1\)"),
        ({"time": [True, False]}, "not times"),
        ({"symbol": ["AAPL", None]}, r"1 rows have no symbol \(first at row 1\)"),
    ],
)
def test_bad_quotes_are_explained(columns, message):
    with pytest.raises(DataError, match=message):
        load_quotes(quote_frame(**columns))


def test_crossed_quotes_are_refused_or_dropped():
    crossed = quote_frame(bid=[10.0, 10.05])
    with pytest.raises(DataError, match=r"1 rows have bid above ask \(first at row 1\).*drop_crossed=True"):
        load_quotes(crossed)
    kept = load_quotes(crossed, drop_crossed=True)
    assert kept["bid"].tolist() == [10.0]
    assert len(load_market(crossed, drop_crossed=True).quotes) == 1
    locked = load_quotes(quote_frame(bid=[10.02, 10.01]))
    assert len(locked) == 2


def test_bad_trades_are_explained():
    frame = pd.DataFrame(
        {"symbol": ["AAPL"] * 2, "time": [BASE] * 2, "price": [1.0, 0.0], "size": [1.0, 1.0]}
    )
    with pytest.raises(DataError, match=r"non-positive price or a negative size \(first at row 1\)"):
        load_trades(frame)


def test_row_numbers_are_the_callers_labels():
    frame = quote_frame(bid=[10.0, -1.0]).set_axis([100, 101])
    with pytest.raises(DataError, match="first at row 101"):
        load_quotes(frame)


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(DataError, match="no file at"):
        load_trades(tmp_path / "missing.csv")
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(DataError, match=r"neither \.csv nor \.parquet"):
        load_trades(tmp_path / "t.json")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"cannot read .*broken\.parquet"):
        load_quotes(tmp_path / "broken.parquet")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"cannot read .*empty\.csv"):
        load_quotes(tmp_path / "empty.csv")
    with pytest.raises(DataError, match="expected a CSV/Parquet path or a DataFrame"):
        load_quotes(42)  # type: ignore[arg-type]


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "q.parquet"
    quote_frame().to_parquet(path)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    with pytest.raises(DataError, match=r'pip install "ntlab\[data\]"'):
        load_quotes(path)
    quote_frame().to_csv(tmp_path / "q.csv", index=False)
    assert len(load_quotes(tmp_path / "q.csv")) == 2


def test_the_callers_frame_is_left_alone():
    frame = quote_frame()
    before = frame.copy()
    load_quotes(frame)
    pd.testing.assert_frame_equal(frame, before)


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hpd.data_frames(
        [
            hpd.column("symbol", elements=st.sampled_from(["AAPL", "MSFT", "BTC/USD", "bad symbol", ""])),
            hpd.column(
                "time", elements=st.one_of(st.integers(0, 2**62), st.datetimes(), st.text(max_size=12))
            ),
            hpd.column("bid", elements=values),
            hpd.column("ask", elements=values),
            hpd.column("bid_size", elements=st.floats(-1, 1e6)),
            hpd.column("ask_size", elements=st.floats(-1, 1e6)),
        ]
    ),
    st.booleans(),
)
def test_loaders_load_or_explain(frame, drop_crossed):
    try:
        market = load_market(frame, drop_crossed=drop_crossed)
    except DataError as error:
        assert str(error)
        return
    q = market.quotes
    assert q["time"].dtype == "datetime64[ns, UTC]"
    assert (q["bid"] > 0).all() and (q["bid"] <= q["ask"]).all() and np.isfinite(q["ask"]).all()
    for symbol in market.symbols:
        assert market.quotes_for(symbol)["time"].is_monotonic_increasing


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["AAPL", "EUR/USD"]),
            st.integers(1_700_000_000, 1_700_000_100),
            st.floats(-5, 500),
            st.floats(0, 1e4),
        ),
        max_size=20,
    )
)
def test_trade_loader_loads_or_explains(rows):
    frame = pd.DataFrame(rows, columns=["symbol", "time", "price", "size"])
    try:
        trades = load_trades(frame)
    except DataError as error:
        assert str(error)
        return
    assert len(trades) == len(frame) and (trades["price"] > 0).all()
