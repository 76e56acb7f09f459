"""The market on a Dask cluster: quotes and trades read per symbol-day, each request a task on its days.

:class:`DaskMarket` answers what :class:`ntlab.analytics.market.LocalMarket` answers, with the same kernels
on the same rows: a lookup goes to the quote day whose cover holds its time (the quote in force is in that
day), a TWAP or VWAP piece to its own day, σ and ADV partial sums come one per day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from ntlab.analytics.asof import locate
from ntlab.analytics.inputs import read_quotes, read_trades
from ntlab.analytics.market import Answered, Asked, Pieces, adv_day, sigma_day, trades_day, twap_day
from ntlab.analytics.timeutil import DAY_NS
from ntlab.errors import DataError

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]

# --- worker side: plain functions of one symbol-day ------------------------------------------------


def _load_day(kind: str, symbol: str, day: int, *parts: pd.DataFrame) -> Arrays:
    """One symbol-day of quotes (time, mid, spread) or trades (time, price, size), read as in memory."""
    frames = [p[(p["symbol"].astype(str) == symbol).to_numpy()] for p in parts]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    times = pd.DatetimeIndex(pd.to_datetime(frame["time"], utc=True)).as_unit("ns").asi8
    frame = frame[times // DAY_NS == day].assign(symbol=symbol)
    if kind == "quotes":
        return read_quotes(frame).by_symbol[symbol]  # type: ignore[return-value]
    return read_trades(frame).by_symbol[symbol]  # type: ignore[return-value]


def day_slice(day: Arrays, start: int, end: int) -> Arrays:
    """The rows of one day with start ≤ time ≤ end: every quote that can be in force over those times."""
    lo = int(np.searchsorted(day[0], start, side="left"))
    hi = int(np.searchsorted(day[0], end, side="right"))
    return tuple(a[lo:hi] for a in day)  # type: ignore[return-value]


def _lookup(day: Arrays, times: np.ndarray, max_age_ns: int, last_ns: int) -> tuple[np.ndarray, np.ndarray]:
    safe, valid = locate(day[0], times, max_age_ns, last_ns)
    return np.where(valid, day[1][safe], np.nan), np.where(valid, day[2][safe], np.nan)


def _twap(day: Arrays, cover: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return twap_day(day[0], day[1], cover, a, b)


def _trades(day: Arrays, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return trades_day(day[0], day[1], day[2], a, b)


def _sigma(day: Arrays) -> tuple[float, float, int]:
    return sigma_day(day[0], day[1])


def _adv(day: Arrays) -> tuple[float, float]:
    return adv_day(day[0], day[2])


# --- client side ----------------------------------------------------------------------------------


@dataclass
class Days:
    """Where each symbol-day of one table lives, in time order: from the partitions' inventory."""

    parts: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    days: dict[str, np.ndarray] = field(default_factory=dict)
    firsts: dict[str, np.ndarray] = field(default_factory=dict)
    lasts: dict[str, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def of(inventory: pd.DataFrame, what: str) -> Days:
        found = Days()
        if inventory.empty:
            return found
        table = inventory.sort_values(["symbol", "day", "first"], kind="stable")
        for (symbol, day), group in table.groupby(["symbol", "day"], sort=True):
            if (group["first"].to_numpy()[1:] < group["last"].to_numpy()[:-1]).any():
                raise DataError(f"{what}: {symbol} on day {day} is split over partitions whose times overlap")
            found.parts[str(symbol), int(day)] = [int(p) for p in group["partition"]]
        per_day = table.groupby(["symbol", "day"], sort=True).agg(
            first=("first", "min"), last=("last", "max")
        )
        for symbol, group in per_day.groupby(level="symbol", sort=True):
            found.days[str(symbol)] = group.index.get_level_values("day").to_numpy(dtype=np.int64)
            found.firsts[str(symbol)] = group["first"].to_numpy(dtype=np.int64)
            found.lasts[str(symbol)] = group["last"].to_numpy(dtype=np.int64)
        return found


def partitions(frame: dd.DataFrame | None) -> list[Any]:
    """The partitions as Delayed objects, numbered as every phase numbers them (no column projection:
    a projected read may group files into partitions differently)."""
    return [] if frame is None else list(frame.to_delayed())


class DaskMarket:
    """The market on the cluster: every request becomes tasks on the quote or trade days it concerns."""

    def __init__(
        self, quotes: dd.DataFrame, trades: dd.DataFrame | None, quote_days: Days, trade_days: Days
    ) -> None:
        self._quote_parts = partitions(quotes)
        self._trade_parts = partitions(trades)
        self.q, self.t = quote_days, trade_days
        self.sigmas: dict[str, list[tuple[float, float, int]]] = {}
        self.advs: dict[str, list[tuple[float, float]]] = {}
        self._loaded: dict[tuple[str, str, int], Any] = {}

    def day(self, kind: str, symbol: str, k: int) -> Any:
        """The Delayed arrays of the ``k``-th day of ``symbol`` (one task per day per computation)."""
        days = self.q if kind == "quotes" else self.t
        day = int(days.days[symbol][k])
        key = (kind, symbol, day)
        if key not in self._loaded:
            parts = self._quote_parts if kind == "quotes" else self._trade_parts
            numbers = days.parts[symbol, day]
            self._loaded[key] = delayed(_load_day, pure=True)(kind, symbol, day, *[parts[i] for i in numbers])
        return self._loaded[key]

    def _compute(self, *collections: Any) -> Any:
        self._loaded.clear()  # the next request reads its days afresh (nothing is held on the cluster)
        return dask.compute(*collections)

    def last(self, symbol: str) -> int:
        return int(self.q.lasts[symbol][-1])

    def quote_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        firsts = self.q.firsts.get(symbol)
        if firsts is None:
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        return firsts, np.append(firsts[1:], self.last(symbol))

    def trade_days(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        if symbol not in self.t.firsts:
            return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        return self.t.firsts[symbol], self.t.lasts[symbol]

    def _lookup_tasks(
        self, codes: np.ndarray, names: Sequence[str], times: np.ndarray, max_age_ns: int
    ) -> tuple[list[Any], list[np.ndarray]]:
        """Each time goes to the quote day whose cover holds it (the last day starting at or before it):
        the quote in force is in that day, so the answer is the one the whole data set gives."""
        tasks, places = [], []
        for code, symbol in enumerate(names):
            firsts = self.q.firsts.get(symbol)
            rows = np.flatnonzero(codes == code)
            if firsts is None or not len(rows):
                continue
            k = np.searchsorted(firsts, times[rows], side="right") - 1
            for day in np.unique(k[k >= 0]):
                at = rows[k == day]
                day_arrays = self.day("quotes", symbol, int(day))
                tasks.append(delayed(_lookup)(day_arrays, times[at], max_age_ns, self.last(symbol)))
                places.append(at)
        return tasks, places

    def _piece_tasks(
        self, asked: Mapping[str, Pieces], kind: str
    ) -> tuple[list[Any], list[tuple[str, np.ndarray]]]:
        tasks, places = [], []
        for symbol, pieces in asked.items():
            _, covers = self.quote_days(symbol) if kind == "quotes" else self.trade_days(symbol)
            for k in np.unique(pieces.day):
                at = np.flatnonzero(pieces.day == k)
                day = self.day(kind, symbol, int(k))
                if kind == "quotes":
                    tasks.append(delayed(_twap)(day, int(covers[k]), pieces.a[at], pieces.b[at]))
                else:
                    tasks.append(delayed(_trades)(day, pieces.a[at], pieces.b[at]))
                places.append((symbol, at))
        return tasks, places

    @staticmethod
    def _placed(
        asked: Mapping[str, Pieces], places: list[tuple[str, np.ndarray]], results: Sequence[Any]
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {s: (np.zeros(len(p.row)), np.zeros(len(p.row))) for s, p in asked.items()}
        for (symbol, at), (first, second) in zip(places, results, strict=True):
            out[symbol][0][at], out[symbol][1][at] = first, second
        return out

    def answer(self, asked: Asked) -> Answered:
        """Lookups, TWAP pieces and VWAP pieces in one computation: each day is read once for all."""
        lookups, looked = self._lookup_tasks(asked.codes, asked.names, asked.times, asked.max_age_ns)
        twaps, twap_places = self._piece_tasks(asked.twap, "quotes")
        trades, trade_places = self._piece_tasks(asked.trades, "trades")
        found, twap_results, trade_results = self._compute(lookups, twaps, trades)
        mid, spread = np.full(len(asked.times), np.nan), np.full(len(asked.times), np.nan)
        for at, (m, s) in zip(looked, found, strict=True):
            mid[at], spread[at] = m, s
        return Answered(
            mid,
            spread,
            self._placed(asked.twap, twap_places, twap_results),
            self._placed(asked.trades, trade_places, trade_results),
        )

    def quote_at(
        self, codes: np.ndarray, names: Sequence[str], times: np.ndarray, max_age_ns: int
    ) -> tuple[np.ndarray, np.ndarray]:
        answered = self.answer(Asked(codes, names, times, max_age_ns, {}, {}))
        return answered.mid, answered.spread

    def twap_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self.answer(
            Asked(np.array([], dtype=np.int64), [], np.array([], dtype=np.int64), 0, dict(asked), {})
        ).twap

    def trade_pieces(self, asked: Mapping[str, Pieces]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self.answer(
            Asked(np.array([], dtype=np.int64), [], np.array([], dtype=np.int64), 0, {}, dict(asked))
        ).trades

    def partial_tasks(self) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """σ and ADV partial sums per day, to be computed alongside the fills."""
        sigma = [
            (s, delayed(_sigma)(self.day("quotes", s, k)))
            for s in self.q.days
            for k in range(len(self.q.days[s]))
        ]
        volume = [
            (s, delayed(_adv)(self.day("trades", s, k)))
            for s in self.t.days
            for k in range(len(self.t.days[s]))
        ]
        return sigma, volume

    def sigma_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float, int]]]:
        return {s: self.sigmas.get(s, []) for s in symbols}

    def adv_partials(self, symbols: Sequence[str]) -> dict[str, list[tuple[float, float]]]:
        return {s: self.advs.get(s, []) for s in symbols}
