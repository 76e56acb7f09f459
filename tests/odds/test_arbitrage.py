"""Best prices and arbitrage, worked by hand, and the property that an arbitrage's stakes pay the same on
every outcome (in Decimal, with the placed stakes never above the bankroll)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntlab.errors import DataError
from ntlab.odds import arbitrage, arbitrage_legs, best_prices, lock_in
from tests.odds.conftest import book

TWO_BOOKS = [
    ("a", "Home", "", 2.10),
    ("a", "Away", "", 1.80),
    ("b", "Home", "", 1.95),
    ("b", "Away", "", 2.05),
]


def test_best_prices_by_hand() -> None:
    best = best_prices(book([*TWO_BOOKS, ("c", "Home", "", 2.1)])).set_index("outcome")
    assert best.loc["Home", "best_price"] == 2.10 and best.loc["Home", "best_bookmakers"] == "a,c"  # a tie
    assert best.loc["Away", "best_price"] == 2.05 and best.loc["Away", "best_bookmakers"] == "b"
    assert best.loc["Home", "books"] == 3 and best.loc["Away", "books"] == 2


def test_arbitrage_by_hand() -> None:
    # S = 1/2.10 + 1/2.05 = (2.05 + 2.10)/(2.10 × 2.05) = 4.15/4.305 = 0.963995; profit 1/S − 1 = 3.7349 %
    arbs = arbitrage(book(TWO_BOOKS))
    assert len(arbs) == 1
    row = arbs.iloc[0]
    assert row["implied_sum"] == pytest.approx(4.15 / 4.305)
    assert row["profit_pct"] == pytest.approx((4.305 / 4.15 - 1) * 100)
    assert row["legs"] == "Home @ 2.1 (a); Away @ 2.05 (b)"


def test_lock_in_by_hand() -> None:
    # stakes W·(1/d)/S: home 1000·2.05/4.15 = 493.9759 -> 493.97, away 1000·2.10/4.15 = 506.0241 -> 506.02
    locked = lock_in({"Home": 2.10, "Away": 2.05}, Decimal(1000))
    assert locked.stakes == {"Home": Decimal("493.97"), "Away": Decimal("506.02")}
    assert locked.staked == Decimal("999.99")
    assert locked.payouts == {"Home": Decimal("1037.3370"), "Away": Decimal("1037.3410")}
    assert locked.guaranteed == Decimal("1037.3370") and locked.profit == Decimal("37.3470")
    assert round(locked.exact_payout, 4) == Decimal("1037.3494")  # W/S = 1000·4.305/4.15
    assert locked.is_arbitrage
    frame = locked.frame()
    assert frame.loc["Home", "stake"] == Decimal("493.97")


def test_arbitrage_legs_carry_decimal_stakes() -> None:
    legs = arbitrage_legs(book(TWO_BOOKS), "1000")
    assert legs["outcome"].tolist() == ["Home", "Away"]
    assert legs["stake"].tolist() == [Decimal("493.97"), Decimal("506.02")]
    assert all(isinstance(v, Decimal) for v in legs["payout"])
    assert set(legs["profit"]) == {Decimal("37.3470")}


def test_no_arbitrage_when_the_best_prices_sum_above_one() -> None:
    fair = book(
        [("a", "Home", "", 1.91), ("a", "Away", "", 1.91), ("b", "Home", "", 1.95), ("b", "Away", "", 1.87)]
    )
    assert arbitrage(fair).empty and arbitrage_legs(fair, 100).empty
    locked = lock_in({"Home": 1.95, "Away": 1.91}, 100)
    assert not locked.is_arbitrage and locked.profit < 0  # still computable: a guaranteed loss


def test_three_way_market_and_a_one_sided_line() -> None:
    three = book(
        [
            ("a", "Home", "", 2.0),
            ("a", "Away", "", 4.0),
            ("a", "Draw", "", 3.0),
            ("b", "Home", "", 3.0),
            ("b", "Away", "", 5.0),
        ]
    )
    # best: Home 3.0 (b), Away 5.0 (b), Draw 3.0 (a): S = 1/3 + 1/5 + 1/3 = 13/15 -> a three-outcome arbitrage
    arbs = arbitrage(three)
    assert arbs["outcomes"].tolist() == [3]
    assert arbs["implied_sum"].iloc[0] == pytest.approx(13 / 15)
    one_side = book([("a", "Home", "-4.5", 2.5)], market="spreads", point=4.5)
    assert arbitrage(one_side).empty  # a line with one side quoted is nothing to lock in


def test_spreads_pair_the_two_sides_of_a_line() -> None:
    odds = book(
        [
            ("a", "Home", "-3.5", 2.08),
            ("a", "Away", "3.5", 1.80),
            ("b", "Home", "-3.5", 1.80),
            ("b", "Away", "3.5", 2.08),
        ],
        market="spreads",
        point=3.5,
    )
    arbs = arbitrage(odds)
    assert len(arbs) == 1 and arbs.iloc[0]["legs"] == "Home -3.5 @ 2.08 (a); Away +3.5 @ 2.08 (b)"


def test_lock_in_refuses_nonsense() -> None:
    with pytest.raises(DataError, match="two outcomes"):
        lock_in({"Home": 2.0}, 100)
    with pytest.raises(DataError, match="above 1"):
        lock_in({"Home": 2.0, "Away": 1.0}, 100)
    with pytest.raises(DataError, match="positive"):
        lock_in({"Home": 2.0, "Away": 2.1}, 0)


@st.composite
def arbitrage_prices(draw: st.DrawFn) -> dict[str, Decimal]:
    """Prices of 2–5 outcomes whose implied probabilities sum below 1 (an arbitrage), to two decimals."""
    n = draw(st.integers(2, 5))
    weights = [draw(st.integers(1, 100)) for _ in range(n)]
    total = sum(weights)
    squeeze = draw(st.floats(0.80, 0.995))
    prices = {}
    for i, w in enumerate(weights):
        price = Decimal(total) / Decimal(w) / Decimal(repr(squeeze))
        prices[f"o{i}"] = max(Decimal("1.01"), price.quantize(Decimal("0.01"), rounding="ROUND_UP"))
    return prices


@given(arbitrage_prices(), st.decimals(min_value=Decimal("10"), max_value=Decimal("1000000"), places=2))
@settings(max_examples=300, deadline=None)
def test_arbitrage_stakes_pay_the_same_on_every_outcome(
    prices: dict[str, Decimal], bankroll: Decimal
) -> None:
    locked = lock_in(prices, bankroll)
    assert locked.is_arbitrage
    exact = {name: locked.exact_stakes[name] * prices[name] for name in prices}
    assert max(exact.values()) - min(exact.values()) <= Decimal("1e-25") * bankroll  # equal, to 40 digits
    assert locked.staked <= bankroll  # placed stakes are rounded down: never more than the bankroll
    unit = Decimal("0.01")
    for name, payout in locked.payouts.items():
        digits = Decimal("1e-25") * bankroll  # the exact payout is exact to 40 digits, not beyond
        assert (
            locked.exact_payout - unit * prices[name] <= payout <= locked.exact_payout + digits
        )  # within a cent's worth
    assert all(
        isinstance(v, Decimal) for v in (*locked.stakes.values(), *locked.payouts.values(), locked.profit)
    )
