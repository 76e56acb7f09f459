"""A fake of Yahoo Finance's chart endpoint, ``/v8/finance/chart/{symbol}``, the one yfinance reads too.

``period1``/``period2`` (epoch seconds) or ``range``, ``interval`` (1m 2m 5m 15m 30m 60m 90m 1h 1d),
``includePrePost``. The answer is ``{"chart": {"result": [{"meta": {...}, "timestamp": [...], "indicators":
{"quote": [{"open", "high", "low", "close", "volume"}], "adjclose": [...]}}], "error": null}}`` with bar starts in
seconds (daily bars stamped at the 09:30 open, as Yahoo does) and ``null`` for gaps; a range without sessions has
no ``timestamp`` at all. Errors as Yahoo sends them: 404 ``Not Found`` "No data found, symbol may be delisted",
422 ``Unprocessable Entity`` for intraday ranges Yahoo does not keep (1m: 8 days a request within the last 30;
other minute bars: the last 60 days; 1h: 730), and 429 with the plain-text body ``Too Many Requests``.

    python -m ntlab.market.fakes.yahoo --port 8773
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from aiohttp import web

from ntlab.market import calendar
from ntlab.market.bars import Interval
from ntlab.market.fakes.server import FakeServer, json_response, serve_main

INTERVALS = {
    "1m": Interval(1, "min"),
    "2m": Interval(2, "min"),
    "5m": Interval(5, "min"),
    "15m": Interval(15, "min"),
    "30m": Interval(30, "min"),
    "60m": Interval(60, "min"),
    "90m": Interval(90, "min"),
    "1h": Interval(1, "h"),
    "1d": Interval(1, "D"),
}
SYMBOLS = {"BRK-B": "BRK.B", "BTC-USD": "BTC/USD", "EURUSD=X": "EUR/USD"}
DAY = 86_400


class FakeYahoo(FakeServer):
    """``async with FakeYahoo() as fake:``; set ``fake.now`` to pin what "the last 60 days" means."""

    vendor: ClassVar[str] = "yahoo"
    default_port: ClassVar[int] = 8773

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.now: pd.Timestamp | None = None

    def banner(self) -> list[str]:
        return [f"YAHOO_BASE_URL={self.base_url}"]

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v8/finance/chart/{symbol}", self._chart)

    def key_of(self, request: web.Request) -> str:
        return request.remote or ""

    def rate_limited(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, text="Too Many Requests\r\n", content_type="text/plain")

    def _error(self, status: int, code: str, description: str) -> web.Response:
        return json_response(
            {"chart": {"result": None, "error": {"code": code, "description": description}}}, status
        )

    async def _chart(self, request: web.Request) -> web.Response:
        ticker = request.match_info["symbol"]
        symbol = SYMBOLS.get(ticker, ticker)
        q = request.query
        label = q.get("interval", "1d")
        interval = INTERVALS.get(label)
        if interval is None:
            return self._error(
                400,
                "Bad Request",
                f"Invalid input - interval={label} is not supported. Valid intervals: [{', '.join(INTERVALS)}]",
            )
        if not self.tape.knows(symbol):
            return self._error(404, "Not Found", "No data found, symbol may be delisted")
        now = self.now if self.now is not None else pd.Timestamp.now(tz="UTC")
        now_s = int(now.value // 1_000_000_000)
        try:
            start = int(q["period1"]) if "period1" in q else now_s - 30 * DAY
            end = min(int(q["period2"]) if "period2" in q else now_s, now_s)
        except ValueError:
            return self._error(400, "Bad Request", "Invalid input - period1 and period2 must be integers")
        if not interval.daily:
            keep = 30 if label == "1m" else 730 if interval.unit == "h" or label == "60m" else 60
            if start < now_s - keep * DAY or (label == "1m" and end - start > 8 * DAY):
                rule = (
                    "Only 8 days worth of 1m granularity data are allowed to be fetched per request."
                    if label == "1m" and end - start > 8 * DAY
                    else f"The requested range must be within the last {keep} days."
                )
                return self._error(
                    422,
                    "Unprocessable Entity",
                    f"{label} data not available for startTime={start} and endTime={end}. {rule}",
                )
        frame = self.tape.bars(symbol, interval, start * 1_000_000_000, end * 1_000_000_000)
        result: dict[str, Any] = {"meta": self._meta(ticker, label, now)}
        if len(frame):
            stamps = frame["time"].array.asi8 // 1_000_000_000
            if interval.daily:  # Yahoo stamps a daily bar at the session's open, not at midnight
                days = pd.DatetimeIndex(frame["time"]).tz_convert("America/New_York").date
                stamps = np.array([calendar.regular_session(d)[0].value // 1_000_000_000 for d in days])
            quote = {
                name: [round(float(v), 4) for v in frame[name]] for name in ("open", "high", "low", "close")
            }
            quote["volume"] = [int(v) for v in frame["volume"]]
            result["timestamp"] = [int(s) for s in stamps]
            result["indicators"] = {"quote": [quote]}
            if interval.daily:
                result["indicators"]["adjclose"] = [{"adjclose": quote["close"]}]
        else:
            result["indicators"] = {"quote": [{}]}
        return json_response({"chart": {"result": [result], "error": None}})

    def _meta(self, ticker: str, label: str, now: pd.Timestamp) -> dict[str, Any]:
        day = calendar.previous_trading_days(calendar.exchange_day(now), 1)[0]
        open_, close = calendar.regular_session(day)
        offset = int(open_.tz_convert("America/New_York").utcoffset().total_seconds())
        period = {"timezone": "EST" if offset == -18000 else "EDT", "gmtoffset": offset}
        return {
            "currency": "USD",
            "symbol": ticker,
            "exchangeName": "NMS",
            "fullExchangeName": "NasdaqGS",
            "instrumentType": "CRYPTOCURRENCY"
            if ticker.endswith("-USD")
            else "CURRENCY"
            if ticker.endswith("=X")
            else "EQUITY",
            "firstTradeDate": 345479400,
            "regularMarketTime": int(close.value // 1e9),
            "hasPrePostMarketData": True,
            "gmtoffset": offset,
            "timezone": period["timezone"],
            "exchangeTimezoneName": "America/New_York",
            "priceHint": 2,
            "currentTradingPeriod": {
                "pre": {**period, "start": int(open_.value // 1e9) - 19800, "end": int(open_.value // 1e9)},
                "regular": {**period, "start": int(open_.value // 1e9), "end": int(close.value // 1e9)},
                "post": {**period, "start": int(close.value // 1e9), "end": int(close.value // 1e9) + 14400},
            },
            "dataGranularity": label,
            "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        }


def main(argv: list[str] | None = None) -> None:
    serve_main(
        lambda a: FakeYahoo(
            seed=a.seed, per_minute=a.per_minute or None, port=a.port or FakeYahoo.default_port
        ),
        "Serve a fake Yahoo Finance chart endpoint on 127.0.0.1",
        argv,
    )


if __name__ == "__main__":
    main()
