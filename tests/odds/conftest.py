"""Fixtures: a fake The Odds API on a free loopback port and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pandas as pd
import pytest

from ntlab.odds import OddsClient
from ntlab.odds.fake import FAKE_ODDS_KEY, FakeOddsAPI
from ntlab.webapi import RetryPolicy


def make_client(fake: FakeOddsAPI, **options: object) -> OddsClient:
    options.setdefault("retry", RetryPolicy(attempts=3, initial=0.001, maximum=0.01))
    options.setdefault("base_url", fake.base_url)
    return OddsClient(FAKE_ODDS_KEY, **options)  # type: ignore[arg-type]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOddsAPI]:
    async with FakeOddsAPI(requests_per_second=None) as server:
        yield server


@pytest.fixture
def client(fake: FakeOddsAPI) -> OddsClient:
    return make_client(fake)


def book(
    rows: list[tuple[str, str, str, float]],
    *,
    market: str = "h2h",
    event: str = "e1",
    point: float | None = None,
) -> pd.DataFrame:
    """A small odds frame by hand: (bookmaker, outcome, _, price) rows of one event's market."""
    return pd.DataFrame(
        {
            "event_id": event,
            "bookmaker": [r[0] for r in rows],
            "market": market,
            "description": pd.array([None] * len(rows), dtype="string"),
            "line": point if point is not None else float("nan"),
            "outcome": [r[1] for r in rows],
            "point": float("nan") if point is None else [float(r[2]) for r in rows],
            "price": [r[3] for r in rows],
            "home_team": "Home",
            "away_team": "Away",
        }
    )
