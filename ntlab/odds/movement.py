"""Odds movement from repeated snapshots: each price's history and how far it moved.

Take snapshots with ``client.odds(...)`` now and again (or keep the frames a loop collects); a price is
timed by its market's ``last_update``, so two snapshots of an unchanged price count once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ntlab.errors import DataError
from ntlab.odds.prices import implied

PRICE_KEYS = ["event_id", "bookmaker", "market", "description", "line", "outcome", "point"]


def odds_history(snapshots: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The snapshots as one frame in time order, one row per price and ``last_update``, with ``implied``."""
    frames = [s for s in snapshots if len(s)]
    if not frames:
        raise DataError("no snapshots with prices: pass the frames of two or more client.odds(...) calls")
    history = pd.concat(frames, ignore_index=True)
    missing = [c for c in [*PRICE_KEYS, "price", "last_update"] if c not in history.columns]
    if missing:
        raise DataError(f"snapshots need the columns {', '.join(missing)}: use frames from OddsClient.odds()")
    history = history.drop_duplicates([*PRICE_KEYS, "last_update"], keep="last")
    history = history.sort_values([*PRICE_KEYS, "last_update"], kind="stable", na_position="first")
    history["implied"] = implied(history["price"])
    return history.reset_index(drop=True)


def odds_movement(snapshots: Iterable[pd.DataFrame] | pd.DataFrame) -> pd.DataFrame:
    """One row per price (event, bookmaker, market, line, outcome, point): ``open_price`` and
    ``last_price`` with their times, ``change`` (decimal odds), ``implied_change`` (probability points,
    positive = the outcome became more likely in the book's eyes) and ``moves`` (how many times it changed)."""
    history = snapshots if isinstance(snapshots, pd.DataFrame) else odds_history(snapshots)
    groups = history.groupby(PRICE_KEYS, dropna=False, sort=False, observed=True)
    table = groups.agg(
        open_time=("last_update", "first"),
        last_time=("last_update", "last"),
        open_price=("price", "first"),
        last_price=("price", "last"),
        open_implied=("implied", "first"),
        last_implied=("implied", "last"),
        moves=("price", lambda p: int(np.count_nonzero(np.diff(p.to_numpy(dtype=float))))),
    ).reset_index()
    table["change"] = table["last_price"] - table["open_price"]
    table["implied_change"] = table.pop("last_implied") - table.pop("open_implied")
    return table.sort_values("implied_change", key=np.abs, ascending=False, kind="stable").reset_index(
        drop=True
    )
