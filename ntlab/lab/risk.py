"""``lab.risk``: each pre-trade limit beside what is used of it now, as a DataFrame and a small widget.

Everything here reads :meth:`ntlab.core.risk.RiskEngine.usage` (plain rows, no pandas in the core), taken
on the core loop with fresh marks from the broker's latest quotes; the widget redraws once a second, as
marks move without any order event.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ntlab.core.risk import LimitUsage, RiskLimits, risk_rules_table

if TYPE_CHECKING:
    from ntlab.lab.session import Lab

STATUSES = ["ok", "breached", "halted", "unknown", "on", "off"]


def _floats(values: Sequence[Decimal | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def risk_frame(rows: Sequence[LimitUsage]) -> pd.DataFrame:
    """One row per limit: the rule's setting and reason code, the symbol (empty for the account), the limit,
    what is used of it, ``used_pct``, a status and a note. ``usage`` is NaN for rules checked per order."""
    limit = _floats([r.limit for r in rows])
    usage = _floats([r.usage for r in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        used = np.where(limit > 0, usage / limit * 100, np.nan)
    return pd.DataFrame(
        {
            "rule": pd.array([r.rule for r in rows], dtype="string"),
            "reason": pd.array([r.reason for r in rows], dtype="string"),
            "symbol": pd.array([r.symbol for r in rows], dtype="string"),
            "limit": limit,
            "usage": usage,
            "used_pct": used,
            "status": pd.Categorical([r.status for r in rows], categories=STATUSES),
            "setting": pd.array([r.setting for r in rows], dtype="string"),
            "note": pd.array([r.note for r in rows], dtype="string"),
        }
    )


class RiskView:
    """What ``lab.risk`` gives: ``.frame`` (a DataFrame), ``.widget()``, ``.limits``, ``.rules``.

    Shown in a cell it is the frame. Change limits with ``lab.risk.limits = RiskLimits(...)``: they apply
    from the next order.
    """

    def __init__(self, lab: Lab) -> None:
        self._lab = lab

    async def _rows(self) -> list[LimitUsage]:
        return self._lab.manager.risk.usage(self._lab.broker.last_quote)

    @property
    def frame(self) -> pd.DataFrame:
        """Each limit beside its current usage (taken on the core loop, marked to the latest quotes)."""
        return risk_frame(self._lab.run(self._rows()))

    async def aframe(self) -> pd.DataFrame:
        return risk_frame(await self._lab.arun(self._rows()))

    @property
    def limits(self) -> RiskLimits:
        return self._lab.manager.risk.limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        engine = self._lab.manager.risk

        async def apply() -> None:
            engine.limits = limits

        self._lab.run(apply())

    @property
    def rules(self) -> str:
        """The rules in the order they run (``print(lab.risk.rules)``)."""
        return risk_rules_table()

    def widget(self) -> Any:
        """A small table of the limits and their usage, redrawn once a second."""
        from ntlab.lab.widgets import FrameView

        return self._lab._keep(FrameView(self._lab, "Risk limits", self.aframe, hz=1, always=True))

    def _repr_html_(self) -> str:
        return str(self.frame.to_html(float_format=lambda x: f"{x:,.6g}", na_rep="", classes="ntlab-frame"))

    def __repr__(self) -> str:
        return str(self.frame.to_string())
