"""The paper venue's fill assumptions, all stated and configurable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class PaperConfig(BaseModel):
    """How the simulated venue fills orders.

    - ``latency``: orders become live this long after submission (0: marketable orders fill at once).
    - ``taker_fee_bps`` / ``maker_fee_bps`` / ``fee_per_share``: fees on each fill (negative maker = rebate).
    - ``passive_fill_probability``: chance that a trade printing at or through a resting limit fills it.
    - ``slippage_bps``: extra cost of market orders beyond the touch.
    - ``price_offset_bps``: this venue's quotes shifted from the market's (for multi-venue routing).
    - ``liquidity_factor``: this venue's displayed size as a multiple of the market's.
    - ``seed``: the random stream for passive fills; same seed and inputs give the same fills.
    - ``locates``: the symbols that can be sold short (easy to borrow); None: every symbol of the market.
    - ``starting_cash``: the paper account's cash at the start of the session (its ``account()``).
    """

    model_config = ConfigDict(frozen=True)

    seed: int = 7
    latency: timedelta = timedelta(0)
    taker_fee_bps: Decimal = Decimal("0.5")
    maker_fee_bps: Decimal = Decimal("0")
    fee_per_share: Decimal = Decimal("0")
    passive_fill_probability: float = Field(default=1.0, ge=0.0, le=1.0)
    slippage_bps: Decimal = Decimal("0")
    price_offset_bps: Decimal = Decimal("0")
    liquidity_factor: float = Field(default=1.0, gt=0.0)
    locates: frozenset[str] | None = None
    starting_cash: Decimal = Field(default=Decimal("1000000"), ge=0)
