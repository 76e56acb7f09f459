"""Execution algorithms (TWAP, VWAP, POV) as parent orders that work through child orders.

The smart order router is a broker: :mod:`ntlab.brokers.router`."""

from ntlab.algos.costs import cost_table
from ntlab.algos.engine import AlgoEngine
from ntlab.algos.models import AlgoParams, AlgoStatus, ParentSnapshot
from ntlab.algos.parent import ParentOrder, ProgressPoint
from ntlab.algos.schedules import history_profile

__all__ = [
    "AlgoEngine",
    "AlgoParams",
    "AlgoStatus",
    "ParentOrder",
    "ParentSnapshot",
    "ProgressPoint",
    "cost_table",
    "history_profile",
]
