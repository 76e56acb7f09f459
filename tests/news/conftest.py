"""Fixtures: a fake News API on a free loopback port and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ntlab.news import NewsClient
from ntlab.news.fake import FAKE_NEWS_KEY, FakeNewsAPI
from ntlab.webapi import RetryPolicy


def make_client(fake: FakeNewsAPI, **options: object) -> NewsClient:
    options.setdefault("retry", RetryPolicy(attempts=3, initial=0.001, maximum=0.01))
    options.setdefault("base_url", fake.base_url)
    return NewsClient(FAKE_NEWS_KEY, **options)  # type: ignore[arg-type]


@pytest.fixture
async def fake() -> AsyncIterator[FakeNewsAPI]:
    async with FakeNewsAPI() as server:
        yield server


@pytest.fixture
def client(fake: FakeNewsAPI) -> NewsClient:
    return make_client(fake)


@pytest.fixture
def threaded_fake() -> Iterator[FakeNewsAPI]:
    """The fake on a loop of its own thread, for sync callers (the Lab, requests-based clients)."""
    server = FakeNewsAPI().start_background()
    try:
        yield server
    finally:
        server.stop_background()
