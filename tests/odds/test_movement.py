"""Odds movement from repeated snapshots, by hand and through the fake's moving clock."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from ntlab.errors import DataError
from ntlab.odds import OddsClient, odds_history, odds_movement, plot_movement
from ntlab.odds.fake import FakeOddsAPI
from tests.odds.conftest import book

matplotlib.use("Agg")


def snapshot(price_home: float, at: str) -> pd.DataFrame:
    frame = book([("a", "Home", "", price_home), ("a", "Away", "", 1.9)])
    return frame.assign(last_update=pd.Timestamp(at, tz="UTC"))


def test_movement_by_hand() -> None:
    snaps = [
        snapshot(2.0, "2026-03-02T12:00"),
        snapshot(2.2, "2026-03-02T12:05"),
        snapshot(2.2, "2026-03-02T12:05"),
        snapshot(2.1, "2026-03-02T12:10"),
    ]
    history = odds_history(snaps)
    assert len(history) == 6  # the repeated 12:05 snapshot counts once
    moves = odds_movement(snaps).set_index("outcome")
    home = moves.loc["Home"]
    assert (home["open_price"], home["last_price"], home["moves"]) == (2.0, 2.1, 2)
    assert home["change"] == pytest.approx(0.1)
    assert home["implied_change"] == pytest.approx(1 / 2.1 - 1 / 2.0)  # −0.0238: less likely now
    assert moves.loc["Away", "moves"] == 0 and moves.loc["Away", "implied_change"] == 0
    assert moves.index[0] == "Home"  # biggest move first
    with pytest.raises(DataError, match="no snapshots"):
        odds_history([])


async def test_movement_from_the_fakes_clock(fake: FakeOddsAPI, client: OddsClient) -> None:
    snaps = []
    for _ in range(4):
        snaps.append(await client.aodds("soccer_epl", regions="eu", markets="h2h"))
        fake.advance(15)
    history = odds_history(snaps)
    moves = odds_movement(history)
    assert (moves["moves"] > 0).any()
    assert (moves["last_time"] >= moves["open_time"]).all()
    # slow books re-price less often than quick ones
    per_book = moves.groupby("bookmaker")["moves"].mean()
    assert per_book["marathonbet"] < per_book["pinnacle"]
    event = history["event_id"].iloc[0]
    figure = plot_movement(history, event, outcome="Draw")
    assert len(figure.axes[0].get_lines()) == history[history["event_id"] == event]["bookmaker"].nunique()
    with pytest.raises(DataError, match="no prices for outcome"):
        plot_movement(history, event, outcome="Nobody")
