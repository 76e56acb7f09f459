"""lab.news: the days before the session's clock, through the client given or NEWS_API_KEY's."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from ntlab import Lab
from ntlab.news.fake import FakeNewsAPI
from tests.news.conftest import make_client


def test_news_window_ends_at_the_session_clock(threaded_fake: FakeNewsAPI) -> None:
    with Lab(journal=None) as lab:
        lab.advance("30min")
        now = lab.now()
        frame = lab.news("NVDA", days=3, client=make_client(threaded_fake))
        assert len(frame) and frame["symbols"].eq("NVDA").all()
        assert frame["published_at"].max() <= now
        assert frame["published_at"].min() >= now - pd.Timedelta(days=3)
        _, params = threaded_fake.log[-1]
        assert params["q"] == "NVDA OR Nvidia" and params["to"] == now.strftime("%Y-%m-%dT%H:%M:%S")
        later = asyncio.run(lab.anews("NVDA", days=3, client=make_client(threaded_fake)))
        pd.testing.assert_frame_equal(frame, later)


def test_news_reads_the_environment(threaded_fake: FakeNewsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_API_KEY", threaded_fake.api_key)
    monkeypatch.setenv("NEWS_API_URL", threaded_fake.base_url)
    with Lab(journal=None) as lab:
        assert len(lab.news("AAPL", days=1)) > 0
