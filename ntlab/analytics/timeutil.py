"""Time helpers shared by the metric modules: horizons as nanoseconds and int64 ns back to timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ntlab.errors import DataError

BPS = 1e4
NS = 1_000_000_000
MINUTE_NS = 60 * NS
DAY_NS = 86_400 * NS


def utc(ns: np.ndarray) -> pd.DatetimeIndex:
    """int64 nanoseconds as tz-aware UTC timestamps, without a trip through Python objects."""
    return pd.DatetimeIndex(np.asarray(ns, dtype="int64").view("datetime64[ns]")).tz_localize("UTC")


def parse_horizon(horizon: str) -> int:
    """'-5s', '0s', '250ms', '1m', '5m' → nanoseconds ('m' means minutes here, as traders write it)."""
    text = str(horizon).strip().lower()
    if text.endswith("m") and not text.endswith("ms"):
        text = text[:-1] + "min"
    try:
        return int(pd.Timedelta(text).value)
    except ValueError as error:
        raise DataError(
            f"horizon {horizon!r} is not a duration; write it like '-5s', '500ms', '1m'"
        ) from error
