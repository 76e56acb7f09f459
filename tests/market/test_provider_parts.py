"""The parts under every provider: trading calendar, ranges, the Parquet cache, token buckets, secrets."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import date

import pandas as pd
import pytest

from ntlab.errors import ConfigError, DataError
from ntlab.market import calendar
from ntlab.market.bars import parse_interval
from ntlab.market.cache import ParquetCache
from ntlab.market.keys import MarketSettings
from ntlab.market.providers.base import time_range
from ntlab.market.providers.http import redact, register_secret
from ntlab.market.ratelimit import TokenBucket, bucket_for


def test_nyse_holidays_2026_with_observed_days():
    assert sorted(calendar.nyse_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 4, 3),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),
        date(2026, 9, 7),
        date(2026, 11, 26),
        date(2026, 12, 25),
    ]  # 4 July 2026 is a Saturday: Friday the 3rd is closed
    assert date(2022, 1, 1) not in calendar.nyse_holidays(2022) and date(
        2021, 12, 31
    ) not in calendar.nyse_holidays(2021)
    assert date(2025, 1, 9) in calendar.nyse_holidays(2025)  # a national day of mourning
    assert calendar.previous_trading_days(date(2026, 4, 6), 3) == [
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 6),
    ]
    open_, close = calendar.regular_session(date(2026, 7, 1))
    assert (str(open_), str(close)) == ("2026-07-01 13:30:00+00:00", "2026-07-01 20:00:00+00:00")  # EDT


def test_ranges_dates_are_whole_new_york_days_times_are_instants():
    start, end = time_range("2026-03-02")
    assert pd.Timestamp(start, tz="UTC") == pd.Timestamp("2026-03-02 05:00", tz="UTC")
    assert end - start == 86_400 * 10**9
    start, end = time_range("2026-03-02 14:30", "2026-03-02 15:00")  # naive times are UTC, end excluded
    assert (end - start) // 10**9 == 1800
    with pytest.raises(DataError, match="give an end"):
        time_range("2026-03-02 14:30")
    with pytest.raises(DataError, match="empty"):
        time_range("2026-03-03", "2026-03-02")
    assert parse_interval("5m").label == parse_interval("5 minutes").label == "5min"
    assert parse_interval("day").label == "1D" and parse_interval("1hour").label == "1h"
    with pytest.raises(DataError, match="bar size"):
        parse_interval("fortnight")


def test_cache_round_trip_empty_partitions_and_no_temporary_files(tmp_path):
    cache = ParquetCache(tmp_path)
    day = date(2026, 3, 2)
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-03-02 14:30"], utc=True).as_unit("ns"),
            "price": [1.5],
            "size": [100.0],
        }
    )
    cache.write("polygon", "trades", "BTC/USD", day, frame)
    cache.write("polygon", "trades", "AAPL", day, frame.iloc[:0])
    pd.testing.assert_frame_equal(cache.read("polygon", "trades", "BTC/USD", day), frame)
    assert cache.read("polygon", "trades", "AAPL", day).empty and cache.has("polygon", "trades", "AAPL", day)
    assert cache.symbols("polygon", "trades") == ["AAPL", "BTC/USD"]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    (cache.path("polygon", "trades", "AAPL", day)).write_bytes(b"not parquet")
    with pytest.raises(DataError, match="refresh=True"):
        cache.read("polygon", "trades", "AAPL", day)
    assert cache.clear("polygon") == 2 and cache.size() == 0


def test_the_size_cap_evicts_the_least_recently_read_partitions(tmp_path):
    cache = ParquetCache(tmp_path, max_bytes=None)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2026-03-02", periods=2000, freq="s", tz="UTC").as_unit("ns"),
            "price": 1.0,
            "size": 1.0,
        }
    )
    days = [date(2026, 3, d) for d in (2, 3, 4)]
    for i, day in enumerate(days):
        cache.write("sample", "trades", "AAPL", day, frame)
        stamp = 1_700_000_000 + i * 100
        os.utime(cache.path("sample", "trades", "AAPL", day), (stamp, stamp))
    cache.read("sample", "trades", "AAPL", days[0])  # read last: the oldest write is now the freshest use
    one = cache.path("sample", "trades", "AAPL", days[0]).stat().st_size
    cache.max_bytes = int(one * 2.5)
    cache.write("sample", "trades", "AAPL", date(2026, 3, 5), frame)
    assert cache.days("sample", "trades", "AAPL") == [days[0], date(2026, 3, 5)]
    assert cache.size() <= cache.max_bytes


async def test_a_token_bucket_spaces_requests_and_a_pause_holds_everyone():
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(60, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        await bucket.acquire()
    assert now[0] == pytest.approx(3.0)  # two at once, then one a second
    bucket.pause(10)
    await bucket.acquire()
    assert now[0] == pytest.approx(13.0)
    unlimited = TokenBucket(None, clock=lambda: now[0], sleep=sleep)
    await asyncio.gather(*(unlimited.acquire() for _ in range(100)))
    assert now[0] == pytest.approx(13.0)


def test_one_bucket_per_key_and_the_key_kept_only_as_a_hash():
    from ntlab.market import ratelimit

    a = bucket_for("polygon", "key-one", 5)
    assert bucket_for("polygon", "key-one", 5) is a and bucket_for("polygon", "key-two", 5) is not a
    assert bucket_for("polygon", "key-one", 10) is a and a.per_minute == 10  # the plan changed, for everyone
    assert not any("key-one" in digest for _, digest in ratelimit._BUCKETS)


def test_settings_read_keys_as_secrets_and_never_show_them(monkeypatch):
    monkeypatch.setenv("POLYGON_API_KEY", "pk-123456")
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.setenv("BROKER_API_KEY", "broker-key-id")
    monkeypatch.setenv("BROKER_SECRET_KEY", "broker-secret-999")
    settings = MarketSettings()
    assert settings.polygon_api_key.get_secret_value() == "pk-123456"
    assert (
        settings.alpaca_secret_key.get_secret_value() == "broker-secret-999"
    )  # the broker's keys, as a fallback
    shown = repr(settings) + str(settings) + repr(settings.model_dump())
    assert "pk-123456" not in shown and "broker-secret-999" not in shown
    monkeypatch.setenv("APCA_API_KEY_ID", "data-only-id")
    assert MarketSettings().alpaca_key_id.get_secret_value() == "data-only-id"


def test_redaction_in_text_and_logs(caplog):
    register_secret("s3cr3t-value")
    assert redact("GET /query?apikey=s3cr3t-value&x=1") == "GET /query?apikey=***&x=1"
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").info(
        'HTTP Request: GET %s "HTTP/1.1 200 OK"', "http://h/q?apikey=s3cr3t-value"
    )
    assert "s3cr3t-value" not in caplog.text and "apikey=***" in caplog.text


def test_a_missing_key_names_the_variable(monkeypatch):
    from ntlab.market import get_provider

    for name in ("ALPHAVANTAGE_API_KEY", "APCA_API_KEY_ID", "BROKER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="ALPHAVANTAGE_API_KEY"):
        get_provider("alphavantage", cache=None)
    with pytest.raises(ConfigError, match="APCA_API_KEY_ID"):
        get_provider("alpaca", cache=None)
    with pytest.raises(ConfigError, match="choose from"):
        get_provider("bloomberg")
