"""US equity trading days: the NYSE's full-day holidays, weekends, and the regular 09:30–16:00 session.

Providers use it to skip days on which an equity cannot have traded (no request is spent on a Sunday or on
Good Friday), ``history(days=5)`` to count trading days back, and the fakes to serve nothing on a holiday.
Early closes (13:00 on the day after Thanksgiving and on some 24 Decembers) are not modelled: those days count
as full sessions, and a provider simply returns fewer rows.

>>> from datetime import date
>>> is_trading_day(date(2026, 4, 3))   # Good Friday
False
>>> previous_trading_days(date(2026, 1, 20), 2)   # skips Martin Luther King Jr. Day, 19 January
[datetime.date(2026, 1, 16), datetime.date(2026, 1, 20)]
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import pandas as pd

EXCHANGE_TZ = "America/New_York"
OPEN_TIME = "09:30"
CLOSE_TIME = "16:00"

# Closures outside the rules: storms and national days of mourning.
SPECIAL_CLOSURES = frozenset({date(2012, 10, 29), date(2012, 10, 30), date(2018, 12, 5), date(2025, 1, 9)})


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous algorithm), for Good Friday."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month = (h + m - 7 * n + 114) // 31
    day = (h + m - 7 * n + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (0 = Monday) of a month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date | None:
    """Saturday holidays move to Friday, Sunday ones to Monday; New Year's on a Saturday is not moved."""
    if day.weekday() == 5:
        return None if (day.month, day.day) == (1, 1) else day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def nyse_holidays(year: int) -> frozenset[date]:
    """Full-day NYSE closures in ``year`` (rules as in force since 1998, plus Juneteenth from 2022)."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 12, 25)]
    if year >= 2022:
        fixed.append(date(year, 6, 19))
    days = {observed for day in fixed if (observed := _observed(day)) is not None}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    days |= {d for d in SPECIAL_CLOSURES if d.year == year}
    return frozenset(days)


def is_trading_day(day: date) -> bool:
    """True when the NYSE holds a session on ``day``."""
    return day.weekday() < 5 and day not in nyse_holidays(day.year)


def days_between(first: date, last: date) -> list[date]:
    """Every calendar day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def trading_days(first: date, last: date) -> list[date]:
    """NYSE trading days from ``first`` to ``last``, both included."""
    return [d for d in days_between(first, last) if is_trading_day(d)]


def previous_trading_days(last: date, count: int) -> list[date]:
    """The ``count`` trading days ending with ``last`` (included when it is one), oldest first."""
    found: list[date] = []
    day = last
    while len(found) < count:
        if is_trading_day(day):
            found.append(day)
        day -= timedelta(days=1)
    return found[::-1]


def day_start(day: date) -> pd.Timestamp:
    """Midnight in New York at the start of ``day``, in UTC: where a day's partition begins."""
    return pd.Timestamp(day).tz_localize(EXCHANGE_TZ).tz_convert("UTC")


def regular_session(day: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The regular session's open and close on ``day`` (09:30–16:00 New York), in UTC."""
    stamp = pd.Timestamp(day)
    open_ = pd.Timestamp(f"{stamp:%Y-%m-%d} {OPEN_TIME}", tz=EXCHANGE_TZ).tz_convert("UTC")
    close = pd.Timestamp(f"{stamp:%Y-%m-%d} {CLOSE_TIME}", tz=EXCHANGE_TZ).tz_convert("UTC")
    return open_, close


def exchange_day(stamp: pd.Timestamp) -> date:
    """The New York calendar day a UTC timestamp falls on."""
    return pd.Timestamp(stamp).tz_convert(EXCHANGE_TZ).date()  # type: ignore[no-any-return]
