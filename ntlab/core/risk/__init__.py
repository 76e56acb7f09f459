"""Pre-trade risk and compliance: a table of rules, run in order, that fails closed.

- :mod:`~ntlab.core.risk.rules`: the rules with their reason codes and defaults (``print(risk_rules_table())``).
- :mod:`~ntlab.core.risk.limits`: :class:`RiskLimits` (what users set) and per-symbol :class:`SymbolLimits`.
- :mod:`~ntlab.core.risk.exposure`: the exposure tracker the rules measure (positions, working orders,
  resting prices, marks, the day's P&L), fed by explicit calls and kept incrementally.
- :mod:`~ntlab.core.risk.engine`: :class:`RiskEngine`, the check itself and the calls that feed it.
"""

from ntlab.core.risk.engine import RiskEngine
from ntlab.core.risk.exposure import ExposureTracker
from ntlab.core.risk.limits import RiskLimits, SymbolLimits
from ntlab.core.risk.rules import RULES, Rule, risk_rules_table
from ntlab.core.risk.usage import LimitUsage

__all__ = [
    "RULES",
    "ExposureTracker",
    "LimitUsage",
    "RiskEngine",
    "RiskLimits",
    "Rule",
    "SymbolLimits",
    "risk_rules_table",
]
