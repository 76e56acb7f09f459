"""What a parent order is asked to do (``AlgoParams``) and how it stands (``AlgoStatus``, ``ParentSnapshot``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ntlab.core.enums import Side
from ntlab.errors import InvalidArgument


class AlgoStatus(StrEnum):
    """A parent's life: pending until its start, running, then one final status."""

    PENDING = "pending"
    RUNNING = "running"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the window ended (or a limit cap held it back) before the quantity was done
    STOPPED = "stopped"  # a restart was configured to stop rather than resume

    @property
    def is_final(self) -> bool:
        return self not in (AlgoStatus.PENDING, AlgoStatus.RUNNING)


AlgoKind = Literal["twap", "vwap", "pov"]
Placement = Literal["passive", "aggressive"]


def refusal(error: ValidationError) -> InvalidArgument:
    """pydantic's report on algo parameters as one readable line about the first bad one."""
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "parameters"
    given = first.get("input")
    if first["type"] == "extra_forbidden":
        known = ", ".join(sorted(AlgoParams.model_fields))
        return InvalidArgument(f"unknown algo option {name!r}; the options are: {known}")
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:  # a check across fields: its message names them
        return InvalidArgument(message)
    return InvalidArgument(f"{name}={given!r}: {message[0].lower()}{message[1:]}")


class AlgoParams(BaseModel):
    """A parent order's instructions. Times are UTC; quantities and prices are Decimal.

    - ``start`` / ``end``: the trading window (default: now until the session close).
    - ``limit_price``: a cap no child crosses (a ceiling for buys, a floor for sells).
    - ``min_child`` / ``max_child``: child sizes; a smaller remainder is still sent to finish.
    - ``interval``: how often the algo looks at the market and places or re-prices children.
    - ``placement``: ``passive`` joins the near touch and re-pegs as it moves; ``aggressive`` takes the far
      touch. A passive parent crosses anyway when it falls behind schedule by more than ``catch_up``
      shares (default half a max child) and in its last interval.
    - ``rate`` / ``band`` (POV): the target share of the tape's volume since the start, and the tolerance
      around it; the parent never runs ahead of ``rate * (1 + band)`` and crosses below ``rate * (1 - band)``.
    - ``profile`` (VWAP): volume weights over equal bins of the window (from the user's history);
      default: the market's own volume curve over the window.
    - ``on_restart``: after a restart, ``resume`` continues from the journaled children, ``stop`` cancels
      the working children and ends the parent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    algo: AlgoKind
    symbol: str
    side: Side
    quantity: Decimal = Field(gt=0)
    start: datetime
    end: datetime
    limit_price: Decimal | None = Field(default=None, gt=0)
    min_child: Decimal = Field(default=Decimal(1), gt=0)
    max_child: Decimal = Field(gt=0)
    interval: timedelta = timedelta(seconds=30)
    placement: Placement = "passive"
    catch_up: Decimal | None = None
    rate: float | None = Field(default=None, gt=0, le=1)
    band: float = Field(default=0.2, ge=0, lt=1)
    profile: tuple[float, ...] | None = None
    venue: str | None = None
    on_restart: Literal["resume", "stop"] = "resume"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise refusal(error) from None

    @model_validator(mode="after")
    def _check(self) -> AlgoParams:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        if self.min_child > self.max_child:
            raise ValueError(
                f"max_child={self.max_child} is below min_child={self.min_child}; raise max_child or lower min_child"
            )
        if self.algo == "pov" and self.rate is None:
            raise ValueError("a POV parent needs rate, the target share of volume (e.g. 0.1)")
        if self.interval <= timedelta(0):
            raise ValueError(f"interval={self.interval}: must be longer than zero, e.g. '30s'")
        if self.interval > self.end - self.start:
            raise ValueError(f"interval={self.interval} is longer than the window ({self.end - self.start})")
        if self.profile is not None and (not self.profile or min(self.profile) < 0 or sum(self.profile) <= 0):
            raise ValueError("profile needs non-negative weights with a positive sum")
        return self

    @property
    def catch_up_shares(self) -> Decimal:
        return self.catch_up if self.catch_up is not None else self.max_child / 2


class ParentSnapshot(BaseModel):
    """A parent order's state at a moment: what the views, the widget and the journal show."""

    model_config = ConfigDict(frozen=True)

    parent_id: str
    algo: AlgoKind
    symbol: str
    side: Side
    quantity: Decimal
    filled_quantity: Decimal
    working_quantity: Decimal
    target_quantity: Decimal
    avg_fill_price: Decimal | None
    status: AlgoStatus
    children: int
    open_children: int
    start: datetime
    end: datetime
    updated_at: datetime
    limit_price: Decimal | None = None
    reason: str | None = None

    @property
    def progress(self) -> float:
        """Filled share of the parent's quantity, 0..1."""
        return float(self.filled_quantity / self.quantity)

    @property
    def schedule_progress(self) -> float:
        """Share the schedule asks to have done by now, 0..1."""
        return float(self.target_quantity / self.quantity)
