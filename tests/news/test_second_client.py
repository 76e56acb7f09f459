"""The unofficial newsapi-python client, pointed at the fake through its URL constants: the fake answers a
client ntlab did not write, and both clients read the same articles."""

from __future__ import annotations

import asyncio

import pytest
from newsapi import NewsApiClient, const
from newsapi.newsapi_exception import NewsAPIException

from ntlab.news import NewsClient, headlines_frame
from ntlab.news.fake import FakeNewsAPI
from tests.news.conftest import make_client


@pytest.fixture
def pointed(monkeypatch: pytest.MonkeyPatch, fake: FakeNewsAPI) -> NewsApiClient:
    monkeypatch.setattr(const, "EVERYTHING_URL", f"{fake.base_url}/v2/everything")
    monkeypatch.setattr(const, "TOP_HEADLINES_URL", f"{fake.base_url}/v2/top-headlines")
    monkeypatch.setattr(const, "SOURCES_URL", f"{fake.base_url}/v2/sources")
    return NewsApiClient(api_key=fake.api_key)


async def test_everything_reads_the_same_in_both_clients(pointed: NewsApiClient, fake: FakeNewsAPI) -> None:
    # newsapi-python is synchronous (requests): run it off the loop the fake serves on
    body = await asyncio.to_thread(
        pointed.get_everything, q="Nvidia", from_param="2026-02-27", to="2026-03-02T21:00:00", page_size=50
    )
    assert body["status"] == "ok" and body["totalResults"] >= len(body["articles"]) > 0
    article = body["articles"][0]
    assert set(article) == {
        "source",
        "author",
        "title",
        "description",
        "url",
        "urlToImage",
        "publishedAt",
        "content",
    }
    assert set(article["source"]) == {"id", "name"}
    ours: NewsClient = make_client(fake)
    frame = await ours.aeverything("Nvidia", start="2026-02-27", end="2026-03-02T21:00:00", page_size=50)
    assert set(frame["url"]) == set(headlines_frame(body["articles"])["url"])


async def test_top_headlines_and_sources(pointed: NewsApiClient) -> None:
    body = await asyncio.to_thread(pointed.get_top_headlines, category="business", country="us")
    assert body["status"] == "ok" and body["articles"]
    sources = await asyncio.to_thread(pointed.get_sources, language="en")
    assert {"reuters", "cnbc"} <= {s["id"] for s in sources["sources"]}


async def test_errors_reach_it_as_news_api_sends_them(pointed: NewsApiClient, fake: FakeNewsAPI) -> None:
    fake.fail_next(1, "rateLimited")
    with pytest.raises(NewsAPIException) as caught:
        await asyncio.to_thread(pointed.get_everything, q="Nvidia")
    assert caught.value.get_status() == "error" and caught.value.get_code() == "rateLimited"
    with pytest.raises(NewsAPIException) as missing:
        await asyncio.to_thread(pointed.get_everything)
    assert missing.value.get_code() == "parametersMissing"
    with pytest.raises(NewsAPIException) as capped:
        await asyncio.to_thread(pointed.get_everything, q="Apple", page_size=100, page=2)
    assert capped.value.get_code() == "maximumResultsReached"
