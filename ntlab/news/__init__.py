"""Headlines from News API as DataFrames, tagged with the symbols they are about, and charts next to fills.

``NewsClient()`` (key from ``NEWS_API_KEY``) -> ``client.everything("Nvidia", start=..., end=...)``,
``client.top_headlines(category="business")``, ``client.symbol_news("NVDA", days=3)``; each has an async twin
(``aeverything``...). Pages are fetched as needed and cached (:class:`NewsCache`), errors are
:class:`NewsApiError` subclasses saying what to do, symbols come from :class:`SymbolMatcher`'s documented
rule. Needs the ``news`` extra (httpx); the charts need ``plots`` (matplotlib); the fake needs ``fakes``.
"""

from ntlab.news.cache import NewsCache
from ntlab.news.charts import (
    fills_before_headlines,
    headlines_by_symbol,
    mark_headlines,
    markouts_with_headlines,
    price_with_headlines,
)
from ntlab.news.client import NEWS_API_URL, NewsClient, NewsSettings, TruncatedWarning
from ntlab.news.errors import (
    NewsApiError,
    NewsAuthError,
    NewsLimitReached,
    NewsRateLimited,
    NewsRequestError,
    NewsUnavailable,
)
from ntlab.news.frames import HEADLINE_COLUMNS, headlines_frame
from ntlab.news.symbols import DEFAULT_NAMES, SymbolMatcher, has_symbol

__all__ = [
    "DEFAULT_NAMES",
    "HEADLINE_COLUMNS",
    "NEWS_API_URL",
    "NewsApiError",
    "NewsAuthError",
    "NewsCache",
    "NewsClient",
    "NewsLimitReached",
    "NewsRateLimited",
    "NewsRequestError",
    "NewsSettings",
    "NewsUnavailable",
    "SymbolMatcher",
    "TruncatedWarning",
    "fills_before_headlines",
    "has_symbol",
    "headlines_by_symbol",
    "headlines_frame",
    "mark_headlines",
    "markouts_with_headlines",
    "price_with_headlines",
]
