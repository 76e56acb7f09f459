"""The headless trading core: models, the order state machine, validation, risk, the journal, the manager."""

from ntlab.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from ntlab.core.events import OrderEvent
from ntlab.core.instruments import AssetKind, Instrument, InstrumentRegistry
from ntlab.core.journal import Journal, read_events
from ntlab.core.lifecycle import TRANSITIONS, transition_table
from ntlab.core.manager import OrderManager
from ntlab.core.models import Fill, Order, OrderRequest, OrderResponse, OrderUpdate, Position, Quote
from ntlab.core.risk import RiskLimits
from ntlab.core.session import load_session

__all__ = [
    "TRANSITIONS",
    "AssetKind",
    "Fill",
    "Instrument",
    "InstrumentRegistry",
    "Journal",
    "Liquidity",
    "Order",
    "OrderEvent",
    "OrderManager",
    "OrderRequest",
    "OrderResponse",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Position",
    "Quote",
    "RiskLimits",
    "Side",
    "TimeInForce",
    "load_session",
    "read_events",
    "transition_table",
]
