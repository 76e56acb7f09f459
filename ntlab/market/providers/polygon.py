"""Polygon.io, now Massive: aggregates (bars), trades and NBBO quotes over its REST API.

- Hosts: ``https://api.massive.com`` (the rebranded one, default) or ``https://api.polygon.io`` (``host="polygon"``;
  it still answers). ``base_url=`` (or ``POLYGON_BASE_URL``) for anything else, such as the local fake.
- Key: ``POLYGON_API_KEY`` (or ``MASSIVE_API_KEY``), sent as ``Authorization: Bearer`` so it never sits in a URL.
- Pagination: each answer's absolute ``next_url`` is followed on the configured host (its path and cursor only).
- Limits: the free plan allows 5 requests a minute (pass ``requests_per_minute=5``); paid plans none. A 429 waits
  ``rate_wait`` seconds (Polygon sends no Retry-After), then the same page is asked again.
- Quote sizes: round lots before 2025-11-03, shares from then (the SIPs' change); ntlab reports shares.
- Unknown tickers answer an empty OK; when a whole range is empty, the ticker-details endpoint tells an unknown
  symbol (an error) from a quiet range (an empty frame).
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ntlab.errors import ProviderError
from ntlab.market import calendar
from ntlab.market.bars import Interval
from ntlab.market.keys import MarketSettings, require, secret
from ntlab.market.providers.base import Kind, decimal, empty_rows, rows
from ntlab.market.providers.http import Answer, HttpClient, retry_after
from ntlab.market.providers.web import HttpProvider

MASSIVE_URL = "https://api.massive.com"
POLYGON_URL = "https://api.polygon.io"
SHARES_SINCE = date(2025, 11, 3)
TIMESPANS = {"s": "second", "min": "minute", "h": "hour", "D": "day"}


class PolygonData(HttpProvider):
    """``PolygonData()`` reads ``POLYGON_API_KEY``; ``PolygonData(api_key=..., base_url=fake.base_url)`` for a fake."""

    name: ClassVar[str] = "polygon"
    key_variable: ClassVar[str] = "POLYGON_API_KEY"

    def __init__(
        self,
        api_key: Any = None,
        *,
        base_url: str | None = None,
        host: str = "massive",
        requests_per_minute: float | None = None,
        page_limit: int = 50_000,
        rate_wait: float = 12.0,
        retries: int = 8,
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
        self._key = require(secret(api_key) or settings.polygon_api_key, "Polygon", "POLYGON_API_KEY")
        if host not in ("massive", "polygon"):
            raise ProviderError(f"host={host!r}: use 'massive' ({MASSIVE_URL}) or 'polygon' ({POLYGON_URL})")
        self.base_url = (
            base_url or settings.polygon_base_url or (MASSIVE_URL if host == "massive" else POLYGON_URL)
        ).rstrip("/")
        self.page_limit = page_limit
        self.rate_wait = rate_wait

    def __repr__(self) -> str:
        return f"PolygonData({self.base_url}, api_key=***, cache={self.cache.root if self.cache else None})"

    def vendor_symbol(self, symbol: str) -> str:
        """``BTC/USD`` -> ``X:BTCUSD``, ``EUR/USD`` -> ``C:EURUSD``; stocks as they are."""
        from ntlab.core.instruments import AssetKind, classify_symbol

        kind = classify_symbol(symbol)
        if kind is AssetKind.CRYPTO:
            return "X:" + symbol.replace("/", "")
        if kind is AssetKind.FX:
            return "C:" + symbol.replace("/", "")
        return symbol

    def span(self, kind: Kind, interval: Interval | None) -> int:
        if kind is not Kind.BARS:
            return 1
        assert interval is not None
        return 3650 if interval.daily else 60 if interval.unit == "h" else 30 if interval.unit == "min" else 1

    def _session(self) -> HttpClient:
        key = self._key.get_secret_value()
        return self._client(
            self.base_url,
            key,
            check=self._check,
            headers={"Authorization": f"Bearer {key}", "Accept-Encoding": "gzip"},
            secrets=[key],
            backoff=min(self.rate_wait, 1.0),
        )

    def _check(self, answer: Answer) -> float | None:
        if answer.status in (200, 404):
            return None
        if answer.status == 429:
            return retry_after(answer.headers, self.rate_wait)
        if answer.status in (413, 499) or answer.status >= 500:
            return min(self.rate_wait, 2.0)
        body = answer.json() or {}
        said = body.get("error") or body.get("message") or answer.text(200)
        if answer.status in (400, 401) and "key" in str(said).lower():
            raise ProviderError(f"Polygon refused the API key ({said}); check POLYGON_API_KEY")
        if answer.status == 403:
            raise ProviderError(f"Polygon: your plan does not include this data ({said})")
        raise ProviderError(f"Polygon refused {answer.url.split('?')[0]} (HTTP {answer.status}: {said})")

    async def _pages(self, http: HttpClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every result of a paginated listing, following ``next_url`` until there is none."""
        results: list[dict[str, Any]] = []
        answer = await http.get(path, params)
        while True:
            body = answer.json()
            if answer.status == 404 or not isinstance(body, dict):
                raise ProviderError(
                    f"Polygon answered {answer.url.split('?')[0]} with HTTP {answer.status}: {answer.text(200)}"
                )
            results.extend(body.get("results") or [])
            following = body.get("next_url")
            if not following:
                return results
            answer = await http.get(following)

    async def _fetch(
        self, http: Any, kind: Kind, symbol: str, start_ns: int, end_ns: int, interval: Interval | None
    ) -> pd.DataFrame:
        ticker = self.vendor_symbol(symbol)
        if kind is Kind.BARS:
            assert interval is not None
            path = (
                f"/v2/aggs/ticker/{ticker}/range/{interval.count}/{TIMESPANS[interval.unit]}/"
                f"{start_ns // 1_000_000}/{(end_ns - 1) // 1_000_000}"
            )
            found = await self._pages(http, path, {"adjusted": "true", "sort": "asc", "limit": 50_000})
            return parse_aggs(found)
        params = {
            "timestamp.gte": start_ns,
            "timestamp.lt": end_ns,
            "order": "asc",
            "sort": "timestamp",
            "limit": self.page_limit,
        }
        found = await self._pages(http, f"/v3/{kind}/{ticker}", params)
        if kind is Kind.TRADES:
            return parse_trades(found)
        day = calendar.exchange_day(pd.Timestamp(start_ns, tz="UTC"))
        lot = 100.0 if day < SHARES_SINCE and "/" not in symbol else 1.0
        return parse_quotes(found, lot)

    async def _known(self, http: Any, symbol: str) -> bool:
        answer = await http.get(f"/v3/reference/tickers/{self.vendor_symbol(symbol)}")
        return bool(answer.status == 200)

    async def _latest_quote(self, http: Any, symbol: str) -> Any:
        from ntlab.core import Quote

        answer = await http.get(f"/v2/last/nbbo/{self.vendor_symbol(symbol)}")
        body = answer.json() or {}
        last = body.get("results")
        if answer.status == 404 or not last:
            raise ProviderError(
                f"Polygon has no quote for {symbol!r} (asked as {self.vendor_symbol(symbol)!r})"
            )
        stamp = pd.Timestamp(int(last["t"]), tz="UTC")
        lot = 100 if stamp.date() < SHARES_SINCE and "/" not in symbol else 1
        return Quote(
            symbol=symbol,
            time=stamp.to_pydatetime(),
            bid=decimal(last["p"]),
            ask=decimal(last["P"]),
            bid_size=decimal(last.get("s", 0)) * lot,
            ask_size=decimal(last.get("S", 0)) * lot,
        )


def parse_aggs(results: list[dict[str, Any]]) -> pd.DataFrame:
    if not results:
        return empty_rows(Kind.BARS)
    return rows(
        Kind.BARS,
        np.array([r["t"] for r in results], dtype="int64") * 1_000_000,
        open=[r["o"] for r in results],
        high=[r["h"] for r in results],
        low=[r["l"] for r in results],
        close=[r["c"] for r in results],
        volume=[r.get("v", 0.0) for r in results],
        vwap=[r.get("vw", np.nan) for r in results],
        trade_count=[r.get("n", np.nan) for r in results],
    )


def parse_trades(results: list[dict[str, Any]]) -> pd.DataFrame:
    if not results:
        return empty_rows(Kind.TRADES)
    return rows(
        Kind.TRADES,
        np.array([r["sip_timestamp"] for r in results], dtype="int64"),
        price=[r["price"] for r in results],
        size=[r.get("size", 0.0) for r in results],
    )


def parse_quotes(results: list[dict[str, Any]], lot: float = 1.0) -> pd.DataFrame:
    """NBBO quotes; one-sided ones (a bid or an ask of 0 or missing) are left out."""
    if not results:
        return empty_rows(Kind.QUOTES)
    frame = rows(
        Kind.QUOTES,
        np.array([r["sip_timestamp"] for r in results], dtype="int64"),
        bid=[r.get("bid_price", 0.0) for r in results],
        ask=[r.get("ask_price", 0.0) for r in results],
        bid_size=np.array([r.get("bid_size", 0.0) for r in results], dtype="float64") * lot,
        ask_size=np.array([r.get("ask_size", 0.0) for r in results], dtype="float64") * lot,
    )
    two_sided = ((frame["bid"] > 0) & (frame["ask"] > 0)).to_numpy()
    return frame if two_sided.all() else frame[two_sided].reset_index(drop=True)
