"""AlpacaData through the fake Alpaca data API: REST pages, the cache, errors, 429s, and the quote stream."""

from __future__ import annotations

import asyncio
import contextlib

import pandas as pd
import pytest

from ntlab.core import Quote
from ntlab.errors import DataError, ProviderError
from ntlab.market.fakes.alpaca import FakeAlpacaData
from ntlab.market.providers.alpaca import AlpacaData, LatestQuotes
from tests.market.conftest import FRIDAY, MONDAY, NOW, assert_same_rows


def provider(fake: FakeAlpacaData, cache=None, **options) -> AlpacaData:
    options.setdefault("max_wait", 0.05)
    options.setdefault("rate_wait", 0.01)
    return AlpacaData(
        fake.key_id,
        fake.secret_key,
        data_url=fake.base_url,
        stream_url=fake.stream_url,
        cache=cache,
        now=NOW,
        progress=False,
        **options,
    )


async def test_quotes_and_trades_across_pages_match_the_tape(alpaca_fake, sample):
    alpaca = provider(alpaca_fake, page_limit=6000)
    quotes = await alpaca.aquotes("AAPL", MONDAY)
    assert_same_rows(quotes, await sample.aquotes("AAPL", MONDAY), ["bid", "ask", "bid_size", "ask_size"])
    assert alpaca_fake.requests == 4 and sum("page_token=" in p for p in alpaca_fake.paths) == 3
    trades = await alpaca.atrades("MSFT", FRIDAY, MONDAY)
    assert_same_rows(trades, await sample.atrades("MSFT", FRIDAY, MONDAY), ["price", "size"])


async def test_bars_in_alpacas_timeframes(alpaca_fake, sample):
    alpaca = provider(alpaca_fake)
    bars = await alpaca.abars(["SPY", "AAPL"], FRIDAY, MONDAY, "15min")
    assert_same_rows(
        bars, await sample.abars(["SPY", "AAPL"], FRIDAY, MONDAY, "15min"), ["open", "close", "volume"]
    )
    assert any("timeframe=15Min" in p for p in alpaca_fake.paths)
    with pytest.raises(DataError, match="smallest bar is 1min"):
        await alpaca.abars("AAPL", MONDAY, interval="30s")


async def test_cache_and_refresh(alpaca_fake, cache):
    alpaca = provider(alpaca_fake, cache)
    first = await alpaca.abars("AAPL", FRIDAY, MONDAY, "1min")
    asked = alpaca_fake.requests
    pd.testing.assert_frame_equal(
        first, await provider(alpaca_fake, cache).abars("AAPL", FRIDAY, MONDAY, "1min")
    )
    assert alpaca_fake.requests == asked
    await alpaca.abars("AAPL", FRIDAY, MONDAY, "1min", refresh=True)
    assert alpaca_fake.requests > asked


async def test_empty_range_holiday_and_unknown_symbol(alpaca_fake, cache):
    alpaca = provider(alpaca_fake, cache)
    assert (await alpaca.aquotes("AAPL", "2026-04-03")).empty and alpaca_fake.requests == 0  # Good Friday
    evening = await alpaca.atrades("AAPL", "2026-03-02 22:00", "2026-03-02 23:00")
    assert evening.empty and alpaca_fake.requests == 4  # the whole day is fetched (four pages) and kept
    assert len(cache.read("alpaca", "trades", "AAPL", pd.Timestamp(MONDAY).date())) == 30_523
    assert (
        await alpaca.atrades("AAPL", "2026-03-02 14:30", "2026-03-02 14:31")
    ).size and alpaca_fake.requests == 4
    with pytest.raises(ProviderError, match="does not know the symbol 'ZZZZ'"):
        await alpaca.atrades("ZZZZ", MONDAY)
    assert "/v2/stocks/quotes/latest" in alpaca_fake.paths[-1]
    with pytest.raises(ProviderError, match="serves stocks"):
        await alpaca.aquotes("BTC/USD", MONDAY)


async def test_a_429_mid_download_waits_for_the_reset_and_resumes(alpaca_fake, sample):
    alpaca = provider(alpaca_fake, page_limit=5000)
    alpaca_fake.faults.limit_next(1, after=2)
    quotes = await alpaca.aquotes("NVDA", MONDAY)
    assert_same_rows(quotes, await sample.aquotes("NVDA", MONDAY), ["bid", "ask", "bid_size", "ask_size"])
    assert alpaca_fake.faults.refused == 1 and alpaca.stats.retries == 1
    assert alpaca_fake.paths[2] == alpaca_fake.paths[3]


async def test_wrong_keys_are_refused_without_showing_them(alpaca_fake):
    wrong = AlpacaData("nope", "also-nope", data_url=alpaca_fake.base_url, cache=None, now=NOW)
    with pytest.raises(ProviderError, match="APCA_API_KEY_ID") as refused:
        await wrong.abars("AAPL", MONDAY)
    assert "also-nope" not in str(refused.value) and "also-nope" not in repr(wrong)


async def test_latest_quote(alpaca_fake):
    quote = await provider(alpaca_fake).alatest_quote("MSFT")
    assert isinstance(quote, Quote) and quote.bid < quote.ask


async def test_the_stream_yields_quotes_and_reconnects_after_a_drop(alpaca_fake, sample):
    alpaca = provider(alpaca_fake)
    async with LatestQuotes(alpaca, ["AAPL", "MSFT"]) as book:
        for _ in range(200):
            if alpaca_fake._clients and all(c.subscribed["quotes"] for c in alpaca_fake._clients):
                break
            await asyncio.sleep(0.01)
        alpaca_fake.stream_clock = pd.Timestamp("2026-03-02 14:30", tz="UTC")
        assert await alpaca_fake.publish(3) == 6
        quote = await book.wait_for("MSFT", 5)
        expected = (await sample.aquotes("MSFT", "2026-03-02 14:30:03", "2026-03-02 14:30:04")).iloc[0]
        assert quote.time == expected["time"].to_pydatetime() and float(quote.bid) == expected["bid"]
        assert book.last_quote("AAPL") is not None and book.last_quote("NVDA") is None
        alpaca_fake.drop_streams()
        for _ in range(300):
            if (
                alpaca_fake.stream_connections == 2
                and alpaca_fake._clients
                and all(c.subscribed["quotes"] for c in alpaca_fake._clients)
            ):
                break
            await asyncio.sleep(0.01)
        await alpaca_fake.publish(2)
        for _ in range(300):
            if book.received >= 10:
                break
            await asyncio.sleep(0.01)
        assert book.received == 10
        assert book.last_quote("AAPL").time == pd.Timestamp("2026-03-02 14:30:05", tz="UTC").to_pydatetime()


async def test_stream_refusals_raise(alpaca_fake):
    wrong = AlpacaData(
        "nope", "nope", stream_url=alpaca_fake.stream_url, data_url=alpaca_fake.base_url, cache=None
    )
    with pytest.raises(ProviderError, match="auth failed"):
        async for _ in wrong.stream_quotes("AAPL"):
            pass
    first = provider(alpaca_fake).stream_quotes("AAPL")
    task = asyncio.ensure_future(first.__anext__())
    for _ in range(3000):  # a loaded machine can take seconds to get the first stream authenticated
        if alpaca_fake._clients:
            break
        await asyncio.sleep(0.01)
    assert alpaca_fake._clients, "the first stream never connected"
    async with asyncio.timeout(60):
        with pytest.raises(ProviderError, match="connection limit exceeded"):
            async for _ in provider(alpaca_fake).stream_quotes("MSFT"):
                pass
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await task
    await first.aclose()


async def test_alpaca_py_reads_the_fake_rest_api(alpaca_fake):
    pytest.importorskip("alpaca")
    from alpaca.data.enums import DataFeed
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest, StockQuotesRequest
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    def read():
        client = StockHistoricalDataClient(
            alpaca_fake.key_id, alpaca_fake.secret_key, url_override=alpaca_fake.base_url
        )
        start, end = pd.Timestamp("2026-03-02 14:30", tz="UTC"), pd.Timestamp("2026-03-02 17:30", tz="UTC")
        bars = client.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["AAPL", "MSFT"],
                timeframe=TimeFrame(5, TimeFrameUnit.Minute),
                start=start,
                end=end,
                feed=DataFeed.IEX,
            )
        )
        quotes = client.get_stock_quotes(
            StockQuotesRequest(symbol_or_symbols="AAPL", start=start, end=end, feed=DataFeed.IEX)
        )
        latest = client.get_stock_latest_quote(
            StockLatestQuoteRequest(symbol_or_symbols="AAPL", feed=DataFeed.IEX)
        )
        return bars, quotes, latest

    bars, quotes, latest = await asyncio.to_thread(read)
    ours = await provider(alpaca_fake).abars(["AAPL", "MSFT"], "2026-03-02 14:30", "2026-03-02 17:30", "5min")
    assert len(bars["AAPL"]) == len(bars["MSFT"]) == 37  # Alpaca's end is inclusive: the 17:30 bar too
    assert [b.close for b in bars["AAPL"]][:36] == ours[ours["symbol"] == "AAPL"]["close"].tolist()
    assert len(quotes["AAPL"]) == 10_801  # end is inclusive at Alpaca; pages of 10,000 joined by the SDK
    assert latest["AAPL"].bid_price < latest["AAPL"].ask_price


async def test_alpaca_py_reads_the_fake_stream_in_msgpack(alpaca_fake):
    pytest.importorskip("alpaca")
    from alpaca.data.live import StockDataStream

    stream = StockDataStream(alpaca_fake.key_id, alpaca_fake.secret_key, url_override=alpaca_fake.stream_url)
    received = []

    async def on_quote(quote):
        received.append(quote)

    stream.subscribe_quotes(on_quote, "AAPL")
    runner = asyncio.ensure_future(stream._run_forever())
    for _ in range(300):
        if alpaca_fake._clients and all(c.subscribed["quotes"] for c in alpaca_fake._clients):
            break
        await asyncio.sleep(0.01)
    assert all(c.packed for c in alpaca_fake._clients)
    alpaca_fake.stream_clock = pd.Timestamp("2026-03-02 14:30", tz="UTC")
    await alpaca_fake.publish(4)
    for _ in range(300):
        if len(received) == 4:
            break
        await asyncio.sleep(0.01)
    await stream.stop_ws()
    await asyncio.wait_for(runner, 10)
    assert [q.symbol for q in received] == ["AAPL"] * 4
    assert received[0].timestamp == pd.Timestamp("2026-03-02 14:30:01", tz="UTC").to_pydatetime()
