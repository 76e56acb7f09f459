"""News API articles as one flat DataFrame: one row per article, times in UTC, symbols as a tag string."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

HEADLINE_COLUMNS = ["published_at", "source", "source_id", "author", "title", "description", "url", "symbols"]
REMOVED = "[Removed]"  # News API's placeholder for an article taken down by its publisher


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def headlines_frame(articles: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Articles (News API's JSON objects) as a frame in time order, without duplicates or removed articles.

    Paging a live search can return an article twice (new ones push the pages along), so rows are unique by
    URL, the earliest copy kept. ``symbols`` is left empty here; :class:`~ntlab.news.SymbolMatcher` fills it.
    """
    rows = []
    for article in articles:
        source = article.get("source") or {}
        if article.get("title") == REMOVED or source.get("name") == REMOVED:
            continue
        rows.append(
            {
                "published_at": article.get("publishedAt"),
                "source": _text(source.get("name")),
                "source_id": _text(source.get("id")),
                "author": _text(article.get("author")),
                "title": _text(article.get("title")),
                "description": _text(article.get("description")),
                "url": _text(article.get("url")),
            }
        )
    frame = pd.DataFrame(rows, columns=HEADLINE_COLUMNS[:-1])
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True, errors="coerce").dt.as_unit("ns")
    for column in HEADLINE_COLUMNS[1:-1]:
        frame[column] = frame[column].astype("string")
    frame["symbols"] = pd.Series("", index=frame.index, dtype="string")
    frame = frame.sort_values("published_at", kind="stable", na_position="last")
    with_url = frame["url"].notna()
    frame = frame[~(with_url & frame["url"].duplicated(keep="first"))]
    return frame.reset_index(drop=True)


def sources_frame(sources: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    columns = ["id", "name", "description", "url", "category", "language", "country"]
    return pd.DataFrame([{c: s.get(c) for c in columns} for s in sources], columns=columns).astype("string")
