"""NewsClient: News API's ``/v2/everything`` and ``/v2/top-headlines`` as DataFrames, paged and cached.

The key goes in the ``X-Api-Key`` header, never in a URL, so it cannot reach a log line, a cache file or an
error message. Every ``a``-prefixed coroutine has a sync twin of the same name without the ``a``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ntlab.errors import ConfigError
from ntlab.news.cache import NewsCache
from ntlab.news.errors import NewsApiError, NewsRequestError, NewsUnavailable, news_error
from ntlab.news.frames import headlines_frame, sources_frame
from ntlab.news.symbols import SymbolMatcher, has_symbol
from ntlab.webapi import RetryPolicy, protect_logs, run_sync

log = logging.getLogger(__name__)

NEWS_API_URL = "https://newsapi.org"
MAX_PAGE_SIZE = 100
FREE_PLAN_RESULTS = 100  # the Developer plan pages through the first 100 results only


class NewsSettings(BaseSettings):
    """``NEWS_API_KEY`` (and ``NEWS_API_URL`` to point at another host, e.g. the local fake)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    news_api_key: SecretStr | None = None
    news_api_url: str = NEWS_API_URL


class TruncatedWarning(UserWarning):
    """Fewer articles came back than matched: the plan stopped the paging."""


def _iso(value: datetime | pd.Timestamp | str | None) -> str | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S")


def _joined(value: str | Iterable[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return ",".join(value) or None


class _Request(BaseModel):
    """Parameters as News API spells them; checked here so a typo fails before it costs a request."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str | None = Field(None, max_length=500)
    sources: str | None = None
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, alias="pageSize")

    def params(self) -> dict[str, str]:
        data = self.model_dump(by_alias=True, exclude_none=True)
        return {k: str(v) for k, v in data.items()}


_R = TypeVar("_R", bound=_Request)


class EverythingRequest(_Request):
    search_in: str | None = Field(None, alias="searchIn")
    domains: str | None = None
    exclude_domains: str | None = Field(None, alias="excludeDomains")
    start: str | None = Field(None, alias="from")
    end: str | None = Field(None, alias="to")
    language: str | None = Field(None, min_length=2, max_length=2)
    sort_by: Literal["relevancy", "popularity", "publishedAt"] = Field("publishedAt", alias="sortBy")


class HeadlinesRequest(_Request):
    country: str | None = Field(None, min_length=2, max_length=2)
    category: (
        Literal["business", "entertainment", "general", "health", "science", "sports", "technology"] | None
    ) = None

    @model_validator(mode="after")
    def _sources_alone(self) -> HeadlinesRequest:
        if self.sources and (self.country or self.category):
            raise ValueError("sources cannot be mixed with country or category: ask for one or the other")
        return self


def _build(model: type[_R], **fields: Any) -> _R:
    """The request, or a NewsRequestError naming the bad argument before any request is spent."""
    try:
        return model(**fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in error.errors()
        )
        raise NewsRequestError(
            f"bad request arguments ({problems}). What to do: fix them and call again",
            code="parameterInvalid",
        ) from None


class NewsClient:
    """Headlines from News API (newsapi.org) as DataFrames.

    - ``api_key``: a ``SecretStr`` or text; default ``NEWS_API_KEY`` from the environment.
    - ``base_url``: default ``NEWS_API_URL`` or https://newsapi.org (point it at ``FakeNewsAPI().base_url``).
    - ``cache``: a :class:`NewsCache`, a directory for one, or ``None`` for no cache (default: in memory).
    - ``matcher``: the :class:`SymbolMatcher` that fills the ``symbols`` column.
    - ``retry``: how rate limits and server errors are retried (nothing else is).
    """

    def __init__(
        self,
        api_key: SecretStr | str | None = None,
        *,
        base_url: str | None = None,
        cache: NewsCache | str | Path | Literal["memory"] | None = "memory",
        matcher: SymbolMatcher | None = None,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        settings = NewsSettings() if api_key is None or base_url is None else None
        key = api_key if api_key is not None else (settings.news_api_key if settings else None)
        if isinstance(key, str):
            key = SecretStr(key)
        if key is None or not key.get_secret_value():
            raise ConfigError(
                "no News API key: set NEWS_API_KEY (get one at newsapi.org/register) or pass api_key="
            )
        self._key = key
        self.base_url = (base_url or (settings.news_api_url if settings else NEWS_API_URL)).rstrip("/")
        self.cache = NewsCache() if cache == "memory" else cache
        if isinstance(self.cache, str | Path):
            self.cache = NewsCache(self.cache)
        self.matcher = matcher or SymbolMatcher()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.requests = 0  # network requests made (cache hits are not counted)
        protect_logs()

    @classmethod
    def from_env(cls, **options: Any) -> NewsClient:
        return cls(**options)

    def __repr__(self) -> str:
        return f"NewsClient({self.base_url!r}, key=set, cache={self.cache!r})"

    # --- the wire ----------------------------------------------------------------------------------------
    async def _get(self, http: Any, path: str, params: dict[str, str], refresh: bool) -> dict[str, Any]:
        cache = self.cache if isinstance(self.cache, NewsCache) else None
        if cache is not None and not refresh:
            cached = cache.get(path, params)
            if cached is not None:
                return cached
        body = await self.retry.run(lambda: self._send(http, path, params))
        if cache is not None:
            cache.put(path, params, body)
        return body

    async def _send(self, http: Any, path: str, params: dict[str, str]) -> dict[str, Any]:
        import httpx

        self.requests += 1
        try:
            response = await http.get(path, params=params)
        except httpx.TransportError as error:
            raise NewsUnavailable(
                f"could not reach News API at {self.base_url} ({type(error).__name__}). What to do: check "
                "the network, or NEWS_API_URL if you set it",
                code="unreachable",
                retryable=True,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok":
            return body
        retry_after = response.headers.get("retry-after")
        if isinstance(body, dict) and body.get("status") == "error":
            raise news_error(
                str(body.get("code")),
                str(body.get("message") or ""),
                response.status_code,
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        status = response.status_code
        raise news_error(f"HTTP_{status}", f"HTTP {status} without a News API error body", status)

    @contextlib.asynccontextmanager
    async def _http(self) -> AsyncIterator[Any]:
        """An httpx client made on first use only: a request answered from the cache opens no connection
        (and skips httpx's per-client TLS setup, most of the cost of a cached call)."""
        import httpx

        made: list[httpx.AsyncClient] = []

        class Lazy:
            async def get(self_, path: str, **kwargs: Any) -> httpx.Response:
                if not made:
                    headers = {"X-Api-Key": self._key.get_secret_value(), "User-Agent": "ntlab-news"}
                    made.append(
                        httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout)
                    )
                return await made[0].get(path, **kwargs)

        try:
            yield Lazy()
        finally:
            if made:
                await made[0].aclose()

    async def _paged(
        self, path: str, request: _Request, max_results: int, refresh: bool
    ) -> tuple[list[dict[str, Any]], int]:
        if max_results < 1:
            raise ConfigError(f"max_results={max_results}: ask for at least one article")
        request.page_size = min(request.page_size, max_results)
        params = request.params()
        articles: list[dict[str, Any]] = []
        total = 0
        async with self._http() as http:
            page = 1
            while True:
                try:
                    body = await self._get(http, path, {**params, "page": str(page)}, refresh)
                except NewsApiError as error:
                    if page > 1 and error.code == "maximumResultsReached":
                        warnings.warn(
                            f"{total} articles match, the plan returned the first {len(articles)}: narrow the "
                            "search (q, dates, sources) to see the rest",
                            TruncatedWarning,
                            stacklevel=4,
                        )
                        break
                    raise
                total = int(body.get("totalResults") or 0)
                batch = body.get("articles") or []
                articles.extend(batch)
                wanted = min(total, max_results)
                if not batch or len(articles) >= wanted or page >= math.ceil(wanted / request.page_size):
                    break
                page += 1
        return articles[:max_results], total

    def _frame(
        self, articles: list[dict[str, Any]], total: int, symbols: Sequence[str] | None
    ) -> pd.DataFrame:
        frame = headlines_frame(articles)
        frame["symbols"] = self.matcher.tag(frame, symbols)
        frame.attrs["total_results"] = total
        return frame

    # --- endpoints ---------------------------------------------------------------------------------------
    async def aeverything(
        self,
        q: str | None = None,
        *,
        start: datetime | pd.Timestamp | str | None = None,
        end: datetime | pd.Timestamp | str | None = None,
        sources: str | Iterable[str] | None = None,
        domains: str | Iterable[str] | None = None,
        exclude_domains: str | Iterable[str] | None = None,
        search_in: str | Iterable[str] | None = None,
        language: str | None = None,
        sort_by: str = "publishedAt",
        max_results: int = FREE_PLAN_RESULTS,
        page_size: int = MAX_PAGE_SIZE,
        symbols: Sequence[str] | None = None,
        refresh: bool = False,
    ) -> pd.DataFrame:
        """``/v2/everything``: articles matching ``q`` (News API's syntax: ``"exact phrase"``, ``+must``,
        ``-not``, AND/OR/NOT) between ``start`` and ``end`` (UTC), up to ``max_results`` over as many pages as
        that takes (``page_size`` a page, at most 100). ``symbols`` limits the tags to those symbols; ``refresh`` skips the cache.
        ``frame.attrs["total_results"]`` is how many articles matched in all."""
        request = _build(
            EverythingRequest,
            q=q,
            sources=_joined(sources),
            domains=_joined(domains),
            exclude_domains=_joined(exclude_domains),
            search_in=_joined(search_in),
            start=_iso(start),
            end=_iso(end),
            language=language,
            sort_by=sort_by,
            page_size=page_size,
        )
        articles, total = await self._paged("/v2/everything", request, max_results, refresh)
        return self._frame(articles, total, symbols)

    def everything(self, q: str | None = None, **options: Any) -> pd.DataFrame:
        return run_sync(self.aeverything(q, **options))

    async def atop_headlines(
        self,
        q: str | None = None,
        *,
        country: str | None = None,
        category: str | None = None,
        sources: str | Iterable[str] | None = None,
        max_results: int = FREE_PLAN_RESULTS,
        page_size: int = MAX_PAGE_SIZE,
        symbols: Sequence[str] | None = None,
        refresh: bool = False,
    ) -> pd.DataFrame:
        """``/v2/top-headlines``: breaking headlines by ``country``/``category`` or by ``sources`` (not both)."""
        request = _build(
            HeadlinesRequest,
            q=q,
            country=country,
            category=category,
            sources=_joined(sources),
            page_size=page_size,
        )
        articles, total = await self._paged("/v2/top-headlines", request, max_results, refresh)
        return self._frame(articles, total, symbols)

    def top_headlines(self, q: str | None = None, **options: Any) -> pd.DataFrame:
        return run_sync(self.atop_headlines(q, **options))

    async def asources(
        self, *, category: str | None = None, language: str | None = None, country: str | None = None
    ) -> pd.DataFrame:
        """``/v2/top-headlines/sources``: the source ids that ``sources=`` takes."""
        params = {
            k: v for k, v in (("category", category), ("language", language), ("country", country)) if v
        }
        async with self._http() as http:
            body = await self._get(http, "/v2/top-headlines/sources", params, refresh=False)
        return sources_frame(body.get("sources") or [])

    def sources(self, **options: Any) -> pd.DataFrame:
        return run_sync(self.asources(**options))

    async def asymbol_news(
        self,
        symbol: str,
        *,
        days: float = 3,
        end: datetime | pd.Timestamp | str | None = None,
        matched_only: bool = True,
        **options: Any,
    ) -> pd.DataFrame:
        """Articles about ``symbol`` over the ``days`` before ``end`` (default now, UTC).

        The search asks for the ticker or any of its names (:meth:`SymbolMatcher.query`); with
        ``matched_only`` only the articles whose title or description the matcher tags with the symbol are
        kept (News API also matches words deep in the body).
        """
        stop = pd.Timestamp.now(tz="UTC") if end is None else pd.Timestamp(end)
        stop = stop.tz_localize("UTC") if stop.tzinfo is None else stop.tz_convert("UTC")
        begin = stop - timedelta(days=days)
        options.setdefault("symbols", [symbol.strip().upper()])
        frame = await self.aeverything(self.matcher.query(symbol), start=begin, end=stop, **options)
        if matched_only:
            kept = frame[has_symbol(frame, symbol)].reset_index(drop=True)
            kept.attrs.update(frame.attrs)
            return kept
        return frame

    def symbol_news(self, symbol: str, **options: Any) -> pd.DataFrame:
        return run_sync(self.asymbol_news(symbol, **options))
