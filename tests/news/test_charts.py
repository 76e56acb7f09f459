"""Headlines next to fills: the join worked by hand, and the charts drawn from a real paper session."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import pandas as pd
import pytest

from ntlab import Lab
from ntlab.errors import DataError
from ntlab.news import (
    fills_before_headlines,
    headlines_frame,
    markouts_with_headlines,
    price_with_headlines,
)
from ntlab.news.fake import FakeNewsAPI
from tests.news.conftest import make_client

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def headlines(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = headlines_frame(
        [
            {
                "source": {"id": None, "name": "Wire"},
                "title": t,
                "description": None,
                "url": f"u{i}",
                "publishedAt": at,
            }
            for i, (at, t, _) in enumerate(rows)
        ]
    )
    frame["symbols"] = pd.array([s for *_, s in rows], dtype="string")
    return frame


def test_fills_before_headlines_by_hand() -> None:
    news = headlines(
        ("2026-03-02T15:05:00Z", "Nvidia order", "NVDA"),
        ("2026-03-02T15:20:00Z", "Apple and Nvidia", "AAPL,NVDA"),
    )
    fills = pd.DataFrame(
        {
            "time": pd.to_datetime(
                [
                    "2026-03-02T15:00:00Z",
                    "2026-03-02T15:04:59Z",
                    "2026-03-02T15:06:00Z",
                    "2026-03-02T15:16:00Z",
                    "2026-03-02T15:19:00Z",
                ],
                utc=True,
            ),
            "symbol": ["NVDA", "NVDA", "NVDA", "AAPL", "MSFT"],
        },
        index=["f1", "f2", "f3", "f4", "f5"],
    )
    near = fills_before_headlines(fills, news, within="5min")
    assert near.index.tolist() == ["f1", "f2", "f3", "f4", "f5"]
    # f1: 15:00 -> 15:05 is exactly 5 min, inside; f2: 1 s before; f3: after it, next NVDA news 15:20 is 14 min
    # away; f4: AAPL news 4 min later (the headline tagged with two symbols counts for each); f5: no MSFT news
    assert near["seconds_to_headline"].tolist()[:2] == [300.0, 1.0]
    assert near["headline"].tolist()[:2] == ["Nvidia order", "Nvidia order"]
    assert pd.isna(near.loc["f3", "headline_time"])
    assert near.loc["f4", "headline"] == "Apple and Nvidia" and near.loc["f4", "seconds_to_headline"] == 240.0
    assert pd.isna(near.loc["f5", "headline_time"])
    wider = fills_before_headlines(fills, news, within="15min")
    assert wider.loc["f3", "seconds_to_headline"] == 840.0


@pytest.fixture
def session() -> Iterator[Lab]:
    lab = Lab(journal=None)
    lab.buy("NVDA", 500)
    lab.advance("6min")
    lab.sell("NVDA", 300)
    lab.advance("20min")
    lab.buy("NVDA", 200)
    lab.buy("AAPL", 100)
    lab.advance("10min")
    yield lab
    lab.close()
    plt.close("all")


def test_price_chart_marks_the_headlines_of_the_symbol(session: Lab, threaded_fake: FakeNewsAPI) -> None:
    news = session.news("NVDA", days=1, client=make_client(threaded_fake))
    quotes = session.broker.market.quotes  # type: ignore[attr-defined]
    figure = price_with_headlines(quotes, news, "NVDA", fills=session.fills)
    ax = figure.axes[0]
    start, end = (
        session.fills["time"].min() - pd.Timedelta("10min"),
        session.fills["time"].max() + pd.Timedelta("20min"),
    )
    expected = news["published_at"].between(start, end).sum()
    vertical = [line for line in ax.get_lines() if len(set(line.get_xdata())) == 1]  # axvline: x, x
    assert expected >= 2 and len(vertical) == expected
    labels = ax.get_legend_handles_labels()[1]
    assert {"mid", "buy fills", "sell fills", "headline"} <= set(labels)
    with pytest.raises(DataError, match="no quotes for 'XYZ'"):
        price_with_headlines(quotes, news, "XYZ")


def test_markout_chart_splits_fills_before_headlines(session: Lab, threaded_fake: FakeNewsAPI) -> None:
    report = session.tca()
    news = session.news("NVDA", days=1, client=make_client(threaded_fake))
    near = fills_before_headlines(report, news, within="10min")["headline_time"].notna()
    assert 0 < near.sum() < len(report.fills)
    figure = markouts_with_headlines(report, news, within="10min")
    left, _right = figure.axes[:2]
    labels = left.get_legend_handles_labels()[1]
    assert labels == [f"≤ 10min before a headline ({near.sum()})", f"other fills ({(~near).sum()})"]
    assert [t.get_text() for t in left.get_xticklabels()] == report.horizons
    # the frame form works as well as the report, given markout columns
    markouts_with_headlines(report.fills, news, within="10min", horizon="1m")
    with pytest.raises(DataError, match="horizon"):
        markouts_with_headlines(report, news, horizon="3h")
    with pytest.raises(DataError, match="markout_bps_"):
        markouts_with_headlines(session.fills, news)
