"""Time as the order path counts it: int nanoseconds since the epoch (UTC), durations, and back to datetimes.

Every layer uses these (venues, algos, the core's clocks), so they live at the bottom beside ``errors``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pandas as pd

from ntlab.errors import ConfigError


def to_ns(value: datetime | pd.Timestamp | str) -> int:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def duration_ns(value: timedelta | pd.Timedelta | str | float | int) -> int:
    """A step as nanoseconds: a timedelta, a pandas string like "5min" or "30s", or seconds."""
    if isinstance(value, str):
        return _parsed_duration_ns(value)  # steps repeat ("1s" in a loop): parse each spelling once
    return _duration_ns(value)


@functools.lru_cache(maxsize=256)
def _parsed_duration_ns(text: str) -> int:
    return _duration_ns(text)


def _duration_ns(value: timedelta | pd.Timedelta | str | float | int) -> int:
    try:
        step = pd.Timedelta(seconds=value) if isinstance(value, int | float) else pd.Timedelta(value)
    except ValueError as error:
        raise ConfigError(f"cannot read {value!r} as a duration; use e.g. '30s', '5min', '1h'") from error
    if step < pd.Timedelta(0):
        raise ConfigError(f"the clock only moves forward; got {value!r}")
    return int(step.as_unit("ns").value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ns(ns: int) -> datetime:
    """UTC datetime of a nanosecond timestamp, truncated to the microsecond (datetime's resolution)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)
