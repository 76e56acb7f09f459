"""The built-in paper venue: simulated fills against a market, the default broker."""

from ntlab.brokers.paper.clock import RealTimeClock, SimClock
from ntlab.brokers.paper.config import PaperConfig
from ntlab.brokers.paper.venue import PaperBroker

__all__ = ["PaperBroker", "PaperConfig", "RealTimeClock", "SimClock"]
