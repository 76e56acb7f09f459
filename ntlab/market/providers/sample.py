"""The offline provider: the seeded sample market, a session for every trading day, through the same interface.

It needs no key and no network, so ``lab.history(...)`` on a sample-market session and the examples work on a
fresh machine. It is also what the vendor fakes serve, so a provider and its fake can be compared row for row.
No cache by default: generating a day is faster than reading it back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import pandas as pd

from ntlab.market import calendar
from ntlab.market.bars import Interval, bars_from_trades
from ntlab.market.providers.base import DataProvider, Kind, decimal, empty_rows
from ntlab.market.sample import SPECS, sample_session


class SampleData(DataProvider):
    """``SampleData(seed=7)``: the sample market's quotes, trades and bars for any dates."""

    name: ClassVar[str] = "sample"

    def __init__(self, seed: int = 7, *, cache: Any = None, **options: Any) -> None:
        super().__init__(cache=cache, **options)
        self.seed = seed

    def __repr__(self) -> str:
        return f"SampleData(seed={self.seed})"

    def span(self, kind: Kind, interval: Interval | None) -> int:
        return 366

    async def _fetch(
        self, http: Any, kind: Kind, symbol: str, start_ns: int, end_ns: int, interval: Interval | None
    ) -> pd.DataFrame:
        if symbol not in SPECS:
            return empty_rows(kind)
        first = calendar.exchange_day(pd.Timestamp(start_ns, tz="UTC"))
        last = calendar.exchange_day(pd.Timestamp(end_ns - 1, tz="UTC"))
        parts = []
        for day in calendar.days_between(first, last):
            session = sample_session(symbol, day, self.seed)
            if session is None:
                continue
            quotes, trades = session
            if kind is Kind.QUOTES:
                parts.append(quotes)
            elif kind is Kind.TRADES:
                parts.append(trades)
            else:
                assert interval is not None
                parts.append(bars_from_trades(trades, interval))
        if not parts:
            return empty_rows(kind)
        frame = pd.concat(parts, ignore_index=True)
        ns = frame["time"].array.asi8
        return frame[(ns >= start_ns) & (ns < end_ns)].reset_index(drop=True)

    async def _known(self, http: Any, symbol: str) -> bool:
        return symbol in SPECS

    async def _latest_quote(self, http: Any, symbol: str) -> Any:
        from ntlab.core import Quote
        from ntlab.errors import ProviderError

        if symbol not in SPECS:
            raise ProviderError(f"the sample market has no {symbol}; it has {', '.join(SPECS)}")
        day = calendar.exchange_day(self.now())
        for _ in range(10):
            session = sample_session(symbol, day, self.seed)
            if session is not None:
                last = session[0].iloc[-1]
                return Quote(
                    symbol=symbol,
                    time=last["time"].to_pydatetime(),
                    bid=decimal(float(last["bid"])),
                    ask=decimal(float(last["ask"])),
                    bid_size=decimal(float(last["bid_size"])),
                    ask_size=decimal(float(last["ask_size"])),
                )
            day -= timedelta(days=1)
        raise ProviderError(f"no sample session for {symbol} in the ten days before {day}")
