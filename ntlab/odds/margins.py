"""The bookmaker's margin: overround per bookmaker and market, and the margin taken out of the prices.

A *book* is one bookmaker's prices on one market of one event (and one line for spreads and totals, one
subject for player props). With
implied probabilities ``πᵢ = 1/dᵢ`` its booksum is ``B = Σ πᵢ``; the overround is ``B − 1`` (what the
prices add up to beyond certainty) and the hold ``1 − 1/B`` (the share of a balanced book the bookmaker
keeps).

Removing the margin ("no-vig" probabilities ``pᵢ``, summing to 1):

- **proportional**: ``pᵢ = πᵢ / B``, the margin spread over outcomes in proportion to their price.
- **Shin** (Shin 1992/1993; the form of Jullien & Salanié 1994): the bookmaker prices against a share
  ``z`` of insiders, which loads more margin onto long shots. For a given ``z``

      pᵢ(z) = ( √(z² + 4·(1 − z)·πᵢ²/B) − z ) / ( 2·(1 − z) )

  and ``z`` is the value in [0, 1) for which ``Σ pᵢ(z) = 1``. ``Σ pᵢ(0) = √B`` exceeds 1 whenever there
  is a margin, and the sum falls steadily towards ``Σ πᵢ²/B ≤ 1`` as ``z → 1``, so there is exactly one root;
  it is found by bisection to 1e-12 (deterministic, no solver dependency). A book without a margin
  (``B = 1``) gives ``z = 0`` and ``pᵢ = πᵢ``; a book summing below 1 (an arbitrage inside one bookmaker,
  usually a stale price) has no Shin solution: its probabilities are NaN with the reason in ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.odds.prices import implied

# a market is one event's market on one line (spreads, totals) and one subject (a player, for props)
MARKET_KEYS = ["event_id", "market", "description", "line"]
BOOK_KEYS = ["event_id", "bookmaker", "market", "description", "line"]
OUTCOME_KEYS = [*MARKET_KEYS, "outcome"]


def _need(odds: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in odds.columns]
    if missing:
        raise DataError(
            f"an odds frame needs the columns {', '.join(missing)}: build it with OddsClient.odds()"
        )


def shin_books(
    implied: np.ndarray, books: np.ndarray, *, tolerance: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Shin's probabilities and ``z`` per row for many books at once: ``books`` numbers each row's book
    (0..n−1). One bisection runs for every book together (about 40 steps of array arithmetic), so a board
    of thousands of books costs milliseconds. Rows of books with a missing or invalid price, fewer than two
    outcomes or a booksum below 1 get NaN."""
    pi = np.asarray(implied, dtype=float)
    codes = np.asarray(books, dtype=np.intp)
    count = int(codes.max()) + 1 if codes.size else 0
    valid_rows = np.isfinite(pi) & (pi > 0)
    booksum = np.bincount(codes, weights=np.where(valid_rows, pi, 0.0), minlength=count)
    size = np.bincount(codes, minlength=count)
    good = (
        (np.bincount(codes, weights=valid_rows, minlength=count) == size)
        & (size >= 2)
        & (booksum >= 1 - 1e-15)
    )
    row_good = good[codes]
    square = np.where(row_good, pi**2 / booksum[codes], 0.0)

    def probabilities(z: np.ndarray) -> np.ndarray:
        zr = z[codes]
        return (np.sqrt(zr * zr + 4 * (1 - zr) * square) - zr) / (2 * (1 - zr))

    low, high = np.zeros(count), np.full(count, 1.0 - 1e-12)
    margin = booksum > 1 + 1e-15
    high = np.where(margin, high, 0.0)  # no margin: z = 0 exactly
    while np.any(high - low > tolerance):
        middle = (low + high) / 2
        above = np.bincount(codes, weights=probabilities(middle), minlength=count) > 1
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    z = (low + high) / 2
    p = probabilities(z)
    total = np.bincount(codes, weights=p, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / total[codes]  # the last renormalisation removes the bisection's residue (≤ 1e-12)
    return np.where(row_good, p, np.nan), np.where(good, z, np.nan)[codes]


def shin_probabilities(
    implied_probabilities: Sequence[float], *, tolerance: float = 1e-12
) -> tuple[np.ndarray, float]:
    """Shin's margin-free probabilities and the insider share ``z`` for one book's implied probabilities."""
    pi = np.asarray(implied_probabilities, dtype=float)
    if pi.size == 0:
        return pi, float("nan")
    p, z = shin_books(pi, np.zeros(pi.size, dtype=np.intp), tolerance=tolerance)
    return p, float(z[0])


def _books(odds: pd.DataFrame) -> pd.core.groupby.DataFrameGroupBy:
    return odds.groupby(BOOK_KEYS, dropna=False, sort=False, observed=True)


def overround(odds: pd.DataFrame) -> pd.DataFrame:
    """One row per book (event, bookmaker, market, line): outcomes, booksum, overround and hold."""
    _need(odds, [*BOOK_KEYS, "price"])
    frame = odds.assign(implied=implied(odds["price"]))
    books = frame.groupby(BOOK_KEYS, dropna=False, sort=False, observed=True)
    table = books.agg(outcomes=("outcome", "size"), booksum=("implied", "sum"))
    table["overround"] = table["booksum"] - 1
    with np.errstate(divide="ignore"):
        table["hold"] = 1 - 1 / table["booksum"]
    return table.reset_index()


def no_vig(odds: pd.DataFrame, method: str = "proportional") -> pd.DataFrame:
    """The odds frame with ``implied`` and ``fair_prob`` (margin removed per book by ``method``:
    "proportional" or "shin"), ``fair_price`` = 1/fair_prob, and for Shin ``shin_z`` and ``note``."""
    _need(odds, [*BOOK_KEYS, "price", "outcome"])
    if method not in ("proportional", "shin"):
        raise DataError(f"method={method!r}: use 'proportional' or 'shin'")
    frame = odds.copy()
    frame["implied"] = implied(frame["price"])
    booksum = frame.groupby(BOOK_KEYS, dropna=False, sort=False, observed=True)["implied"].transform("sum")
    if method == "proportional":
        frame["fair_prob"] = frame["implied"] / booksum
    else:
        codes = frame.groupby(BOOK_KEYS, dropna=False, sort=False, observed=True).ngroup().to_numpy()
        fair, z_values = shin_books(frame["implied"].to_numpy(), codes)
        notes = np.where(
            np.isnan(z_values),
            np.where(
                booksum.to_numpy() < 1, "booksum below 1: Shin's model needs a margin", "incomplete book"
            ),
            "",
        ).astype(object)
        frame["fair_prob"], frame["shin_z"], frame["note"] = fair, z_values, notes
    with np.errstate(divide="ignore"):
        frame["fair_price"] = 1 / frame["fair_prob"]
    return frame


def consensus(odds: pd.DataFrame, method: str = "proportional") -> pd.DataFrame:
    """The market's no-vig probability per outcome: the mean over bookmakers of each book's fair
    probability, renormalised within each market (event, market, line) so the outcomes sum to 1.

    Columns: ``consensus_prob``, ``fair_price`` (1/consensus), ``books`` (how many priced it), ``spread``
    (max − min of the books' fair probabilities: how much they disagree), ``best_price`` and its bookmaker,
    and ``edge`` = best_price · consensus_prob − 1, the expected return per unit at the best price if the
    consensus is right.
    """
    fair = no_vig(odds, method)
    groups = fair.groupby(OUTCOME_KEYS, dropna=False, sort=False, observed=True)
    table = groups.agg(
        point=("point", "first"),
        consensus_prob=("fair_prob", "mean"),
        books=("fair_prob", "count"),
        low=("fair_prob", "min"),
        high=("fair_prob", "max"),
        best_price=("price", "max"),
    ).reset_index()
    totals = table.groupby(MARKET_KEYS, dropna=False, sort=False, observed=True)["consensus_prob"].transform(
        "sum"
    )
    table["consensus_prob"] = table["consensus_prob"] / totals
    table["spread"] = table.pop("high") - table.pop("low")
    table["fair_price"] = 1 / table["consensus_prob"]
    best = fair.loc[fair.groupby(OUTCOME_KEYS, dropna=False, sort=False, observed=True)["price"].idxmax()]
    table["best_bookmaker"] = best["bookmaker"].to_numpy()
    table["edge"] = table["best_price"] * table["consensus_prob"] - 1
    return table
