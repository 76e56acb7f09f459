"""A fake of Polygon.io's (now Massive's) REST API for aggregates, trades, NBBO quotes and ticker details.

Paths, field names, pagination and error bodies as the vendor's: ``/v2/aggs/ticker/{t}/range/{m}/{span}/{from}/
{to}`` (``limit`` counts base aggregates, ``next_url`` moves ``from`` on and carries a ``cursor``), ``/v3/trades/
{t}`` and ``/v3/quotes/{t}`` (nanosecond ``timestamp.*`` filters, ``order`` defaulting to desc, ``limit`` up to
50000, an opaque base64 ``cursor`` in an absolute ``next_url``), ``/v2/last/nbbo/{t}``, ``/v3/reference/tickers/
{t}``. Keys come as ``apiKey=`` or ``Authorization: Bearer``. Errors: ``{"status": "ERROR", "request_id", "error"}``
with 400/401/429, 403 ``NOT_AUTHORIZED`` for data the plan lacks, 404 ``NOT_FOUND`` for an unknown ticker.
Quote sizes are round lots before 2025-11-03 and shares from then, as the vendor changed them. An unknown ticker
answers an empty ``OK`` everywhere but the ticker details, as Polygon does.

    python -m ntlab.market.fakes.polygon --port 8771
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import numpy as np
import pandas as pd
from aiohttp import web

from ntlab.market.bars import Interval
from ntlab.market.fakes.server import FakeServer, json_response, serve_main

FAKE_KEY = "fake-polygon-key"  # the fake's published demo key; not a secret
SHARES_SINCE = date(2025, 11, 3)
TICKERS = {"X:BTCUSD": "BTC/USD", "C:EURUSD": "EUR/USD"}
LIMIT_MESSAGE = (
    "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. "
    "https://polygon.io/pricing"
)
SPANS = {"second": "s", "minute": "min", "hour": "h", "day": "D"}
BASE_NS = {
    "second": 1_000_000_000,
    "minute": 60_000_000_000,
    "hour": 60_000_000_000,
    "day": 86_400_000_000_000,
}


def _cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(urlencode(state).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> dict[str, str]:
    padded = cursor + "=" * (-len(cursor) % 4)
    return dict(parse_qsl(base64.urlsafe_b64decode(padded.encode()).decode()))


def _ms_or_date(value: str, end: bool) -> int:
    """A path's from/to (``YYYY-MM-DD`` or epoch ms) as ns; a date ``to`` covers its whole day."""
    if value.isdigit():
        return int(value) * 1_000_000 + (999_999 if end else 0)
    day = pd.Timestamp(value).tz_localize("America/New_York")
    if end:
        day += pd.Timedelta(days=1)
    return int(day.tz_convert("UTC").value) - (1 if end else 0)


class FakePolygon(FakeServer):
    """``async with FakePolygon() as fake:`` then point a client at ``fake.base_url`` with ``fake.key``."""

    vendor: ClassVar[str] = "polygon"
    default_port: ClassVar[int] = 8771

    def __init__(
        self, *, key: str = FAKE_KEY, entitled: tuple[str, ...] = ("aggs", "trades", "quotes"), **options: Any
    ) -> None:
        super().__init__(**options)
        self.key = key
        self.entitled = set(entitled)
        self.now: pd.Timestamp | None = None  # the NBBO endpoint's present; None = the wall clock

    def banner(self) -> list[str]:
        return [f"POLYGON_API_KEY={self.key}  POLYGON_BASE_URL={self.base_url}"]

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{start}/{end}", self._aggs)
        router.add_get("/v3/trades/{ticker}", self._trades)
        router.add_get("/v3/quotes/{ticker}", self._quotes)
        router.add_get("/v2/last/nbbo/{ticker}", self._last_nbbo)
        router.add_get("/v3/reference/tickers/{ticker}", self._ticker)

    # --- auth and errors ----------------------------------------------------------------------------------------
    def key_of(self, request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ").strip() if auth else request.query.get("apiKey", "")

    def _error(self, status: int, error: str) -> web.Response:
        return json_response({"status": "ERROR", "request_id": self.request_id(), "error": error}, status)

    def rate_limited(self, request: web.Request) -> web.StreamResponse:
        return self._error(429, LIMIT_MESSAGE)

    def _refuse(self, request: web.Request, dataset: str) -> web.Response | None:
        key = self.key_of(request)
        if not key:
            return self._error(400, "API Key was not provided")
        if key != self.key:
            return self._error(401, "Unknown API Key")
        if dataset not in self.entitled:
            return json_response(
                {
                    "status": "NOT_AUTHORIZED",
                    "request_id": self.request_id(),
                    "message": "You are not entitled to this data. Please upgrade your plan at https://polygon.io/pricing",
                },
                403,
            )
        return None

    def symbol(self, ticker: str) -> str:
        return TICKERS.get(ticker, ticker)

    # --- aggregates -------------------------------------------------------------------------------------------------
    async def _aggs(self, request: web.Request) -> web.Response:
        if (refused := self._refuse(request, "aggs")) is not None:
            return refused
        m = request.match_info
        query = dict(request.query)
        if "cursor" in query:
            query = {**query, **_uncursor(query.pop("cursor"))}
        timespan = m["timespan"]
        try:
            multiplier = int(m["multiplier"])
            start_ns = _ms_or_date(m["start"], end=False)
            end_ns = _ms_or_date(m["end"], end=True)
            limit = min(int(query.get("limit", 5000)), 50_000)
        except ValueError:
            return self._error(400, "Could not parse the request parameters")
        if timespan not in SPANS:
            return self._error(400, f"Invalid timespan: {timespan}")
        interval = Interval(multiplier, SPANS[timespan]) if timespan != "day" else Interval(1, "D")
        frame = self.tape.bars(self.symbol(m["ticker"]), interval, start_ns, end_ns + 1)
        descending = query.get("sort", "asc") == "desc"
        if descending:
            frame = frame.iloc[::-1].reset_index(drop=True)
        per_page = max(1, limit // max(1, interval.nanos // BASE_NS[timespan]))
        page = frame.iloc[:per_page]
        body: dict[str, Any] = {
            "ticker": m["ticker"],
            "queryCount": len(page),
            "resultsCount": len(page),
            "adjusted": query.get("adjusted", "true") != "false",
        }
        if len(page):
            t = page["time"].array.asi8 // 1_000_000
            body["results"] = [
                {
                    "v": float(v),
                    "vw": round(float(vw), 4),
                    "o": o,
                    "c": c,
                    "h": h,
                    "l": lo,
                    "t": int(ts),
                    "n": int(n),
                }
                for v, vw, o, c, h, lo, ts, n in zip(
                    page["volume"],
                    page["vwap"],
                    page["open"],
                    page["close"],
                    page["high"],
                    page["low"],
                    t,
                    page["trade_count"],
                    strict=True,
                )
            ]
        body |= {"status": "OK", "request_id": self.request_id(), "count": len(page)}
        if len(frame) > per_page:
            following = int(frame["time"].array.asi8[per_page] // 1_000_000)
            state = {"limit": limit, "sort": "desc" if descending else "asc"}
            path_range = f"{m['start']}/{following}" if descending else f"{following}/{m['end']}"
            body["next_url"] = (
                f"{self.base_url}/v2/aggs/ticker/{m['ticker']}/range/{multiplier}/{timespan}/{path_range}"
                f"?cursor={_cursor(state)}"
            )
        return json_response(body)

    # --- trades and quotes ------------------------------------------------------------------------------------------
    def _window(self, query: dict[str, str]) -> tuple[int, int]:
        lo, hi = 0, 2**62
        if "timestamp" in query:
            value = query["timestamp"]
            if value.isdigit():
                lo, hi = int(value), int(value) + 1
            else:
                lo, hi = _ms_or_date(value, end=False), _ms_or_date(value, end=True) + 1
        for name, value in query.items():
            if not name.startswith("timestamp."):
                continue
            ns = (
                int(value)
                if value.isdigit()
                else int(pd.Timestamp(value).tz_localize(None).tz_localize("UTC").value)
            )
            op = name.split(".", 1)[1]
            if op == "gte":
                lo = max(lo, ns)
            elif op == "gt":
                lo = max(lo, ns + 1)
            elif op == "lte":
                hi = min(hi, ns + 1)
            elif op == "lt":
                hi = min(hi, ns)
        now = int((self.now or pd.Timestamp.now(tz="UTC")).value)
        hi = min(hi, now)
        lo = max(
            lo, hi - 3 * 86_400 * 1_000_000_000
        )  # unbounded asks get the latest days, as the vendor's do
        return lo, hi

    async def _ticks(self, request: web.Request, kind: str) -> web.Response:
        if (refused := self._refuse(request, kind)) is not None:
            return refused
        ticker = request.match_info["ticker"]
        query = dict(request.query)
        query.pop("apiKey", None)
        offset = 0
        if "cursor" in query:
            query = _uncursor(query["cursor"])
            offset = int(query.pop("offset", 0))
        try:
            limit = int(query.get("limit", 1000))
            lo, hi = self._window(query)
        except ValueError:
            return self._error(400, "Could not parse the query parameters")
        if not 1 <= limit <= 50_000:
            return self._error(400, "limit must be between 1 and 50000")
        symbol = self.symbol(ticker)
        frame = self.tape.quotes(symbol, lo, hi) if kind == "quotes" else self.tape.trades(symbol, lo, hi)
        order = query.get("order", "desc")
        if order == "desc":
            frame = frame.iloc[::-1].reset_index(drop=True)
        page = frame.iloc[offset : offset + limit]
        results = self._quote_rows(page, symbol) if kind == "quotes" else self._trade_rows(page, offset)
        body: dict[str, Any] = {"results": results, "status": "OK", "request_id": self.request_id()}
        if offset + limit < len(frame):
            state = {k: v for k, v in query.items() if k != "apiKey"} | {
                "limit": limit,
                "order": order,
                "sort": "timestamp",
                "offset": offset + limit,
            }
            body["next_url"] = f"{self.base_url}/v3/{kind}/{ticker}?cursor={_cursor(state)}"
        return json_response(body)

    async def _trades(self, request: web.Request) -> web.Response:
        return await self._ticks(request, "trades")

    async def _quotes(self, request: web.Request) -> web.Response:
        return await self._ticks(request, "quotes")

    def _trade_rows(self, page: pd.DataFrame, offset: int) -> list[dict[str, Any]]:
        if page.empty:
            return []
        sip = page["time"].array.asi8
        sizes = page["size"].to_numpy()
        return [
            {
                "conditions": [12, 37] if i % 7 == 0 else [],
                "exchange": 4 + (i % 9),
                "id": str(1000 + offset + i),
                "participant_timestamp": int(t) - 170_000,
                "price": p,
                "sequence_number": 5000 + offset + i,
                "sip_timestamp": int(t),
                "size": int(s) if float(s).is_integer() else float(s),
                "tape": 3,
            }
            for i, (t, p, s) in enumerate(zip(sip, page["price"].tolist(), sizes.tolist(), strict=True))
        ]

    def _quote_rows(self, page: pd.DataFrame, symbol: str) -> list[dict[str, Any]]:
        if page.empty:
            return []
        sip = page["time"].array.asi8
        days = pd.DatetimeIndex(page["time"]).tz_convert("America/New_York").date
        lots = np.array([1.0 if d >= SHARES_SINCE or "/" in symbol else 100.0 for d in days])
        bid_size = page["bid_size"].to_numpy() / lots
        ask_size = page["ask_size"].to_numpy() / lots
        return [
            {
                "ask_exchange": 11,
                "ask_price": a,
                "ask_size": _number(as_),
                "bid_exchange": 19,
                "bid_price": b,
                "bid_size": _number(bs),
                "participant_timestamp": int(t) - 230_000,
                "sequence_number": 9000 + i,
                "sip_timestamp": int(t),
                "tape": 3,
            }
            for i, (t, b, a, bs, as_) in enumerate(
                zip(
                    sip,
                    page["bid"].tolist(),
                    page["ask"].tolist(),
                    bid_size.tolist(),
                    ask_size.tolist(),
                    strict=True,
                )
            )
        ]

    # --- last quote and reference -----------------------------------------------------------------------------------
    async def _last_nbbo(self, request: web.Request) -> web.Response:
        if (refused := self._refuse(request, "quotes")) is not None:
            return refused
        ticker = request.match_info["ticker"]
        now = self.now if self.now is not None else pd.Timestamp.now(tz="UTC")
        row = self.tape.last_quote(self.symbol(ticker), now) if self.tape.knows(self.symbol(ticker)) else None
        if row is None:
            return json_response(
                {"status": "NOT_FOUND", "request_id": self.request_id(), "message": "Data not found."}, 404
            )
        t = int(row["time"].value)
        return json_response(
            {
                "results": {
                    "P": float(row["ask"]),
                    "S": _number(float(row["ask_size"])),
                    "T": ticker,
                    "X": 11,
                    "p": float(row["bid"]),
                    "q": 26006043,
                    "s": _number(float(row["bid_size"])),
                    "t": t,
                    "x": 19,
                    "y": t - 230_000,
                    "z": 3,
                },
                "status": "OK",
                "request_id": self.request_id(),
            }
        )

    async def _ticker(self, request: web.Request) -> web.Response:
        if (refused := self._refuse(request, "aggs")) is not None:
            return refused
        ticker = request.match_info["ticker"]
        if not self.tape.knows(self.symbol(ticker)):
            return json_response(
                {"status": "NOT_FOUND", "request_id": self.request_id(), "message": "Ticker not found."}, 404
            )
        market = "crypto" if ticker.startswith("X:") else "fx" if ticker.startswith("C:") else "stocks"
        return json_response(
            {
                "results": {
                    "ticker": ticker,
                    "name": f"{ticker} (sample)",
                    "market": market,
                    "locale": "us",
                    "primary_exchange": "XNAS",
                    "type": "CS",
                    "active": True,
                    "currency_name": "usd",
                    "round_lot": 100,
                },
                "status": "OK",
                "request_id": self.request_id(),
            }
        )


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def main(argv: list[str] | None = None) -> None:
    serve_main(
        lambda a: FakePolygon(
            seed=a.seed, per_minute=a.per_minute or None, port=a.port or FakePolygon.default_port
        ),
        "Serve a fake Polygon.io / Massive REST API on 127.0.0.1",
        argv,
    )


if __name__ == "__main__":
    main()
