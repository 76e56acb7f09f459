"""Overround, margin removal (proportional and Shin) and consensus, each worked by hand, and the property
that margin-free probabilities sum to 1."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.errors import DataError
from ntlab.odds import consensus, no_vig, overround, shin_probabilities
from tests.odds.conftest import book


def test_overround_by_hand() -> None:
    odds = book(
        [("a", "Home", "", 1.91), ("a", "Away", "", 1.91), ("b", "Home", "", 1.5), ("b", "Away", "", 2.5)]
    )
    table = overround(odds).set_index("bookmaker")
    # a: 2/1.91 = 1.047120; b: 1/1.5 + 1/2.5 = 0.666667 + 0.4 = 1.066667
    assert table.loc["a", "booksum"] == pytest.approx(2 / 1.91)
    assert table.loc["a", "overround"] == pytest.approx(0.047120, abs=1e-6)
    assert table.loc["b", "booksum"] == pytest.approx(16 / 15)
    assert table.loc["b", "hold"] == pytest.approx(1 - 15 / 16)  # 0.0625
    assert table["outcomes"].tolist() == [2, 2]


def test_proportional_by_hand() -> None:
    odds = book([("b", "Home", "", 1.5), ("b", "Away", "", 2.5)])
    fair = no_vig(odds)
    # (2/3) / (16/15) = 0.625 ; 0.4 / (16/15) = 0.375
    assert fair["fair_prob"].tolist() == pytest.approx([0.625, 0.375])
    assert fair["fair_price"].tolist() == pytest.approx([1.6, 1 / 0.375])


def test_shin_by_hand() -> None:
    # Chosen so the numbers come out whole: insiders z = 165/364 and true probabilities p = (0.35, 0.65)
    # give z·p + (1 − z)·p² = 0.225625 = 0.475² and 0.525625 = 0.725², so β = 0.475 + 0.725 = 1.2 and the
    # bookmaker's implied probabilities are π = β·(0.475, 0.725) = (0.57, 0.87), booksum B = 1.44.
    p, z = shin_probabilities([0.57, 0.87])
    assert p.tolist() == pytest.approx([0.35, 0.65], abs=1e-10)
    assert z == pytest.approx(165 / 364, abs=1e-10)
    # the same book without the insider model: proportional gives 0.57/1.44 and 0.87/1.44
    odds = book([("x", "Home", "", 1 / 0.57), ("x", "Away", "", 1 / 0.87)])
    assert no_vig(odds)["fair_prob"].tolist() == pytest.approx([0.395833, 0.604167], abs=1e-6)
    shin = no_vig(odds, "shin")
    assert shin["fair_prob"].tolist() == pytest.approx([0.35, 0.65], abs=1e-9)
    assert shin["shin_z"].iloc[0] == pytest.approx(165 / 364, abs=1e-9)


def test_shin_moves_margin_onto_the_long_shot() -> None:
    odds = book([("x", "Fav", "", 1.25), ("x", "Long", "", 3.8)])
    proportional = no_vig(odds)["fair_prob"].to_numpy()
    shin = no_vig(odds, "shin")["fair_prob"].to_numpy()
    assert shin[0] > proportional[0] and shin[1] < proportional[1]


def test_shin_edges() -> None:
    p, z = shin_probabilities([0.5, 0.5])  # no margin: z = 0, probabilities unchanged
    assert z == 0 and p.tolist() == [0.5, 0.5]
    p, z = shin_probabilities([0.45, 0.5])  # sums below 1: no Shin solution, NaN (never a guess)
    assert math.isnan(z) and np.isnan(p).all()
    odds = book([("x", "Home", "", 1 / 0.45), ("x", "Away", "", 2.0)])
    row = no_vig(odds, "shin").iloc[0]
    assert math.isnan(row["fair_prob"]) and "booksum below 1" in row["note"]
    with pytest.raises(DataError, match="method"):
        no_vig(odds, "power")
    with pytest.raises(DataError, match="columns"):
        no_vig(odds.drop(columns=["line"]))


def test_consensus_by_hand() -> None:
    odds = book(
        [("a", "Home", "", 1.5), ("a", "Away", "", 2.5), ("b", "Home", "", 1.6), ("b", "Away", "", 2.4)]
    )
    table = consensus(odds).set_index("outcome")
    # a: 0.625 / 0.375 ; b: (0.625, 0.416667)/1.041667 = 0.6 / 0.4 ; mean: 0.6125 / 0.3875
    assert table.loc["Home", "consensus_prob"] == pytest.approx(0.6125)
    assert table.loc["Away", "consensus_prob"] == pytest.approx(0.3875)
    assert table.loc["Home", "books"] == 2 and table.loc["Home", "spread"] == pytest.approx(0.025)
    assert table.loc["Home", "best_price"] == 1.6 and table.loc["Home", "best_bookmaker"] == "b"
    assert table.loc["Away", "best_bookmaker"] == "a"
    assert table.loc["Home", "edge"] == pytest.approx(1.6 * 0.6125 - 1)  # -0.02


prices = st.floats(min_value=1.02, max_value=40.0, allow_nan=False)


@given(st.lists(prices, min_size=2, max_size=6), st.sampled_from(["proportional", "shin"]))
@settings(max_examples=200, deadline=None)
def test_no_vig_probabilities_sum_to_one(quoted: list[float], method: str) -> None:
    odds = book([("x", f"o{i}", "", d) for i, d in enumerate(quoted)])
    fair = no_vig(odds, method)["fair_prob"].to_numpy()
    if method == "shin" and sum(1 / d for d in quoted) < 1:
        assert np.isnan(fair).all()  # no Shin solution without a margin: said, not guessed
        return
    assert fair.sum() == pytest.approx(1.0, abs=1e-9)
    assert ((fair > 0) & (fair < 1)).all()


@given(st.lists(st.lists(prices, min_size=3, max_size=3), min_size=1, max_size=5))
@settings(max_examples=100, deadline=None)
def test_consensus_sums_to_one(books: list[list[float]]) -> None:
    rows = [
        (f"b{j}", name, "", d)
        for j, quoted in enumerate(books)
        for name, d in zip("HDA", quoted, strict=True)
    ]
    table = consensus(book(rows))
    assert table["consensus_prob"].sum() == pytest.approx(1.0, abs=1e-9)
