"""A faithful local fake of News API v2 (newsapi.org), served on 127.0.0.1.

Same paths (``/v2/everything``, ``/v2/top-headlines``, ``/v2/top-headlines/sources`` and the older
``/v2/sources``), parameters, JSON fields, error bodies (``{"status": "error", "code", "message"}``) and HTTP
statuses, and the Developer plan's limits: 100 requests a day (then ``rateLimited``), paging through the first
100 results only (then ``maximumResultsReached``, HTTP 426), articles up to a month old. Keys are accepted the
three ways News API takes them (``X-Api-Key``, ``Authorization``, ``apiKey``). The articles are a seeded corpus
about the sample market (:mod:`ntlab.news.fake_corpus`); ``fake.fail_next(n, code)`` injects errors.

Run it: ``python -m ntlab.news.fake --port 8766`` (demo key ``FAKENEWSKEY``).
"""

from __future__ import annotations

import json
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ntlab.news.fake_corpus import CORPUS_END, SOURCES, Stored, sample_corpus
from ntlab.news.fake_query import QueryError, compile_query
from ntlab.webapi import LoopbackServer, serve_cli

FAKE_NEWS_KEY = "FAKENEWSKEY"  # not a secret: the fake's published demo key

STATUS = {
    "apiKeyDisabled": 401,
    "apiKeyExhausted": 401,
    "apiKeyInvalid": 401,
    "apiKeyMissing": 401,
    "parameterInvalid": 400,
    "parametersMissing": 400,
    "sourcesTooMany": 400,
    "sourceDoesNotExist": 400,
    "rateLimited": 429,
    "maximumResultsReached": 426,
    "unexpectedError": 500,
}
MESSAGES = {
    "apiKeyDisabled": "Your API key has been disabled.",
    "apiKeyExhausted": "Your API key has no more requests available.",
    "apiKeyInvalid": "Your API key is invalid or incorrect. Check your key, or go to https://newsapi.org to create a free API key.",
    "apiKeyMissing": "Your API key is missing. Append this to the URL with the apiKey param, or use the x-api-key HTTP header.",
    "rateLimited": "You have made too many requests recently. Developer accounts are limited to {limit} requests over a 24 hour period. Please upgrade to a paid plan if you need more requests.",
    "unexpectedError": "Something went wrong on our side. Please try again.",
}


class NewsApiFailure(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, code)


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NewsApiFailure(
            "parameterInvalid", f"The {name} parameter is not a valid ISO 8601 date or datetime: {value}."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CORPUS_END.tzinfo)


class FakeNewsAPI(LoopbackServer):
    """The fake server: ``async with FakeNewsAPI() as fake:`` then point a client at ``fake.base_url``.

    ``now`` is the fake's clock (the corpus ends there); ``requests_per_day`` and ``max_results`` are the
    plan's limits (``None``: unlimited); ``history_days`` how far back ``from`` may reach.
    """

    def __init__(
        self,
        *,
        api_key: str = FAKE_NEWS_KEY,
        articles: list[Stored] | None = None,
        seed: int = 7,
        now: datetime = CORPUS_END,
        requests_per_day: int | None = 100,
        max_results: int | None = 100,
        history_days: int = 30,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.articles = articles if articles is not None else sample_corpus(seed, end=now)
        self.now = now
        self.requests_per_day = requests_per_day
        self.max_results = max_results
        self.history_days = history_days
        self.sources = {s.id: s for s in SOURCES if s.id}
        self.disabled = False
        self.exhausted = False
        self.counted = 0  # requests charged to the key today
        self.log: list[tuple[str, dict[str, str]]] = []  # (path, params without the key), for tests
        self._faults: deque[str] = deque()

    # --- control ----------------------------------------------------------------------------------------
    def fail_next(self, n: int = 1, code: str = "unexpectedError") -> None:
        """Answer the next ``n`` requests with this News API error code (and its HTTP status)."""
        if code not in STATUS:
            raise ValueError(f"unknown News API error code {code!r}; known: {', '.join(STATUS)}")
        self._faults.extend([code] * n)

    def reset_day(self) -> None:
        self.counted = 0

    # --- the app ----------------------------------------------------------------------------------------
    def middlewares(self) -> list[Any]:
        return [self._guard]

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v2/everything", self._everything)
        app.router.add_get("/v2/top-headlines", self._top_headlines)
        app.router.add_get("/v2/top-headlines/sources", self._sources)
        app.router.add_get("/v2/sources", self._sources)

    @staticmethod
    def _error(code: str, message: str) -> web.Response:
        body = {"status": "error", "code": code, "message": message}
        return web.json_response(body, status=STATUS.get(code, 400))

    def _key_of(self, request: web.Request) -> str | None:
        header = request.headers.get("X-Api-Key") or request.headers.get("Authorization")
        if header:
            return header.removeprefix("Bearer ").strip()
        return request.query.get("apiKey")

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        params = {k: v for k, v in request.query.items() if k != "apiKey"}
        self.log.append((request.path, params))
        key = self._key_of(request)
        if not key:
            return self._error("apiKeyMissing", MESSAGES["apiKeyMissing"])
        if key != self.api_key:
            return self._error("apiKeyInvalid", MESSAGES["apiKeyInvalid"])
        if self.disabled:
            return self._error("apiKeyDisabled", MESSAGES["apiKeyDisabled"])
        if self.exhausted:
            return self._error("apiKeyExhausted", MESSAGES["apiKeyExhausted"])
        if self._faults:
            code = self._faults.popleft()
            message = MESSAGES.get(code, f"Injected {code}.").format(limit=self.requests_per_day)
            return self._error(code, message)
        if self.requests_per_day is not None and self.counted >= self.requests_per_day:
            return self._error("rateLimited", MESSAGES["rateLimited"].format(limit=self.requests_per_day))
        self.counted += 1
        try:
            return await handler(request)
        except NewsApiFailure as failure:
            return self._error(failure.code, failure.message)

    # --- endpoints --------------------------------------------------------------------------------------
    def _paging(self, query: Any, default_size: int) -> tuple[int, int]:
        try:
            size = int(query.get("pageSize", default_size))
            page = int(query.get("page", 1))
        except ValueError:
            raise NewsApiFailure(
                "parameterInvalid", "The page and pageSize parameters must be integers."
            ) from None
        if not 1 <= size <= 100 or page < 1:
            raise NewsApiFailure(
                "parameterInvalid", "pageSize must be between 1 and 100 and page must be 1 or more."
            )
        if self.max_results is not None and (page - 1) * size >= self.max_results:
            raise NewsApiFailure(
                "maximumResultsReached",
                f"You have requested too many results. Developer accounts are limited to a max of "
                f"{self.max_results} results. You are trying to request results {(page - 1) * size} to "
                f"{page * size}. Please upgrade to a paid plan if you need more results.",
            )
        return page, size

    def _sources_filter(self, value: str | None) -> set[str] | None:
        if not value:
            return None
        ids = [s.strip() for s in value.split(",") if s.strip()]
        if len(ids) > 20:
            raise NewsApiFailure(
                "sourcesTooMany",
                "You have requested too many sources in a single request. The maximum is 20.",
            )
        for source_id in ids:
            if source_id not in self.sources:
                raise NewsApiFailure(
                    "sourceDoesNotExist", f"You have requested a source which does not exist ({source_id})."
                )
        return set(ids)

    @staticmethod
    def _text(stored: Stored, fields: list[str]) -> str:
        return "\n".join(str(stored.article.get(f) or "") for f in fields)

    def _matching(self, query: Any, fields: list[str]) -> list[Stored]:
        q = query.get("q")
        try:
            predicate = compile_query(q) if q else None
        except QueryError as error:
            raise NewsApiFailure("parameterInvalid", f"The q parameter is not valid: {error}.") from None
        return [s for s in self.articles if predicate is None or predicate(self._text(s, fields))]

    @staticmethod
    def _page(found: list[Stored], page: int, size: int) -> web.Response:
        articles = [s.article for s in found[(page - 1) * size : page * size]]
        body = {"status": "ok", "totalResults": len(found), "articles": articles}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _everything(self, request: web.Request) -> web.Response:
        query = request.query
        if not any(query.get(k) for k in ("q", "qInTitle", "sources", "domains")):
            raise NewsApiFailure(
                "parametersMissing",
                "Required parameters are missing, the scope of your search is too broad. Please set any of the "
                "following required parameters and try again: q, qInTitle, sources, domains.",
            )
        page, size = self._paging(query, 100)
        search_in = [f for f in (query.get("searchIn") or "title,description,content").split(",") if f]
        if any(f not in ("title", "description", "content") for f in search_in):
            raise NewsApiFailure("parameterInvalid", "searchIn takes title, description and content.")
        if query.get("sortBy", "publishedAt") not in ("relevancy", "popularity", "publishedAt"):
            raise NewsApiFailure(
                "parameterInvalid", "sortBy must be one of relevancy, popularity, publishedAt."
            )
        found = self._matching(query, search_in)
        if query.get("qInTitle"):
            title_only = compile_query(query["qInTitle"])
            found = [s for s in found if title_only(str(s.article.get("title") or ""))]
        sources = self._sources_filter(query.get("sources"))
        if sources is not None:
            found = [s for s in found if s.source.id in sources]
        for name, keep in (("domains", True), ("excludeDomains", False)):
            if query.get(name):
                domains = {d.strip().removeprefix("www.") for d in query[name].split(",")}
                found = [s for s in found if (s.source.domain.removeprefix("www.") in domains) == keep]
        if query.get("language"):
            found = [s for s in found if s.source.language == query["language"]]
        oldest = self.now - timedelta(days=self.history_days)
        if query.get("from"):
            start = _time(query["from"], "from")
            if start < oldest:
                raise NewsApiFailure(
                    "parameterInvalid",
                    f"You are trying to request results too far in the past. Your plan permits you to request "
                    f"articles as far back as {oldest:%Y-%m-%d}, but you have requested {start:%Y-%m-%d}. "
                    "You may need to upgrade to a paid plan.",
                )
            found = [s for s in found if s.published >= start]
        if query.get("to"):
            end = _time(query["to"], "to")
            found = [s for s in found if s.published <= end]
        if query.get("sortBy") == "popularity":
            found = sorted(found, key=lambda s: s.popularity, reverse=True)
        return self._page(found, page, size)

    async def _top_headlines(self, request: web.Request) -> web.Response:
        query = request.query
        if not any(query.get(k) for k in ("q", "sources", "country", "category", "language")):
            raise NewsApiFailure(
                "parametersMissing",
                "Required parameters are missing. Please set any of the following parameters and try again: "
                "sources, q, language, country, category.",
            )
        if query.get("sources") and (query.get("country") or query.get("category")):
            raise NewsApiFailure(
                "parameterInvalid",
                "You cannot mix the sources parameter with the country or category parameters.",
            )
        page, size = self._paging(query, 20)
        found = [
            s
            for s in self._matching(query, ["title", "description", "content"])
            if s.source.id and s.published >= self.now - timedelta(days=1)
        ]
        sources = self._sources_filter(query.get("sources"))
        if sources is not None:
            found = [s for s in found if s.source.id in sources]
        for name in ("country", "category", "language"):
            if query.get(name):
                found = [s for s in found if getattr(s.source, name) == query[name]]
        return self._page(found, page, size)

    async def _sources(self, request: web.Request) -> web.Response:
        listed = [s for s in SOURCES if s.id]
        for name in ("country", "category", "language"):
            if request.query.get(name):
                listed = [s for s in listed if getattr(s, name) == request.query[name]]
        return web.json_response({"status": "ok", "sources": [s.listing() for s in listed]})


def main(argv: list[str] | None = None) -> None:
    def options(parser: Any) -> None:
        parser.add_argument("--requests-per-day", type=int, default=100, help="0 for unlimited")
        parser.add_argument("--seed", type=int, default=7)

    serve_cli(
        "python -m ntlab.news.fake",
        f"Serve a fake News API v2 on loopback. Demo key: {FAKE_NEWS_KEY}",
        lambda a: FakeNewsAPI(
            host=a.host, port=a.port, seed=a.seed, requests_per_day=a.requests_per_day or None
        ),
        lambda s: f"fake News API on {s.base_url} (key {FAKE_NEWS_KEY}): NEWS_API_URL={s.base_url}",
        argv,
        options,
    )


if __name__ == "__main__":
    main()
