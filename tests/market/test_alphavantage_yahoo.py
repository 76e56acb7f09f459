"""Alpha Vantage and Yahoo (bars only) through their fakes: months and chunks, HTTP-200 errors, notes, 429s."""

from __future__ import annotations

import asyncio
import logging

import pandas as pd
import pytest

from ntlab.errors import DataError, ProviderError, ProviderRateLimited
from ntlab.market.fakes.alphavantage import FakeAlphaVantage
from ntlab.market.fakes.yahoo import FakeYahoo
from ntlab.market.providers.alphavantage import AlphaVantageData
from ntlab.market.providers.yahoo import YahooData
from tests.market.conftest import FRIDAY, MONDAY, NOW, assert_same_rows

OHLCV = ["open", "high", "low", "close", "volume"]


def alphavantage(fake: FakeAlphaVantage, cache=None, **options) -> AlphaVantageData:
    options.setdefault("burst_wait", 0.01)
    options.setdefault("minute_wait", 0.01)
    return AlphaVantageData(fake.key, base_url=fake.base_url, cache=cache, now=NOW, progress=False, **options)


def yahoo(fake: FakeYahoo, cache=None, **options) -> YahooData:
    return YahooData(base_url=fake.base_url, cache=cache, now=NOW, progress=False, rate_wait=0.01, **options)


# --- Alpha Vantage -------------------------------------------------------------------------------------------------
async def test_intraday_comes_a_month_per_request_and_matches_the_tape(alphavantage_fake, sample, cache):
    av = alphavantage(alphavantage_fake, cache)
    bars = await av.abars("AAPL", FRIDAY, MONDAY, "5min")
    assert_same_rows(bars, await sample.abars("AAPL", FRIDAY, MONDAY, "5min"), OHLCV, decimals=4)
    assert [p.split("month=")[1][:7] for p in alphavantage_fake.paths] == ["2026-02", "2026-03"]
    assert bars["vwap"].isna().all()  # Alpha Vantage sends none: NaN, not 0
    asked = alphavantage_fake.requests
    await alphavantage(alphavantage_fake, cache).abars("AAPL", FRIDAY, MONDAY, "5min")
    assert alphavantage_fake.requests == asked


async def test_daily_bars_compact_and_a_holiday(alphavantage_fake, sample):
    av = alphavantage(alphavantage_fake)
    bars = await av.abars("MSFT", "2026-02-13", "2026-02-17", "1D")  # Presidents' Day, 16 February, between
    assert [str(t.date()) for t in pd.DatetimeIndex(bars["time"]).tz_convert("America/New_York")] == [
        "2026-02-13",
        "2026-02-17",
    ]
    assert_same_rows(bars, await sample.abars("MSFT", "2026-02-13", "2026-02-17", "1D"), OHLCV, decimals=4)
    assert "outputsize=compact" in alphavantage_fake.paths[0]


async def test_http_200_errors_become_ntlab_errors_not_empty_frames(alphavantage_fake):
    av = alphavantage(alphavantage_fake)
    with pytest.raises(ProviderError, match="Invalid API call"):
        await av.abars("ZZZZ", MONDAY, interval="5min")
    with pytest.raises(ProviderError, match="ALPHAVANTAGE_API_KEY"):
        await AlphaVantageData("wrong", base_url=alphavantage_fake.base_url, cache=None).abars(
            "AAPL", MONDAY, interval="5min"
        )
    with pytest.raises(ProviderError, match="has no trades"):
        await av.atrades("AAPL", MONDAY)
    with pytest.raises(DataError, match="no 2min bars"):
        await av.abars("AAPL", MONDAY, interval="2min")


async def test_a_burst_note_mid_download_waits_and_resumes(alphavantage_fake, sample):
    av = alphavantage(alphavantage_fake)
    alphavantage_fake.faults.limit_next(2, after=1)  # the March request is told to slow down, twice
    bars = await av.abars("NVDA", FRIDAY, MONDAY, "15min")
    assert_same_rows(bars, await sample.abars("NVDA", FRIDAY, MONDAY, "15min"), OHLCV, decimals=4)
    assert av.stats.retries == 2 and alphavantage_fake.requests == 4


async def test_the_legacy_per_minute_note_waits_too(alphavantage_fake):
    alphavantage_fake.legacy_notes = True
    alphavantage_fake.faults.limit_next(1)
    av = alphavantage(alphavantage_fake)
    assert len(await av.abars("SPY", MONDAY, interval="30min")) == 13
    assert av.stats.retries == 1 and av.stats.waited >= 0.01


async def test_the_daily_cap_raises_at_once_without_the_key_the_vendor_echoes(alphavantage_fake, caplog):
    alphavantage_fake.daily_limit = 1
    av = alphavantage(alphavantage_fake)
    caplog.set_level(logging.DEBUG)
    await av.abars("AAPL", MONDAY, interval="60min")
    with pytest.raises(ProviderRateLimited, match="daily request cap") as capped:
        await av.abars("MSFT", MONDAY, interval="60min")
    assert alphavantage_fake.key not in str(capped.value) and "***" in str(capped.value)
    assert alphavantage_fake.requests == 2  # no retry: waiting cannot help today
    assert alphavantage_fake.key not in caplog.text  # httpx logs every URL, and this key rides in the query


async def test_the_alpha_vantage_library_reads_the_fake(alphavantage_fake, monkeypatch):
    timeseries = pytest.importorskip("alpha_vantage.timeseries")
    from alpha_vantage.alphavantage import AlphaVantage

    monkeypatch.setattr(AlphaVantage, "_ALPHA_VANTAGE_API_URL", f"{alphavantage_fake.base_url}/query?")

    def read():
        client = timeseries.TimeSeries(alphavantage_fake.key, output_format="pandas")
        data, meta = client.get_intraday("AAPL", interval="5min", month="2026-03", outputsize="full")
        with pytest.raises(ValueError, match="Invalid API call"):
            client.get_intraday("ZZZZ", interval="5min")
        return data, meta

    data, meta = await asyncio.to_thread(read)
    assert meta["2. Symbol"] == "AAPL" and meta["6. Time Zone"] == "US/Eastern"
    ours = await alphavantage(alphavantage_fake).abars("AAPL", "2026-03-02", "2026-03-09", "5min")
    assert len(data) == len(ours) and list(data.columns) == [
        "1. open",
        "2. high",
        "3. low",
        "4. close",
        "5. volume",
    ]
    assert sorted(data["4. close"].round(4))[:5] == sorted(ours["close"].round(4))[:5]


# --- Yahoo ---------------------------------------------------------------------------------------------------------
async def test_yahoo_bars_match_the_tape_and_minute_bars_come_a_week_at_a_time(yahoo_fake, sample):
    yh = yahoo(yahoo_fake)
    bars = await yh.abars("AAPL", "2026-02-23", "2026-03-06", "1min")
    assert_same_rows(bars, await sample.abars("AAPL", "2026-02-23", "2026-03-06", "1min"), OHLCV, decimals=4)
    assert yahoo_fake.requests == 2  # Yahoo gives 1m bars 8 days a request: two requests for two weeks
    daily = await yh.abars("BRK.B", "2026-02-23", "2026-02-27", "1D")
    assert len(daily) == 5 and yahoo_fake.paths[-1].startswith("/v8/finance/chart/BRK-B")
    assert (pd.DatetimeIndex(daily["time"]).tz_convert("America/New_York").hour == 0).all()


async def test_yahoo_errors_holidays_and_cache(yahoo_fake, cache):
    yh = yahoo(yahoo_fake, cache)
    with pytest.raises(ProviderError, match="does not know the symbol 'ZZZZ'"):
        await yh.abars("ZZZZ", MONDAY, interval="5min")
    with pytest.raises(ProviderError, match="within the last 60 days"):
        await yh.abars("AAPL", "2025-10-01", "2025-10-02", "5min")
    assert (await yh.abars("AAPL", "2026-01-19", interval="5min")).empty  # a holiday: no request, no rows
    before = yahoo_fake.requests
    await yh.abars("AAPL", FRIDAY, MONDAY, "5min")
    await yahoo(yahoo_fake, cache).abars("AAPL", FRIDAY, MONDAY, "5min")
    assert yahoo_fake.requests == before + 1


async def test_yahoo_429_mid_download_waits_and_resumes(yahoo_fake, sample):
    yh = yahoo(yahoo_fake)
    yahoo_fake.faults.limit_next(1, after=1)
    bars = await yh.abars(["AAPL", "MSFT"], "2026-02-17", "2026-03-06", "1min")
    expected = await sample.abars(["AAPL", "MSFT"], "2026-02-17", "2026-03-06", "1min")
    assert_same_rows(bars, expected, OHLCV, decimals=4)
    assert yh.stats.retries == 1 and yahoo_fake.faults.refused == 1
    with pytest.raises(ProviderError, match="has no quotes"):
        await yh.alatest_quote("AAPL")
