"""The best price per outcome across bookmakers, and arbitrage: when the best prices disagree enough that
backing every outcome at its best price pays more than it costs whatever happens.

With best decimal prices ``dᵢ`` on the outcomes of one market, ``S = Σ 1/dᵢ``. When ``S < 1`` a bankroll
``W`` staked as ``sᵢ = W · (1/dᵢ) / S`` pays ``sᵢ · dᵢ = W / S`` on every outcome: a locked profit of
``W · (1/S − 1)``. Stakes are money, so :func:`lock_in` works in :class:`~decimal.Decimal`: the exact
stakes pay exactly the same, and the stakes you can place (rounded *down* to a cent, so they never exceed
the bankroll) pay the same up to the rounding, the guaranteed payout being the smallest of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.odds.margins import MARKET_KEYS, _need
from ntlab.odds.prices import as_decimal, implied

BEST_KEYS = [*MARKET_KEYS, "outcome", "point"]
CENT = Decimal("0.01")


def best_prices(odds: pd.DataFrame) -> pd.DataFrame:
    """One row per outcome (event, market, line, outcome, point): the best price, every bookmaker offering
    it (comma-joined), how many bookmakers quote the outcome, and the implied probability of the best price."""
    _need(odds, [*BEST_KEYS, "price", "bookmaker"])
    frame = odds[odds["price"].notna()]
    groups = frame.groupby(BEST_KEYS, dropna=False, sort=False, observed=True)
    top = groups["price"].transform("max")
    leaders = (
        frame[frame["price"] == top]
        .groupby(BEST_KEYS, dropna=False, sort=False, observed=True)["bookmaker"]
        .agg(lambda names: ",".join(sorted(map(str, names))))
    )
    table = groups.agg(best_price=("price", "max"), books=("bookmaker", "nunique")).join(
        leaders.rename("best_bookmakers")
    )
    for column in ("home_team", "away_team", "commence_time"):
        if column in frame.columns:
            table[column] = groups[column].first()
    table["implied"] = implied(table["best_price"])
    return table.reset_index()


def arbitrage(odds: pd.DataFrame) -> pd.DataFrame:
    """Markets (event, market, line) whose best prices' implied probabilities sum below 1, best first.

    ``implied_sum`` is S; ``profit_pct`` = (1/S − 1)·100 is the locked return on the total staked; ``legs``
    reads "outcome @ price (bookmaker); ...". Outcomes are those the bookmakers quote: a line with one
    side quoted is no arbitrage, but an outcome nobody quotes cannot be seen, so check ``outcomes`` (3 for a
    soccer match result) before staking.
    """
    best = best_prices(odds)

    def legs(part: pd.DataFrame) -> str:
        return "; ".join(
            f"{o}{'' if pd.isna(p) else f' {p:+g}'} @ {d:g} ({b})"
            for o, p, d, b in zip(
                part["outcome"], part["point"], part["best_price"], part["best_bookmakers"], strict=True
            )
        )

    rows = []
    for key, part in best.groupby(MARKET_KEYS, dropna=False, sort=False):
        if len(part) < 2:
            continue
        total = float(part["implied"].sum())
        if not total < 1:
            continue
        first = part.iloc[0]
        rows.append(
            {
                **dict(zip(MARKET_KEYS, key, strict=True)),
                **{c: first[c] for c in ("home_team", "away_team", "commence_time") if c in part.columns},
                "outcomes": len(part),
                "implied_sum": total,
                "profit_pct": (1 / total - 1) * 100,
                "legs": legs(part),
            }
        )
    if not rows:
        return pd.DataFrame(columns=[*MARKET_KEYS, "outcomes", "implied_sum", "profit_pct", "legs"])
    table = pd.DataFrame(rows)
    return table.sort_values("profit_pct", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class LockIn:
    """Stakes that pay the same whatever happens. ``stakes`` are what you place (rounded down to the unit),
    ``exact_stakes`` the unrounded ones; ``payouts`` per outcome of the placed stakes; ``guaranteed`` the
    smallest of them; ``profit`` = guaranteed − staked (negative when the prices are not an arbitrage)."""

    stakes: dict[str, Decimal]
    exact_stakes: dict[str, Decimal]
    payouts: dict[str, Decimal]
    exact_payout: Decimal
    staked: Decimal
    guaranteed: Decimal
    profit: Decimal
    implied_sum: Decimal

    @property
    def is_arbitrage(self) -> bool:
        return self.implied_sum < 1

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "stake": pd.Series(self.stakes, dtype=object),
                "payout": pd.Series(self.payouts, dtype=object),
            }
        ).rename_axis("outcome")


def lock_in(prices: Mapping[str, Any], bankroll: Any, *, unit: Decimal = CENT) -> LockIn:
    """Split ``bankroll`` over outcomes priced ``prices`` (decimal odds by outcome) so every outcome pays
    the same: ``stake = bankroll · (1/price) / Σ(1/price)``."""
    if len(prices) < 2:
        raise DataError("an arbitrage needs the prices of at least two outcomes")
    odds = {name: as_decimal(p) for name, p in prices.items()}
    if any(d <= 1 for d in odds.values()):
        raise DataError(f"decimal prices are above 1; got {prices}")
    budget = as_decimal(bankroll)
    if budget <= 0:
        raise DataError(f"bankroll={bankroll}: stake a positive amount")
    with localcontext() as context:
        context.prec = 40
        total = sum((1 / d for d in odds.values()), Decimal(0))
        exact = {name: budget / (d * total) for name, d in odds.items()}
        exact_payout = budget / total
        stakes = {name: s.quantize(unit, rounding=ROUND_DOWN) for name, s in exact.items()}
        payouts = {name: stakes[name] * odds[name] for name in odds}
        staked = sum(stakes.values(), Decimal(0))
        guaranteed = min(payouts.values())
        return LockIn(stakes, exact, payouts, exact_payout, staked, guaranteed, guaranteed - staked, total)


def arbitrage_legs(odds: pd.DataFrame, bankroll: Any, *, unit: Decimal = CENT) -> pd.DataFrame:
    """Every arbitrage's legs with the stakes that lock in its profit for ``bankroll`` (Decimal columns
    ``stake`` and ``payout``; ``profit`` is the market's guaranteed profit, repeated on its legs)."""
    arbs = arbitrage(odds)
    if arbs.empty:
        return pd.DataFrame(
            columns=[*BEST_KEYS, "best_bookmakers", "best_price", "stake", "payout", "profit"]
        )
    best = best_prices(odds)
    rows = []
    for _, arb in arbs.iterrows():
        mask = np.ones(len(best), dtype=bool)
        for key in MARKET_KEYS:
            value = arb[key]
            mask &= best[key].isna().to_numpy() if pd.isna(value) else (best[key] == value).to_numpy()
        part = best[mask]
        names = [f"{o}|{p}" for o, p in zip(part["outcome"], part["point"], strict=True)]
        locked = lock_in(dict(zip(names, part["best_price"], strict=True)), bankroll, unit=unit)
        for name, (_, leg) in zip(names, part.iterrows(), strict=True):
            rows.append(
                {
                    **{k: leg[k] for k in [*BEST_KEYS, "best_bookmakers", "best_price"]},
                    "stake": locked.stakes[name],
                    "payout": locked.payouts[name],
                    "profit": locked.profit,
                }
            )
    return pd.DataFrame(rows)
