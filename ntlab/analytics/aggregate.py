"""Aggregates of order costs: count, notional, notional-weighted mean, median, P5/P95 and a bootstrap CI.

The weighted mean of a cost in bps is total cost over total notional, so big orders count for what they
cost: IS and its parts are weighted by the paper notional X·Pd, benchmark slippage and spread paid by the
filled notional Xf·P̄ (what actually traded). Orders where a metric is NaN are left out of that metric.
Median and P5/P95 are of the orders' values, unweighted. The confidence interval resamples whole days with
replacement (orders on one day share a market, so they are not independent); with a single day it
resamples orders. It is seeded, so the same input gives the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntlab.errors import DataError

BPS = 1e4
FILLED_WEIGHTED = frozenset(
    {"arrival_slippage_bps", "vwap_slippage_bps", "twap_slippage_bps", "spread_paid_bps"}
)


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


def bootstrap_ci(
    cost_bps: np.ndarray,
    notional: np.ndarray,
    clusters: np.ndarray,
    *,
    resamples: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    ok = np.isfinite(cost_bps) & np.isfinite(notional) & (notional > 0)
    cost_bps, notional, clusters = cost_bps[ok], notional[ok], clusters[ok]
    if len(cost_bps) < 2:
        return float("nan"), float("nan")
    codes, _ = pd.factorize(clusters)
    k = codes.max() + 1
    if k < 2:  # one day: resample orders instead of days
        codes, k = np.arange(len(cost_bps)), len(cost_bps)
    cost_by = np.bincount(codes, weights=cost_bps * notional, minlength=k)
    notional_by = np.bincount(codes, weights=notional, minlength=k)
    means = np.empty(resamples)
    chunk = max(1, 4_000_000 // k)  # bounded memory: at most ~4M draws at a time
    for start in range(0, resamples, chunk):
        draws = rng.integers(0, k, size=(min(chunk, resamples - start), k))
        means[start : start + len(draws)] = cost_by[draws].sum(axis=1) / notional_by[draws].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarise(
    frame: pd.DataFrame,
    metric: str,
    *,
    cluster: str = "day",
    resamples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """count, notional (the metric's weight), weighted mean, median, P5/P95 and CI of one metric."""
    if metric not in frame:
        raise DataError(f"no metric {metric!r}; choose one of the *_bps columns of report.orders")
    values = frame[metric].to_numpy(dtype="float64")
    notional = frame[weight_column(metric)].to_numpy(dtype="float64")
    clusters = frame[cluster].to_numpy() if cluster in frame else np.zeros(len(frame))
    finite = values[np.isfinite(values)]
    low, high = bootstrap_ci(
        values, notional, clusters, resamples=resamples, level=level, rng=np.random.default_rng(seed)
    )
    return {
        "count": float(len(finite)),
        "notional": float(np.nansum(notional[np.isfinite(values)])),
        "mean_bps": weighted_mean(values, notional),
        "median_bps": float(np.median(finite)) if len(finite) else np.nan,
        "p5_bps": float(np.percentile(finite, 5)) if len(finite) else np.nan,
        "p95_bps": float(np.percentile(finite, 95)) if len(finite) else np.nan,
        "ci_low_bps": low,
        "ci_high_bps": high,
    }


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
        stats = summarise(group, metric, **options)  # type: ignore[arg-type]
        rows.append({**dict(zip(columns, key if isinstance(key, tuple) else (key,), strict=True)), **stats})
    result = pd.DataFrame(rows).set_index(columns)
    result["count"] = result["count"].astype(int)
    return result
