"""A fake of Alpha Vantage's ``/query`` API for ``TIME_SERIES_INTRADAY`` and ``TIME_SERIES_DAILY``.

As the vendor answers: every reply is HTTP 200, errors included. ``{"Meta Data": {"1. Information", "2. Symbol",
...}, "Time Series (5min)": {"2026-03-02 15:55:00": {"1. open": "190.1200", ...}}}`` with numbered keys, string
values, naive US/Eastern times, newest first; ``{"Error Message": "Invalid API call..."}`` for an unknown symbol
or function, ``{"Error Message": "the parameter apikey is invalid or missing..."}`` for a bad key, and the
rate-limit notes: ``{"Information": "...1 request per second..."}`` for a burst (``faults.limit_next``), ``{"Information":
"...25 requests per day..."}`` once the daily cap (``daily_limit``) is spent, which echoes the key as the vendor's
does, and the legacy ``{"Note": "...5 calls per minute..."}`` (``legacy_notes=True``). Intraday takes
``month=YYYY-MM`` and ``outputsize=compact|full``; daily ``compact`` is the latest 100 sessions.

    python -m ntlab.market.fakes.alphavantage --port 8772
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from aiohttp import web

from ntlab.market import calendar
from ntlab.market.bars import Interval
from ntlab.market.fakes.server import FakeServer, json_response, serve_main

FAKE_KEY = "FAKEALPHAKEY"  # the fake's published demo key; not a secret
INTERVALS = {
    "1min": Interval(1, "min"),
    "5min": Interval(5, "min"),
    "15min": Interval(15, "min"),
    "30min": Interval(30, "min"),
    "60min": Interval(60, "min"),
}
DOCS = "https://www.alphavantage.co/documentation/"


def burst_note() -> str:
    return (
        "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly "
        "(1 request per second). You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
        "to lift the free key rate limit (25 requests per day), raise the per-second burst limit, and instantly unlock "
        "all premium endpoints"
    )


def daily_note(key: str) -> str:
    return (
        f"We have detected your API key as {key} and our standard API rate limit is 25 requests per day. Please "
        "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily "
        "rate limits."
    )


MINUTE_NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per "
    "day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency."
)


class FakeAlphaVantage(FakeServer):
    """``async with FakeAlphaVantage() as fake:``; ``fake.base_url + "/query"`` is the endpoint."""

    vendor: ClassVar[str] = "alphavantage"
    default_port: ClassVar[int] = 8772

    def __init__(
        self,
        *,
        key: str = FAKE_KEY,
        daily_limit: int | None = None,
        legacy_notes: bool = False,
        first_day: Any = "2025-12-01",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.key = key
        self.daily_limit = daily_limit
        self.legacy_notes = legacy_notes
        self.first_day = pd.Timestamp(first_day).date()
        self.now: pd.Timestamp | None = None
        self.used_today = 0

    def banner(self) -> list[str]:
        return [f"ALPHAVANTAGE_API_KEY={self.key}  ALPHAVANTAGE_BASE_URL={self.base_url}/query"]

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/query", self._query)

    def key_of(self, request: web.Request) -> str:
        return request.query.get("apikey", "")

    def rate_limited(self, request: web.Request) -> web.StreamResponse:
        note = {"Note": MINUTE_NOTE} if self.legacy_notes else {"Information": burst_note()}
        return json_response(note)

    def _present(self) -> pd.Timestamp:
        return self.now if self.now is not None else pd.Timestamp.now(tz="UTC")

    async def _query(self, request: web.Request) -> web.Response:
        q = request.query
        function = q.get("function", "")
        if q.get("apikey") != self.key:
            return json_response(
                {
                    "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on "
                    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
                }
            )
        if self.daily_limit is not None:
            if self.used_today >= self.daily_limit:
                return json_response({"Information": daily_note(q["apikey"])})
            self.used_today += 1
        invalid = {
            "Error Message": f"Invalid API call. Please retry or visit the documentation ({DOCS}) for {function}."
        }
        symbol = q.get("symbol", "")
        if function not in ("TIME_SERIES_INTRADAY", "TIME_SERIES_DAILY") or not self.tape.knows(symbol):
            return json_response(invalid)
        if function == "TIME_SERIES_DAILY":
            return self._daily(symbol, q.get("outputsize", "compact"))
        interval = INTERVALS.get(q.get("interval", ""))
        if interval is None:
            return json_response(invalid)
        return self._intraday(
            symbol, q.get("interval", ""), interval, q.get("month"), q.get("outputsize", "compact")
        )

    def _intraday(
        self, symbol: str, label: str, interval: Interval, month: str | None, size: str
    ) -> web.Response:
        now = self._present()
        if month:
            try:
                first = pd.Timestamp(f"{month}-01")
            except ValueError:
                return json_response(
                    {
                        "Error Message": f"Invalid API call. Please retry or visit the documentation ({DOCS}) for TIME_SERIES_INTRADAY."
                    }
                )
            start = calendar.day_start(first.date())
            end = calendar.day_start((first + pd.offsets.MonthBegin(1)).date())
        else:
            end = now
            start = calendar.day_start(calendar.previous_trading_days(calendar.exchange_day(now), 30)[0])
        frame = self.tape.bars(symbol, interval, int(start.value), int(min(end, now).value))
        frame = frame.iloc[::-1]
        if size != "full":
            frame = frame.iloc[:100]
        series = self._series(frame, "%Y-%m-%d %H:%M:%S")
        last = next(iter(series), "")
        meta = {
            "1. Information": f"Intraday ({label}) open, high, low, close prices and volume",
            "2. Symbol": symbol,
            "3. Last Refreshed": last,
            "4. Interval": label,
            "5. Output Size": "Full size" if size == "full" else "Compact",
            "6. Time Zone": "US/Eastern",
        }
        return json_response({"Meta Data": meta, f"Time Series ({label})": series})

    def _daily(self, symbol: str, size: str) -> web.Response:
        today = calendar.exchange_day(self._present())
        days = calendar.trading_days(self.first_day, today)
        if size != "full":
            days = days[-100:]
        if not days:
            frame = pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]")})
        else:
            frame = self.tape.bars(
                symbol, Interval(1, "D"), int(calendar.day_start(days[0]).value), int(self._present().value)
            )
        series = self._series(frame.iloc[::-1], "%Y-%m-%d")
        meta = {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": next(iter(series), ""),
            "4. Output Size": "Full size" if size == "full" else "Compact",
            "5. Time Zone": "US/Eastern",
        }
        return json_response({"Meta Data": meta, "Time Series (Daily)": series})

    def _series(self, frame: pd.DataFrame, layout: str) -> dict[str, dict[str, str]]:
        if frame.empty:
            return {}
        local = pd.DatetimeIndex(frame["time"]).tz_convert("America/New_York").strftime(layout)
        return {
            stamp: {
                "1. open": f"{o:.4f}",
                "2. high": f"{h:.4f}",
                "3. low": f"{lo:.4f}",
                "4. close": f"{c:.4f}",
                "5. volume": f"{v:.0f}",
            }
            for stamp, o, h, lo, c, v in zip(
                local,
                frame["open"],
                frame["high"],
                frame["low"],
                frame["close"],
                frame["volume"],
                strict=True,
            )
        }


def main(argv: list[str] | None = None) -> None:
    serve_main(
        lambda a: FakeAlphaVantage(
            seed=a.seed, per_minute=a.per_minute or None, port=a.port or FakeAlphaVantage.default_port
        ),
        "Serve a fake Alpha Vantage /query API on 127.0.0.1",
        argv,
    )


if __name__ == "__main__":
    main()
