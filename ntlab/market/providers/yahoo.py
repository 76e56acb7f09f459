"""Yahoo Finance bars, read from Yahoo's chart endpoint (``/v8/finance/chart/{symbol}``) directly.

Why not yfinance: it has no setting for its host (``query1``/``query2.finance.yahoo.com`` are written into several
of its modules and its cookie-and-crumb dance), it needs curl_cffi to impersonate a browser, and by default it
answers failures with an empty frame and a log line, which here must be an error. The chart endpoint is the one
yfinance itself reads for prices, needs no key and no crumb, and takes a base URL (``YAHOO_BASE_URL``) so a fake
can stand in for it.

Unofficial and rate-limited per IP: research data only. A 429 (plain ``Too Many Requests``) waits and asks
again. Intraday history is short (1m: 8 days a request within the last 30; other minute bars: the last 60 days;
1h: two years): Yahoo's 422 becomes a ProviderError with its reason. No VWAP or trade count (NaN); bars as traded.
Symbols as ntlab spells them (``BRK.B``, ``BTC/USD``, ``EUR/USD``) become Yahoo's (``BRK-B``, ``BTC-USD``, ``EURUSD=X``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ntlab.core.instruments import AssetKind, classify_symbol
from ntlab.errors import DataError, ProviderError
from ntlab.market import calendar
from ntlab.market.bars import Interval
from ntlab.market.keys import MarketSettings
from ntlab.market.providers.base import Kind, empty_rows, rows
from ntlab.market.providers.http import Answer, HttpClient, retry_after
from ntlab.market.providers.web import HttpProvider

BASE_URL = "https://query2.finance.yahoo.com"
INTERVALS = {
    (1, "min"): "1m",
    (2, "min"): "2m",
    (5, "min"): "5m",
    (15, "min"): "15m",
    (30, "min"): "30m",
    (60, "min"): "60m",
    (90, "min"): "90m",
    (1, "h"): "1h",
    (1, "D"): "1d",
}
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) ntlab"


class YahooData(HttpProvider):
    """``YahooData()``: bars only, no key. ``bars(["AAPL"], start, end, "5min")``."""

    name: ClassVar[str] = "yahoo"
    serves: ClassVar[frozenset[Kind]] = frozenset({Kind.BARS})
    concurrency: ClassVar[int] = 2

    def __init__(
        self,
        *,
        base_url: str | None = None,
        requests_per_minute: float | None = 60,
        rate_wait: float = 5.0,
        retries: int = 6,
        timeout: float = 30.0,
        transport: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(
            requests_per_minute=requests_per_minute,
            retries=retries,
            timeout=timeout,
            transport=transport,
            **options,
        )
        self.base_url = (base_url or MarketSettings().yahoo_base_url or BASE_URL).rstrip("/")
        self.rate_wait = rate_wait

    def __repr__(self) -> str:
        return f"YahooData({self.base_url})"

    def vendor_symbol(self, symbol: str) -> str:
        kind = classify_symbol(symbol)
        if kind is AssetKind.CRYPTO:
            return symbol.replace("/", "-")
        if kind is AssetKind.FX:
            return symbol.replace("/", "") + "=X"
        return symbol.replace(".", "-")

    def check_interval(self, interval: Interval) -> None:
        if (interval.count, interval.unit) not in INTERVALS:
            raise DataError(
                f"Yahoo has no {interval.label} bars; use one of 1min 2min 5min 15min 30min 60min 90min 1h 1D"
            )

    def span(self, kind: Kind, interval: Interval | None) -> int:
        assert interval is not None
        if interval.daily:
            return 3650
        if (interval.count, interval.unit) == (1, "min"):
            return 7
        return 729 if interval.unit == "h" or interval.count == 60 else 59

    def _session(self) -> HttpClient:
        return self._client(
            self.base_url,
            "anonymous",
            check=self._check,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            backoff=min(self.rate_wait, 1.0),
        )

    def _check(self, answer: Answer) -> float | None:
        if answer.status == 200:
            return None
        if answer.status == 429 or "Too Many Requests" in answer.text(100):
            return retry_after(answer.headers, self.rate_wait)
        if answer.status >= 500:
            return min(self.rate_wait, 2.0)
        if answer.status == 404:
            return None  # the symbol: the caller says which
        error = ((answer.json() or {}).get("chart") or {}).get("error") or {}
        said = error.get("description") or answer.text(200)
        raise ProviderError(f"Yahoo refused the request (HTTP {answer.status}: {said})")

    async def _fetch(
        self, http: Any, kind: Kind, symbol: str, start_ns: int, end_ns: int, interval: Interval | None
    ) -> pd.DataFrame:
        assert interval is not None
        ticker = self.vendor_symbol(symbol)
        params = {
            "period1": start_ns // 1_000_000_000,
            "period2": -(-end_ns // 1_000_000_000),
            "interval": INTERVALS[(interval.count, interval.unit)],
            "includePrePost": "true",
            "events": "div,splits",
        }
        answer = await http.get(f"/v8/finance/chart/{ticker}", params)
        if answer.status == 404:
            raise ProviderError(
                f"Yahoo does not know the symbol {symbol!r} (asked as {ticker!r}): no data found"
            )
        result = (((answer.json() or {}).get("chart") or {}).get("result") or [None])[0]
        if result is None:
            raise ProviderError(f"Yahoo answered without a result for {ticker}: {answer.text(200)}")
        frame = parse_chart(result, interval.daily)
        ns = frame["time"].array.asi8
        return frame[(ns >= start_ns) & (ns < end_ns)].reset_index(drop=True)


def parse_chart(result: dict[str, Any], daily: bool = False) -> pd.DataFrame:
    """One chart result as bars; ``null`` bars dropped; daily bars moved to midnight New York."""
    stamps = result.get("timestamp") or []
    quote = ((result.get("indicators") or {}).get("quote") or [{}])[0]
    if not stamps or not quote:
        return empty_rows(Kind.BARS)

    def column(name: str) -> np.ndarray:
        return np.array(
            [np.nan if v is None else v for v in quote.get(name) or [None] * len(stamps)], dtype="float64"
        )

    ns = np.asarray(stamps, dtype="int64") * 1_000_000_000
    if daily:
        local = (
            pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(calendar.EXCHANGE_TZ)
        )
        ns = local.normalize().tz_convert("UTC").as_unit("ns").asi8
    frame = rows(
        Kind.BARS,
        ns,
        open=column("open"),
        high=column("high"),
        low=column("low"),
        close=column("close"),
        volume=column("volume"),
    )
    return frame[frame["close"].notna()].reset_index(drop=True)
