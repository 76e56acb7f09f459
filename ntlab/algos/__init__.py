"""Execution algorithms (TWAP, VWAP, POV) as parent orders that work through child orders, and smart
order routing across several paper venues."""

from ntlab.algos.costs import cost_table
from ntlab.algos.engine import AlgoEngine
from ntlab.algos.models import AlgoParams, AlgoStatus, ParentSnapshot
from ntlab.algos.parent import ParentOrder, ProgressPoint
from ntlab.algos.router import SmartRouter, paper_venues
from ntlab.algos.schedules import history_profile

__all__ = [
    "AlgoEngine",
    "AlgoParams",
    "AlgoStatus",
    "ParentOrder",
    "ParentSnapshot",
    "ProgressPoint",
    "SmartRouter",
    "cost_table",
    "history_profile",
    "paper_venues",
]
