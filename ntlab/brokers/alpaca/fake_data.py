"""The fake Alpaca's market data: the market-data fake of ``ntlab.market`` serving the engine's own market.

Alpaca serves data from hosts of its own (``data.alpaca.markets`` and the quote stream on
``stream.data.alpaca.markets/v2/{feed}``), so the broker fake starts the market-data fake
(:class:`~ntlab.market.fakes.alpaca.FakeAlpacaData`: its REST history, latest quotes and stream handshake)
on a port of its own, with the same keys, reading the engine's market instead of its own sample tape and
moving with the engine's clock: every quote the engine fills against is the quote the stream sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ntlab.brokers.alpaca.fake_account import tradable
from ntlab.market.bars import Interval, bars_from_trades
from ntlab.market.fakes.alpaca import FakeAlpacaData
from ntlab.market.frames import Market
from ntlab.testing import FakeEngine


class MarketTape:
    """A market's quotes, trades and bars, sliced by time as the market-data fake asks for them."""

    def __init__(self, market: Market) -> None:
        self.market = market

    def knows(self, symbol: str) -> bool:
        return symbol in self.market.instruments and tradable(symbol)

    @staticmethod
    def _slice(frame: pd.DataFrame, start_ns: int, end_ns: int) -> pd.DataFrame:
        ns = frame["time"].array.asi8
        a, b = np.searchsorted(ns, [start_ns, end_ns])
        return frame.iloc[a:b].drop(columns="symbol", errors="ignore").reset_index(drop=True)

    def _frame(self, symbol: str, kind: str) -> pd.DataFrame:
        if not self.knows(symbol):
            return pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
        return self.market.quotes_for(symbol) if kind == "quotes" else self.market.trades_for(symbol)

    def quotes(self, symbol: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        return self._slice(self._frame(symbol, "quotes"), start_ns, end_ns)

    def trades(self, symbol: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        return self._slice(self._frame(symbol, "trades"), start_ns, end_ns)

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> pd.DataFrame:
        trades = self._frame(symbol, "trades")
        bars = bars_from_trades(trades, interval) if len(trades) else trades
        return self._slice(bars, start_ns, end_ns)

    def last_quote(self, symbol: str, at: pd.Timestamp) -> pd.Series | None:
        frame = self._frame(symbol, "quotes")
        i = int(np.searchsorted(frame["time"].array.asi8, at.value, side="right")) - 1
        return None if i < 0 else frame.drop(columns="symbol", errors="ignore").iloc[i]


class FakeData(FakeAlpacaData):
    """Alpaca's market-data API for the broker fake's engine: ``base_url`` (REST) and ``stream_url``."""

    def __init__(self, engine: FakeEngine, *, key_id: str, secret_key: str, **options: Any) -> None:
        super().__init__(key_id=key_id, secret_key=secret_key, **options)
        self.tape = MarketTape(engine.market)  # type: ignore[assignment]
        self.now = pd.Timestamp(engine.now())
        self.stream_clock = self.now
        engine.on_clock(self.follow)

    async def follow(self, before: datetime, after: datetime) -> None:
        """The engine's clock moved: serve what is known at ``after`` and stream the quotes in between."""
        self.now = pd.Timestamp(after)
        self.stream_clock = pd.Timestamp(before)
        if self._clients:
            await self.publish((after - before).total_seconds())
        self.stream_clock = self.now
