"""Session data in the shape :func:`ntlab.analytics.tca` takes, from plain order and fill snapshots.

Used by ``lab.tca()`` and by ``ntlab report --journal FILE``, so it needs no running session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ntlab.core.records import Fill, Order


def _utc_ns(times: Sequence[datetime | None]) -> pd.DatetimeIndex:
    """UTC nanoseconds, the unit of the market's frames: as-of joins need both sides in one dtype."""
    return pd.DatetimeIndex(pd.to_datetime(times, utc=True)).as_unit("ns")


def tca_frames(orders: Sequence[Order], fills: Sequence[Fill]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders, fills) frames for TCA: orders that reached the market, with ``arrival_time`` = creation.

    Orders refused before the broker are left out (they never traded and carry no cost); ``algo`` is the
    order's tag (set by execution algorithms), ``venue`` where it was routed and ``end_time`` when it
    finished (empty while it works).
    """
    traded = [o for o in orders if o.reason_code is None]
    order_frame = pd.DataFrame(
        {
            "order_id": [o.order_id for o in traded],
            "symbol": [o.symbol for o in traded],
            "side": [o.side.value for o in traded],
            "quantity": [float(o.quantity) for o in traded],
            "arrival_time": _utc_ns([o.created_at for o in traded]),
            "algo": [o.tag or ("child" if o.parent_id else "manual") for o in traded],
            "venue": [o.venue or "" for o in traded],
            "parent_id": [o.parent_id or "" for o in traded],
            "end_time": _utc_ns([None if o.status.is_open else o.updated_at for o in traded]),
        }
    )
    known = {o.order_id for o in traded}
    kept = [f for f in fills if f.order_id in known]
    fill_frame = pd.DataFrame(
        {
            "order_id": [f.order_id for f in kept],
            "fill_id": [f.fill_id for f in kept],
            "time": _utc_ns([f.time for f in kept]),
            "price": [float(f.price) for f in kept],
            "quantity": [float(f.quantity) for f in kept],
            "fee": [float(f.fee) for f in kept],
            "venue": [f.venue or "" for f in kept],
            "liquidity": [f.liquidity.value if f.liquidity else "" for f in kept],
        }
    )
    return order_frame, fill_frame


def parent_frame(parents: Sequence[Any]) -> pd.DataFrame:
    """Parent (algo) orders as TCA order rows: start as arrival, the window's end as the end of the
    opportunity window (none once filled: the last fill ends it). ``parents`` have the fields of
    :class:`ntlab.algos.ParentSnapshot` (parent_id, algo, symbol, side, quantity, start, end, status)."""
    return pd.DataFrame(
        {
            "order_id": [p.parent_id for p in parents],
            "symbol": [p.symbol for p in parents],
            "side": [str(p.side.value) for p in parents],
            "quantity": [float(p.quantity) for p in parents],
            "arrival_time": _utc_ns([p.start for p in parents]),
            "end_time": _utc_ns([None if str(p.status.value) == "filled" else p.end for p in parents]),
            "algo": [p.algo for p in parents],
            "parent_id": ["" for _ in parents],
        }
    )
