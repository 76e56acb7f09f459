"""Parents first: which orders are units of implementation shortfall, and which are children of one.

An order whose ``parent_id`` names another order is a child; the unit it rolls up into is its parent.
The parent may be a row of the orders frame (given explicitly: its quantity, start as ``arrival_time``,
window end as ``end_time``) or, when no row has that id, derived from its children:

- symbol and side: the children's (they must agree);
- quantity: the sum of the children's quantities (give the parent explicitly when children replace one
  another, as re-priced algo slices do, or the re-sent quantity counts twice);
- arrival and decision: the earliest child's; end: the latest end a child gives (else the last fill);
- algo and venue: the children's when they agree, else "mixed".

Units are the stand-alone orders and explicit parents in the order they come, then derived parents in
the order their first child comes. One level only: a parent with a parent of its own is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ntlab.analytics.inputs import MISSING_NS, Orders
from ntlab.errors import DataError


@dataclass(frozen=True, slots=True)
class Units:
    ids: pd.Index  # unit ids (order ids of stand-alone orders and parents)
    of_order: np.ndarray  # unit row of each order row (a child's parent, else itself)
    is_child: np.ndarray  # per order row
    derived: np.ndarray  # per unit: a parent built from its children (no row of its own)
    children: np.ndarray  # per unit: number of child orders
    symbol_code: np.ndarray
    sign: np.ndarray
    quantity: np.ndarray
    arrival_ns: np.ndarray
    decision_ns: np.ndarray
    end_ns: np.ndarray  # MISSING_NS where no end was given
    extras: dict[str, np.ndarray]  # "algo" / "venue" per unit where the orders carry them

    def __len__(self) -> int:
        return len(self.ids)


def _agreed(values: np.ndarray, groups: np.ndarray, size: int) -> np.ndarray:
    """Per group, the one value its rows share, else "mixed" (object array)."""
    frame = pd.DataFrame({"g": groups, "v": pd.Series(values, dtype=object).fillna("")})
    per = frame.groupby("g", sort=False)["v"].agg(lambda v: v.iloc[0] if v.nunique() == 1 else "mixed")
    out = np.full(size, "", dtype=object)
    out[per.index.to_numpy()] = per.to_numpy()
    return out


def resolve_units(orders: Orders) -> Units:
    ids = orders.frame.index
    n = len(ids)
    parent = orders.parent
    is_child = parent != ""
    extras_in = {k: orders.frame[k].to_numpy(dtype=object) for k in ("algo", "venue") if k in orders.frame}
    if not is_child.any():
        return Units(
            ids=ids,
            of_order=np.arange(n),
            is_child=is_child,
            derived=np.zeros(n, dtype=bool),
            children=np.zeros(n, dtype=np.int64),
            symbol_code=orders.symbol_code,
            sign=orders.sign,
            quantity=orders.quantity,
            arrival_ns=orders.arrival_ns,
            decision_ns=orders.decision_ns,
            end_ns=orders.end_ns,
            extras=extras_in,
        )
    row_of = pd.Index(ids).get_indexer(parent[is_child])  # -1: parent not among the rows
    explicit_rows = row_of[row_of >= 0]
    nested = is_child[explicit_rows]
    if nested.any():
        bad = ids[explicit_rows[nested][0]]
        raise DataError(
            f"orders: parent {bad!r} has a parent_id of its own; ntlab rolls up one level, so point its "
            "children at the top parent"
        )
    standalone = np.flatnonzero(~is_child)  # stand-alone orders and explicit parents, in input order
    child_rows = np.flatnonzero(is_child)
    missing = parent[child_rows][row_of < 0]
    derived_ids = pd.unique(missing) if len(missing) else np.array([], dtype=object)
    n_units = len(standalone) + len(derived_ids)
    unit_ids = pd.Index(
        np.concatenate([ids.to_numpy(dtype=object)[standalone], derived_ids]), name="order_id"
    )
    of_order = np.empty(n, dtype=np.int64)
    of_order[standalone] = np.arange(len(standalone))
    of_order[child_rows] = unit_ids.get_indexer(parent[child_rows])
    # every field of a unit starts as its own row's; derived parents take theirs from their children
    own = np.full(n_units, -1)
    own[: len(standalone)] = standalone
    kids = of_order[child_rows]
    first_child = np.full(n_units, n, dtype=np.int64)
    np.minimum.at(first_child, kids, child_rows)
    source = np.where(own >= 0, own, first_child)
    symbol_code, sign = orders.symbol_code[source], orders.sign[source]
    wrong_symbol = orders.symbol_code[child_rows] != symbol_code[kids]
    wrong_side = orders.sign[child_rows] != sign[kids]
    for wrong, what in ((wrong_symbol, "symbol"), (wrong_side, "side")):
        if wrong.any():
            k = child_rows[np.flatnonzero(wrong)[0]]
            raise DataError(
                f"orders: child {ids[k]!r} has another {what} than its parent {parent[k]!r}; a parent's "
                f"children trade its {what}"
            )
    derived = own < 0
    quantity = orders.quantity[source].copy()
    arrival = orders.arrival_ns[source].copy()
    decision = orders.decision_ns[source].copy()
    end = orders.end_ns[source].copy()
    if derived.any():
        child_quantity = np.bincount(kids, weights=orders.quantity[child_rows], minlength=n_units)
        quantity[derived] = child_quantity[derived]
        first_arrival = np.full(n_units, np.iinfo(np.int64).max)
        np.minimum.at(first_arrival, kids, orders.arrival_ns[child_rows])
        first_decision = np.full(n_units, np.iinfo(np.int64).max)
        np.minimum.at(first_decision, kids, orders.decision_ns[child_rows])
        last_end = np.full(n_units, MISSING_NS)
        np.maximum.at(last_end, kids, orders.end_ns[child_rows])
        arrival[derived] = first_arrival[derived]
        decision[derived] = first_decision[derived]
        end[derived] = last_end[derived]
    extras = {}
    for key, values in extras_in.items():
        unit_values = values[source].copy()
        if derived.any():
            agreed = _agreed(values[child_rows], kids, n_units)
            unit_values[derived] = agreed[derived]
        extras[key] = unit_values
    return Units(
        ids=unit_ids,
        of_order=of_order,
        is_child=is_child,
        derived=derived,
        children=np.bincount(kids, minlength=n_units),
        symbol_code=symbol_code,
        sign=sign,
        quantity=quantity,
        arrival_ns=arrival,
        decision_ns=decision,
        end_ns=end,
        extras=extras,
    )
