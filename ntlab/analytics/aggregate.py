"""Aggregates of order costs: count, notional, notional-weighted mean, median, P5/P95 and a bootstrap CI.

The weighted mean of a cost in bps is total cost over total notional, so big orders count for what they
cost: IS and its parts are weighted by the paper notional X·Pd, benchmark slippage, spread paid and the
impact split by the filled notional Xf·P̄ (what actually traded). Orders where a metric is NaN are left
out of that metric. Median and P5/P95 are of the orders' values, unweighted.

The confidence interval resamples whole days with replacement (orders on one day share a market, so they
are not independent); with a single day it resamples orders. One set of seeded draws serves every metric
(each resample is a vector of counts per day, so a resampled mean is counts·cost / counts·notional: one
matrix product for all metrics); an order whose metric is NaN weighs nothing in that metric. Days and
orders are numbered in sorted order, so the same orders give the same interval in any row order.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntlab.errors import DataError

BPS = 1e4
FILLED_WEIGHTED = frozenset(
    {
        "arrival_slippage_bps",
        "vwap_slippage_bps",
        "twap_slippage_bps",
        "spread_paid_bps",
        "timing_bps",
        "reversion_bps",
        "permanent_impact_bps",
        "parent_arrival_slippage_bps",
        "parent_vwap_slippage_bps",
        "parent_twap_slippage_bps",
    }
)
DRAWS_AT_ONCE = 1_000_000  # at most this many draws at a time: bounded memory, counts that stay in cache


def weight_column(metric: str) -> str:
    """Which notional weighs ``metric``: what traded for slippage, the paper notional for everything else."""
    return "filled_notional" if metric in FILLED_WEIGHTED else "notional"


STAT_COLUMNS = [
    "count",
    "notional",
    "mean_bps",
    "median_bps",
    "p5_bps",
    "p95_bps",
    "ci_low_bps",
    "ci_high_bps",
]


def weighted_mean(cost_bps: np.ndarray, notional: np.ndarray) -> float:
    ok = np.isfinite(cost_bps) & np.isfinite(notional) & (notional > 0)
    if not ok.any():
        return float("nan")
    return float((cost_bps[ok] * notional[ok]).sum() / notional[ok].sum())


def cluster_codes(clusters: np.ndarray, index: pd.Index) -> tuple[np.ndarray, int]:
    """Resampling units: days numbered in sorted order; one day only: the orders, in sorted id order."""
    codes, distinct = pd.factorize(clusters, sort=True)
    if len(distinct) >= 2:
        return codes, len(distinct)
    ranks = np.empty(len(index), dtype=np.int64)
    ranks[np.argsort(index.to_numpy(dtype=str), kind="stable")] = np.arange(len(index))
    return ranks, len(index)


def _draws(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``n`` uniform draws from 0..k-1: 32 random bits each, scaled by multiply-shift (Lemire). Twice as
    fast as ``rng.integers``; each unit's chance is off by less than k/2^32 of itself (2e-5 at 100,000)."""
    bits = rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
    return (np.multiply(bits, k, dtype=np.uint64) >> np.uint64(32)).view(np.int64)


def bootstrap_means(
    costs: np.ndarray,
    weights: np.ndarray,
    codes: np.ndarray,
    k: int,
    *,
    resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(resamples × metrics) weighted means of resampled units; ``costs``/``weights`` are (rows × metrics).

    Each resample draws ``k`` units with replacement; their counts times the units' sums give the
    resampled totals, for every metric in one matrix product (weights shared by several metrics are
    summed once)."""
    ok = np.isfinite(costs) & np.isfinite(weights) & (weights > 0)
    m = costs.shape[1]
    weight_rows = np.where(ok, weights, 0.0)
    distinct: list[np.ndarray] = []
    which = np.empty(m, dtype=np.int64)
    for j in range(m):
        same = next((i for i, d in enumerate(distinct) if np.array_equal(d, weight_rows[:, j])), None)
        if same is None:
            same = len(distinct)
            distinct.append(weight_rows[:, j])
        which[j] = same
    columns = np.column_stack([np.where(ok, costs * weights, 0.0), *distinct])
    by_unit = np.zeros((k, columns.shape[1]))
    if len(codes) == k and (codes == np.arange(k)).all():
        by_unit[:] = columns
    else:
        for j in range(columns.shape[1]):
            by_unit[:, j] = np.bincount(codes, weights=columns[:, j], minlength=k)
    sums = np.empty((resamples, columns.shape[1]))
    chunk = max(1, min(resamples, DRAWS_AT_ONCE // k))
    counts = np.empty((chunk, k))
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        draws = _draws(rng, rows * k, k).reshape(rows, k)
        for r in range(rows):  # one resample at a time: k counters stay in cache (several times faster)
            counts[r] = np.bincount(draws[r], minlength=k)
        sums[start : start + rows] = counts[:rows] @ by_unit
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[:, :m] / sums[:, m + which]


def summarise_many(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    *,
    cluster: str = "day",
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per metric: count, notional (its weight), weighted mean, median, P5/P95 and CI."""
    unknown = [m for m in metrics if m not in frame]
    if unknown:
        raise DataError(f"no metric {unknown[0]!r}; choose one of the *_bps columns of report.orders")
    costs = frame[list(metrics)].to_numpy(dtype="float64")
    weights = np.column_stack([frame[weight_column(m)].to_numpy(dtype="float64") for m in metrics])
    clusters = frame[cluster].to_numpy() if cluster in frame else np.zeros(len(frame))
    codes, k = cluster_codes(clusters, frame.index)
    finite = np.isfinite(costs)
    usable = (finite & np.isfinite(weights) & (weights > 0)).sum(axis=0)
    low = np.full(len(metrics), np.nan)
    high = np.full(len(metrics), np.nan)
    if k >= 2 and (usable >= 2).any():
        means = bootstrap_means(
            costs, weights, codes, k, resamples=resamples, rng=np.random.default_rng(seed)
        )
        tail = (1 - level) / 2 * 100
        with warnings.catch_warnings():  # a metric NaN in every resample has no interval: NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            bounds = np.nanpercentile(means, [tail, 100 - tail], axis=0)
        low, high = np.where(usable >= 2, bounds, np.nan)
    rows = []
    for j, _metric in enumerate(metrics):
        values = costs[finite[:, j], j]
        rows.append(
            {
                "count": float(len(values)),
                "notional": float(np.nansum(weights[finite[:, j], j])),
                "mean_bps": weighted_mean(costs[:, j], weights[:, j]),
                "median_bps": float(np.median(values)) if len(values) else np.nan,
                "p5_bps": float(np.percentile(values, 5)) if len(values) else np.nan,
                "p95_bps": float(np.percentile(values, 95)) if len(values) else np.nan,
                "ci_low_bps": float(low[j]),
                "ci_high_bps": float(high[j]),
            }
        )
    table = pd.DataFrame(rows, index=list(metrics), columns=STAT_COLUMNS) + 0.0
    table["count"] = table["count"].astype(int)
    return table


def summarise(frame: pd.DataFrame, metric: str, **options: object) -> dict[str, float]:
    """count, notional (the metric's weight), weighted mean, median, P5/P95 and CI of one metric."""
    return summarise_many(frame, [metric], **options).iloc[0].to_dict()  # type: ignore[arg-type]


def by(
    frame: pd.DataFrame,
    keys: str | Sequence[str],
    metric: str,
    **options: object,
) -> pd.DataFrame:
    """``summarise`` per group of ``keys`` (one column name or several), one row per group, sorted."""
    columns = [keys] if isinstance(keys, str) else list(keys)
    missing = [k for k in columns if k not in frame.columns]
    if missing:
        known = ", ".join(c for c in ("symbol", "side", "algo", "venue", "day") if c in frame.columns)
        raise DataError(f"cannot group by {', '.join(missing)}: not in the data; available: {known}")
    if not len(frame):
        empty = pd.DataFrame(columns=[*columns, *STAT_COLUMNS]).set_index(columns)
        return empty.astype({"count": int})
    rows = []
    for key, group in frame.groupby(columns, observed=True, sort=True, dropna=False):
        stats = summarise(group, metric, **options)
        rows.append({**dict(zip(columns, key if isinstance(key, tuple) else (key,), strict=True)), **stats})
    result = pd.DataFrame(rows).set_index(columns)
    result["count"] = result["count"].astype(int)
    return result
