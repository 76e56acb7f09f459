"""The Alpaca streams' handshakes against a server that accepts the websocket and then says nothing.

A silent server must end the wait within the timeout (so the stream reconnects or the caller hears of it),
and a cancel that arrives while the handshake waits must end it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import websockets
from pydantic import SecretStr

from ntlab.brokers.alpaca.stream import TradeStream
from ntlab.errors import ProviderError
from ntlab.market.providers.alpaca import AlpacaData

# keys as long as real ones: they are registered for redaction, and a short one would mask text other tests print
KEY, SECRET = "PKHANDSHAKETIMEOUT0001", "handshake-timeout-secret-0123456789abcdef"


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """A websocket server that accepts and never answers."""

    async def hold(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.wait_closed()

    async with websockets.serve(hold, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def _trade_stream(url: str, timeout: float) -> TradeStream:
    async def nothing(*_: object) -> None:
        return None

    return TradeStream(url, KEY, SecretStr(SECRET), nothing, nothing, open_timeout=timeout)


async def test_trade_stream_handshake_times_out_on_a_silent_server(silent_url: str) -> None:
    stream = await _trade_stream(silent_url, 0.2)
    async with websockets.connect(silent_url) as ws:
        async with asyncio.timeout(5):
            with pytest.raises(TimeoutError):
                await stream._handshake(ws)


async def test_trade_stream_handshake_ends_at_once_when_cancelled(silent_url: str) -> None:
    stream = await _trade_stream(silent_url, 30.0)
    async with websockets.connect(silent_url) as ws:
        task = asyncio.create_task(stream._handshake(ws))
        await asyncio.sleep(0.05)
        task.cancel()
        async with asyncio.timeout(5):
            with pytest.raises(asyncio.CancelledError):
                await task


def _data(url: str, timeout: float) -> AlpacaData:
    return AlpacaData(KEY, SECRET, data_url="http://127.0.0.1:9", stream_url=url, timeout=timeout)


async def test_quote_stream_handshake_times_out_on_a_silent_server(silent_url: str) -> None:
    stream = _data(silent_url, 0.2).stream_quotes(["AAPL"], reconnect=False)
    async with asyncio.timeout(5):
        with pytest.raises(ProviderError, match="TimeoutError"):
            await anext(stream)


async def test_quote_stream_handshake_ends_at_once_when_cancelled(silent_url: str) -> None:
    data = _data(silent_url, 30.0)
    async with websockets.connect(silent_url) as ws:
        task = asyncio.create_task(data._handshake(ws, ["AAPL"]))
        await asyncio.sleep(0.05)
        task.cancel()
        async with asyncio.timeout(5):
            with pytest.raises(asyncio.CancelledError):
                await task
