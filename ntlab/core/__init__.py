"""The headless trading core: records, the order state machine, validation, risk, the journal, the manager."""

from ntlab.core.broker import Broker, QuoteSource, SimulatedVenue
from ntlab.core.enums import Liquidity, OrderClass, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.events import OrderEvent
from ntlab.core.instruments import AssetKind, Instrument, InstrumentRegistry
from ntlab.core.journal import Journal, read_events
from ntlab.core.lifecycle import TRANSITIONS, transition_table
from ntlab.core.manager import OrderManager
from ntlab.core.models import OrderRequest
from ntlab.core.records import Fill, Order, OrderResponse, Position, Quote
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    FeeCharged,
    Filled,
    OrderUpdate,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
    Triggered,
)
from ntlab.core.risk import RiskLimits
from ntlab.core.session import load_session

__all__ = [
    "TRANSITIONS",
    "Accepted",
    "AssetKind",
    "Broker",
    "CancelRejected",
    "Cancelled",
    "Expired",
    "FeeCharged",
    "Fill",
    "Filled",
    "Instrument",
    "InstrumentRegistry",
    "Journal",
    "Liquidity",
    "Order",
    "OrderClass",
    "OrderEvent",
    "OrderManager",
    "OrderRequest",
    "OrderResponse",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "PendingCancel",
    "Position",
    "Quote",
    "QuoteSource",
    "Rejected",
    "ReplaceRejected",
    "Replaced",
    "RiskLimits",
    "Side",
    "SimulatedVenue",
    "TimeInForce",
    "Triggered",
    "load_session",
    "read_events",
    "transition_table",
]
