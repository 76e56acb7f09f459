"""Fixtures: each vendor's fake on a free loopback port, providers pointed at them, a cache in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pandas as pd
import pytest

from ntlab.market.cache import ParquetCache
from ntlab.market.fakes.alpaca import FakeAlpacaData
from ntlab.market.fakes.alphavantage import FakeAlphaVantage
from ntlab.market.fakes.polygon import FakePolygon
from ntlab.market.fakes.yahoo import FakeYahoo
from ntlab.market.providers.sample import SampleData

NOW = pd.Timestamp("2026-03-10 12:00", tz="UTC")  # what "now" is for the fakes and the providers here
FRIDAY, MONDAY = "2026-02-27", "2026-03-02"


@pytest.fixture
def cache(tmp_path) -> ParquetCache:
    return ParquetCache(tmp_path / "cache")


@pytest.fixture
def sample() -> SampleData:
    return SampleData(cache=None)


@pytest.fixture
async def polygon_fake() -> AsyncIterator[FakePolygon]:
    async with FakePolygon() as fake:
        fake.now = NOW
        yield fake


@pytest.fixture
async def alpaca_fake() -> AsyncIterator[FakeAlpacaData]:
    async with FakeAlpacaData(per_minute=None) as fake:
        fake.now = NOW
        yield fake


@pytest.fixture
async def alphavantage_fake() -> AsyncIterator[FakeAlphaVantage]:
    async with FakeAlphaVantage(first_day="2026-02-01") as fake:
        fake.now = NOW
        yield fake


@pytest.fixture
async def yahoo_fake() -> AsyncIterator[FakeYahoo]:
    async with FakeYahoo() as fake:
        fake.now = NOW
        yield fake


def assert_same_rows(
    got: pd.DataFrame, expected: pd.DataFrame, columns: list[str], decimals: int | None = None
) -> None:
    """Same rows in the same order: nothing duplicated, nothing lost."""
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    assert list(got["time"]) == list(expected["time"])
    left, right = got[columns].to_numpy(), expected[columns].to_numpy()
    if decimals is not None:
        left, right = left.round(decimals), right.round(decimals)
    assert (left == right).all()
