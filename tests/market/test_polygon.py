"""PolygonData through the fake Polygon: pagination, cache, empty ranges, holidays, unknown tickers, 429s."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from ntlab.errors import ConfigError, ProviderError
from ntlab.market.fakes.polygon import FakePolygon
from ntlab.market.providers.polygon import MASSIVE_URL, POLYGON_URL, PolygonData
from tests.market.conftest import FRIDAY, MONDAY, NOW, assert_same_rows

QUOTE_COLUMNS = ["bid", "ask", "bid_size", "ask_size"]


def provider(fake: FakePolygon, cache=None, **options) -> PolygonData:
    options.setdefault("rate_wait", 0.01)
    return PolygonData(
        api_key=fake.key, base_url=fake.base_url, cache=cache, now=NOW, progress=False, **options
    )


async def test_quotes_across_pages_match_the_tape_row_for_row(polygon_fake, sample):
    polygon = provider(polygon_fake, page_limit=5000)
    quotes = await polygon.aquotes("AAPL", MONDAY)
    expected = await sample.aquotes("AAPL", MONDAY)
    assert_same_rows(quotes, expected, QUOTE_COLUMNS)
    assert polygon_fake.requests == 5  # 23,400 one-second quotes in pages of 5,000
    assert sum("cursor=" in p for p in polygon_fake.paths) == 4
    assert quotes["time"].is_monotonic_increasing and quotes["time"].is_unique
    assert str(quotes["time"].dtype) == "datetime64[ns, UTC]"


async def test_bars_and_trades_match_the_tape(polygon_fake, sample):
    polygon = provider(polygon_fake)
    bars = await polygon.abars(["AAPL", "MSFT"], FRIDAY, MONDAY, "5min")
    expected = await sample.abars(["AAPL", "MSFT"], FRIDAY, MONDAY, "5min")
    assert_same_rows(bars, expected, ["open", "high", "low", "close", "volume", "trade_count"])
    assert list(bars["symbol"].cat.categories) == ["AAPL", "MSFT"]
    trades = await polygon.atrades("NVDA", MONDAY)
    assert_same_rows(trades, await sample.atrades("NVDA", MONDAY), ["price", "size"])


async def test_a_second_request_is_answered_from_the_cache_without_any_network_call(polygon_fake, cache):
    polygon = provider(polygon_fake, cache)
    first = await polygon.aquotes(["AAPL", "MSFT"], FRIDAY, MONDAY)
    asked = polygon_fake.requests
    assert asked > 0
    again = await provider(polygon_fake, cache).aquotes(["AAPL", "MSFT"], FRIDAY, MONDAY)
    assert polygon_fake.requests == asked
    pd.testing.assert_frame_equal(first, again)
    assert sorted(cache.days("polygon", "quotes", "AAPL")) == [
        pd.Timestamp(FRIDAY).date(),
        pd.Timestamp(MONDAY).date(),
    ]
    # part of a cached range costs nothing either, and refresh asks again
    await polygon.aquotes("AAPL", "2026-03-02 15:00", "2026-03-02 15:05")
    assert polygon_fake.requests == asked
    await polygon.aquotes("AAPL", MONDAY, refresh=True)
    assert polygon_fake.requests == asked + 1


async def test_only_the_missing_days_are_fetched(polygon_fake, cache):
    polygon = provider(polygon_fake, cache)
    await polygon.atrades("AAPL", MONDAY)
    polygon_fake.paths.clear()
    await polygon.atrades("AAPL", FRIDAY, MONDAY)
    assert len(polygon_fake.paths) == 1 and "timestamp.gte=1772168400000000000" in polygon_fake.paths[0]


async def test_an_empty_range_is_an_empty_frame_and_a_weekend_costs_no_request(polygon_fake, cache):
    polygon = provider(polygon_fake, cache)
    weekend = await polygon.aquotes("AAPL", "2026-02-28", "2026-03-01")
    assert weekend.empty and list(weekend.columns) == ["symbol", "time", "bid", "ask", "bid_size", "ask_size"]
    assert polygon_fake.requests == 0
    before_open = await polygon.atrades(
        "AAPL", "2026-03-02 10:00", "2026-03-02 14:00"
    )  # pre-market: no prints
    assert before_open.empty and polygon_fake.requests >= 1


async def test_a_holiday_has_no_rows_and_alone_costs_no_request(polygon_fake, cache, sample):
    polygon = provider(polygon_fake, cache)
    assert (await polygon.abars("AAPL", "2026-01-19", interval="1min")).empty  # Martin Luther King Jr. Day
    assert polygon_fake.requests == 0
    bars = await polygon.abars("AAPL", "2026-01-16", "2026-01-20", "1h")
    days = set(pd.DatetimeIndex(bars["time"]).tz_convert("America/New_York").date)
    assert {str(d) for d in days} == {"2026-01-16", "2026-01-20"}
    assert_same_rows(
        bars, await sample.abars("AAPL", "2026-01-16", "2026-01-20", "1h"), ["open", "close", "volume"]
    )
    assert polygon_fake.requests == 1  # Friday to Tuesday in one aggregates request


async def test_an_unknown_ticker_is_an_error_and_leaves_nothing_in_the_cache(polygon_fake, cache):
    polygon = provider(polygon_fake, cache)
    with pytest.raises(ProviderError, match="does not know the symbol 'ZZZZ'"):
        await polygon.aquotes("ZZZZ", MONDAY)
    assert "/v3/reference/tickers/ZZZZ" in polygon_fake.paths[-1]
    assert cache.days("polygon", "quotes", "ZZZZ") == []


async def test_a_rate_limit_mid_download_waits_and_resumes_with_nothing_lost_or_doubled(polygon_fake, sample):
    polygon = provider(polygon_fake, page_limit=4000)
    polygon_fake.faults.limit_next(2, after=2)  # pages 1-2 pass, the next two asks get a 429
    quotes = await polygon.aquotes("MSFT", MONDAY)
    assert_same_rows(quotes, await sample.aquotes("MSFT", MONDAY), QUOTE_COLUMNS)
    assert polygon_fake.faults.refused == 2
    assert polygon.stats.retries == 2
    assert (
        polygon_fake.paths[2] == polygon_fake.paths[3] == polygon_fake.paths[4]
    )  # the same page, asked again


async def test_the_token_bucket_spaces_requests_for_every_caller_of_a_key(polygon_fake):
    polygon = provider(polygon_fake, requests_per_minute=600)  # one a tenth of a second, burst of 60
    from ntlab.market.ratelimit import bucket_for

    bucket = bucket_for("polygon", polygon_fake.key, 600)
    bucket.configure(600, burst=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(
        polygon.atrades("AAPL", MONDAY),
        provider(polygon_fake, requests_per_minute=600).atrades("MSFT", MONDAY),
    )
    assert polygon_fake.requests == 2
    assert bucket.waited > 0.05 and loop.time() - started >= 0.09
    bucket.configure(None)


async def test_quote_sizes_before_the_switch_to_shares_come_in_round_lots(polygon_fake, sample):
    polygon = provider(polygon_fake)
    quotes = await polygon.aquotes("AAPL", "2025-10-31")  # the fake sends lots, as Polygon did then
    assert_same_rows(quotes, await sample.aquotes("AAPL", "2025-10-31"), QUOTE_COLUMNS)


async def test_refusals_become_errors_that_say_what_to_do(polygon_fake):
    wrong = PolygonData(api_key="not-the-key", base_url=polygon_fake.base_url, cache=None, now=NOW)
    with pytest.raises(ProviderError, match="POLYGON_API_KEY") as refused:
        await wrong.atrades("AAPL", MONDAY)
    assert "not-the-key" not in str(refused.value)
    polygon_fake.entitled = {"aggs"}
    with pytest.raises(ProviderError, match="plan does not include"):
        await provider(polygon_fake).aquotes("AAPL", MONDAY)


async def test_latest_quote_is_an_ntlab_quote(polygon_fake):
    quote = await provider(polygon_fake).alatest_quote("AAPL")
    assert quote.symbol == "AAPL" and quote.bid < quote.ask and quote.bid_size > 0
    assert quote.time <= NOW.to_pydatetime()


def test_hosts_old_and_new_and_a_missing_key(monkeypatch):
    monkeypatch.delenv("POLYGON_BASE_URL", raising=False)
    assert PolygonData(api_key="k", cache=None).base_url == MASSIVE_URL
    assert PolygonData(api_key="k", cache=None, host="polygon").base_url == POLYGON_URL
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="POLYGON_API_KEY"):
        PolygonData(cache=None)
    monkeypatch.setenv("MASSIVE_API_KEY", "from-env")
    assert PolygonData(cache=None)._key.get_secret_value() == "from-env"


async def test_the_vendors_own_clients_read_the_fake(polygon_fake):
    """massive (the new package) and polygon-api-client (the old one) page through the fake on their own."""
    massive = pytest.importorskip("massive")
    polygon = pytest.importorskip("polygon")
    start = pd.Timestamp("2026-03-02 14:30", tz="UTC").value
    end = pd.Timestamp("2026-03-02 15:30", tz="UTC").value

    def read() -> tuple[list, list, object]:
        new = massive.RESTClient(api_key=polygon_fake.key, base=polygon_fake.base_url, retries=0)
        old = polygon.RESTClient(api_key=polygon_fake.key, base=polygon_fake.base_url, retries=0)
        quotes = list(new.list_quotes("AAPL", timestamp_gte=start, timestamp_lt=end, order="asc", limit=1000))
        aggs = list(old.list_aggs("AAPL", 1, "minute", "2026-03-02", "2026-03-02", limit=50))
        return quotes, aggs, new.get_last_quote("AAPL")

    quotes, aggs, last = await asyncio.to_thread(read)
    ours = await provider(polygon_fake).aquotes("AAPL", "2026-03-02 14:30", "2026-03-02 15:30")
    assert len(quotes) == len(ours) == 3600  # four pages of 1,000 followed by the SDK's own next_url handling
    assert [q.bid_price for q in quotes] == ours["bid"].tolist()
    assert [q.sip_timestamp for q in quotes] == list(pd.DatetimeIndex(ours["time"]).asi8)
    assert (
        len(aggs) == 390
        and aggs[0].timestamp == pd.Timestamp("2026-03-02 14:30", tz="UTC").value // 1_000_000
    )
    assert last.bid_price < last.ask_price


async def test_the_key_reaches_neither_the_cache_nor_the_frames_nor_the_logs(polygon_fake, cache, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    polygon = provider(polygon_fake, cache)
    frame = await polygon.abars("AAPL", FRIDAY, MONDAY, "15min")
    key = polygon_fake.key.encode()
    files = [p for p in cache.root.rglob("*") if p.is_file()]
    assert files and not any(key in p.read_bytes() or key.decode() in str(p) for p in files)
    assert polygon_fake.key not in frame.to_csv() + repr(frame.attrs) + repr(polygon) + caplog.text
