"""The Odds API's JSON as tidy DataFrames: odds one row per (event, bookmaker, market, outcome).

Every price is in decimal odds in ``price`` (American odds converted exactly) and in American in
``american`` (as sent, or converted and rounded). ``line`` names the line a spread, total or prop is on
(``|point|`` for spreads, so both sides of −3.5/+3.5 share it; ``point`` otherwise; NaN for h2h), and
``description`` the subject of a player prop; with ``event_id``, ``market`` and ``bookmaker`` they say
which prices belong to one book. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ntlab.odds.prices import american_array_from_decimal, decimal_array_from_american

EVENT_COLUMNS = ["event_id", "sport_key", "sport_title", "commence_time", "home_team", "away_team"]
ODDS_COLUMNS = [
    "event_id", "sport_key", "commence_time", "home_team", "away_team", "bookmaker", "bookmaker_title",
    "market", "last_update", "outcome", "description", "point", "line", "price", "american",
]  # fmt: skip
SCORE_COLUMNS = [*EVENT_COLUMNS, "completed", "home_score", "away_score", "last_update"]
SPORT_COLUMNS = ["key", "group", "title", "description", "active", "has_outrights"]


def _times(values: pd.Series) -> pd.Series:
    """ISO text or unix seconds (dateFormat=unix) as UTC datetimes."""
    numeric = pd.to_numeric(values, errors="coerce")
    if len(values) and numeric.notna().all():
        return pd.to_datetime(numeric, unit="s", utc=True).dt.as_unit("ns")
    return pd.to_datetime(values, utc=True, errors="coerce").dt.as_unit("ns")


def sports_frame(sports: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: s.get(c) for c in SPORT_COLUMNS} for s in sports], columns=SPORT_COLUMNS)
    return frame.astype({"active": bool, "has_outrights": bool})


def events_frame(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [{"event_id": e.get("id"), **{c: e.get(c) for c in EVENT_COLUMNS[1:]}} for e in events]
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["commence_time"] = _times(frame["commence_time"])
    return frame


def odds_frame(events: Iterable[Mapping[str, Any]], odds_format: str = "decimal") -> pd.DataFrame:
    rows = []
    for event in events:
        head = (
            event.get("id"),
            event.get("sport_key"),
            event.get("commence_time"),
            event.get("home_team"),
            event.get("away_team"),
        )
        for book in event.get("bookmakers") or []:
            for market in book.get("markets") or []:
                updated = market.get("last_update") or book.get("last_update")
                for outcome in market.get("outcomes") or []:
                    rows.append(
                        (
                            *head,
                            book.get("key"),
                            book.get("title"),
                            market.get("key"),
                            updated,
                            outcome.get("name"),
                            outcome.get("description"),
                            outcome.get("point"),
                            outcome.get("price"),
                        )
                    )
    columns = [c for c in ODDS_COLUMNS if c not in ("line", "american")]
    frame = pd.DataFrame(rows, columns=[*columns[:-1], "_price"])
    frame["commence_time"] = _times(frame["commence_time"])
    frame["last_update"] = _times(frame["last_update"])
    frame["point"] = pd.to_numeric(frame["point"], errors="coerce").astype(float)
    quoted = pd.to_numeric(frame.pop("_price"), errors="coerce").to_numpy(dtype=float)
    if odds_format == "american":
        frame["price"] = decimal_array_from_american(quoted)
        frame["american"] = pd.array(np.where(np.isfinite(quoted), quoted, np.nan), dtype="Int64")
    else:
        frame["price"] = quoted
        frame["american"] = pd.array(american_array_from_decimal(quoted), dtype="Int64")
    market = frame["market"].astype(str)
    frame["line"] = np.where(market.str.contains("spreads"), frame["point"].abs(), frame["point"])
    for column in (
        "event_id",
        "sport_key",
        "home_team",
        "away_team",
        "bookmaker",
        "bookmaker_title",
        "market",
        "outcome",
        "description",
    ):
        frame[column] = frame[column].astype("string")
    return frame[ODDS_COLUMNS]


def scores_frame(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    rows = []
    for event in events:
        scores = {s.get("name"): s.get("score") for s in event.get("scores") or []}
        rows.append(
            {
                "event_id": event.get("id"),
                **{c: event.get(c) for c in EVENT_COLUMNS[1:]},
                "completed": bool(event.get("completed")),
                "home_score": scores.get(event.get("home_team")),
                "away_score": scores.get(event.get("away_team")),
                "last_update": event.get("last_update"),
            }
        )
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    frame["commence_time"] = _times(frame["commence_time"])
    frame["last_update"] = _times(frame["last_update"])
    for column in ("home_score", "away_score"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame
