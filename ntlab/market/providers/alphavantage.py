"""Alpha Vantage: intraday (1, 5, 15, 30, 60 min) and daily bars from ``/query``.

- Key: ``ALPHAVANTAGE_API_KEY``. Alpha Vantage takes it in the query string and echoes it in its rate-limit
  notes, so every URL, error and log line ntlab shows has it replaced by ``***``.
- Everything comes back as HTTP 200, errors too: ``Error Message`` (unknown symbol or function, bad key) and
  the ``Information`` / ``Note`` rate-limit texts become ntlab errors or waits, never an empty frame. A "1 request
  per second" or "per minute" note waits and asks again; the daily cap (25 requests on the free plan) raises
  :class:`~ntlab.errors.ProviderRateLimited` at once, since only tomorrow helps.
- Intraday comes a calendar month per request (``month=YYYY-MM``, ``outputsize=full``), so a week costs one or two
  requests; daily bars come in one (``compact``, the latest 100 sessions, when that covers the range, else ``full``,
  which the free plan may refuse as premium).
- Times are US/Eastern without a zone; ntlab makes them UTC. Bars are as traded (``adjusted=false``); no VWAP or
  trade count (NaN). Stocks only.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ntlab.errors import DataError, ProviderError, ProviderRateLimited
from ntlab.market import calendar
from ntlab.market.bars import Interval
from ntlab.market.keys import MarketSettings, require, secret
from ntlab.market.providers.base import Kind, empty_rows, is_equity, rows
from ntlab.market.providers.http import Answer, HttpClient, redact
from ntlab.market.providers.web import HttpProvider

BASE_URL = "https://www.alphavantage.co/query"
MINUTES = (1, 5, 15, 30, 60)


class AlphaVantageData(HttpProvider):
    """``AlphaVantageData()`` reads ``ALPHAVANTAGE_API_KEY``. Bars only: ``bars(symbols, start, end, "5min")``."""

    name: ClassVar[str] = "alphavantage"
    serves: ClassVar[frozenset[Kind]] = frozenset({Kind.BARS})
    concurrency: ClassVar[int] = 1  # the free plan's burst limit is one request a second
    key_variable: ClassVar[str] = "ALPHAVANTAGE_API_KEY"

    def __init__(
        self,
        api_key: Any = None,
        *,
        base_url: str | None = None,
        requests_per_minute: float | None = 60,
        burst_wait: float = 1.5,
        minute_wait: float = 60.0,
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
        settings = MarketSettings()
        self._key = require(
            secret(api_key) or settings.alphavantage_api_key, "Alpha Vantage", "ALPHAVANTAGE_API_KEY"
        )
        url = (base_url or settings.alphavantage_base_url or BASE_URL).rstrip("/?")
        self.base_url = url if url.endswith("/query") else f"{url}/query"
        self.burst_wait = burst_wait
        self.minute_wait = minute_wait

    def __repr__(self) -> str:
        return f"AlphaVantageData({self.base_url}, api_key=***)"

    def check_interval(self, interval: Interval) -> None:
        minutes = interval.count * (60 if interval.unit == "h" else 1)
        if interval.daily or (interval.unit in ("min", "h") and minutes in MINUTES):
            return
        raise DataError(
            f"Alpha Vantage has no {interval.label} bars; use 1min, 5min, 15min, 30min, 60min or 1D"
        )

    def span(self, kind: Kind, interval: Interval | None) -> int:
        return 100_000 if interval is None or interval.daily else 31

    def same_request(self, first: date, day: date) -> bool:
        return (first.year, first.month) == (day.year, day.month)

    def _session(self) -> HttpClient:
        key = self._key.get_secret_value()
        return self._client(
            self.base_url,
            key,
            check=self._check,
            params={"apikey": key},
            secrets=[key],
            backoff=self.burst_wait,
            burst=1,
        )

    def _check(self, answer: Answer) -> float | None:
        if answer.status >= 500:
            return self.burst_wait
        if answer.status != 200:
            raise ProviderError(f"Alpha Vantage answered HTTP {answer.status}: {answer.text(200)}")
        body = answer.json()
        if not isinstance(body, dict) or not body:
            raise ProviderError(f"Alpha Vantage sent no data ({answer.text(120)!r}); try again later")
        key = self._key.get_secret_value()
        if "Error Message" in body:
            said = redact(str(body["Error Message"]), [key])
            if "apikey" in said.lower():
                raise ProviderError(f"Alpha Vantage refused the API key: {said} (ALPHAVANTAGE_API_KEY)")
            raise ProviderError(f"Alpha Vantage: {said}")
        note = body.get("Information") or body.get("Note")
        if note is None:
            return None
        said = redact(str(note), [key])
        lowered = said.lower()
        if "per second" in lowered or "sparingly" in lowered:
            return self.burst_wait
        if "per minute" in lowered:
            return self.minute_wait
        if "per day" in lowered:
            raise ProviderRateLimited(f"Alpha Vantage's daily request cap is spent: {said}", retry_after=None)
        raise ProviderError(f"Alpha Vantage: {said}")

    async def _fetch(
        self, http: Any, kind: Kind, symbol: str, start_ns: int, end_ns: int, interval: Interval | None
    ) -> pd.DataFrame:
        assert interval is not None
        if not is_equity(symbol):
            raise ProviderError(f"AlphaVantageData serves stock bars; {symbol} is not a stock")
        if interval.daily:
            first = calendar.exchange_day(pd.Timestamp(start_ns, tz="UTC"))
            recent = calendar.previous_trading_days(calendar.exchange_day(self.now()), 100)[0]
            params = {
                "function": "TIME_SERIES_DAILY",
                "symbol": symbol,
                "outputsize": "compact" if first >= recent else "full",
            }
            field = "Time Series (Daily)"
        else:
            minutes = interval.count * (60 if interval.unit == "h" else 1)
            month = calendar.exchange_day(pd.Timestamp(start_ns, tz="UTC")).strftime("%Y-%m")
            params = {
                "function": "TIME_SERIES_INTRADAY",
                "symbol": symbol,
                "interval": f"{minutes}min",
                "month": month,
                "outputsize": "full",
                "extended_hours": "true",
                "adjusted": "false",
                "datatype": "json",
            }
            field = f"Time Series ({minutes}min)"
        body = (await http.get("", params)).json()
        frame = parse_series(body.get(field) or {}, interval.daily)
        ns = frame["time"].array.asi8
        return frame[(ns >= start_ns) & (ns < end_ns)].reset_index(drop=True)


def parse_series(series: dict[str, dict[str, str]], daily: bool = False) -> pd.DataFrame:
    """``{"2026-03-02 15:55:00": {"1. open": ...}}`` (newest first, naive US/Eastern) as bars in UTC, oldest first."""
    if not series:
        return empty_rows(Kind.BARS)
    stamps = pd.to_datetime(list(series), format="%Y-%m-%d" if daily else "%Y-%m-%d %H:%M:%S")
    times = pd.DatetimeIndex(stamps).tz_localize(calendar.EXCHANGE_TZ, ambiguous="NaT", nonexistent="NaT")
    values = np.array(
        [(v["1. open"], v["2. high"], v["3. low"], v["4. close"], v["5. volume"]) for v in series.values()],
        dtype="float64",
    )
    frame = rows(
        Kind.BARS,
        times.tz_convert("UTC").as_unit("ns").asi8,
        open=values[:, 0],
        high=values[:, 1],
        low=values[:, 2],
        close=values[:, 3],
        volume=values[:, 4],
    )
    return frame[frame["time"].notna()].reset_index(drop=True)
