"""Odds formats and implied probability, worked by hand."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ntlab.errors import DataError
from ntlab.odds import american_from_decimal, decimal_from_american, implied_probability
from ntlab.odds.prices import american_array_from_decimal, decimal_array_from_american, implied


def test_american_to_decimal_by_hand() -> None:
    assert decimal_from_american(240) == Decimal("3.40")  # 1 + 240/100
    assert decimal_from_american(-303) == 1 + Decimal(100) / 303  # 1.330033...
    assert decimal_from_american(100) == decimal_from_american(-100) == 2


def test_decimal_to_american_by_hand() -> None:
    assert american_from_decimal(2.5) == 150  # 100 * 1.5
    assert american_from_decimal(1.5) == -200  # -100 / 0.5
    assert american_from_decimal(2.0) == 100
    assert american_from_decimal(1.91) == -110  # -100 / 0.91 = -109.89


def test_implied_probability_by_hand() -> None:
    assert implied_probability(2.5) == Decimal("0.4")
    assert implied_probability(240, "american") == Decimal(100) / 340  # 0.2941
    assert implied_probability(-303, "american") == Decimal(303) / 403  # 0.7519
    # the two formats of one price agree
    assert implied_probability(-303, "american") == implied_probability(decimal_from_american(-303))


@pytest.mark.parametrize(
    ("value", "odds_format"), [(1.0, "decimal"), (0.5, "decimal"), (50, "american"), (-99, "american")]
)
def test_invalid_prices_are_refused(value: float, odds_format: str) -> None:
    with pytest.raises(DataError, match="not valid"):
        implied_probability(value, odds_format)


def test_vectorised_helpers_give_nan_not_zero() -> None:
    assert np.allclose(implied([2.0, 4.0]), [0.5, 0.25])
    assert np.isnan(implied([1.0, np.nan, 0.0])).all()
    assert np.allclose(decimal_array_from_american([240, -303]), [3.4, 1 + 100 / 303])
    assert np.isnan(decimal_array_from_american([50])).all()
    assert american_array_from_decimal([2.5, 1.5]).tolist() == [150.0, -200.0]
