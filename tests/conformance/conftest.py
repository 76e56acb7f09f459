"""The conformance suite's fixtures: every scenario runs once per subject in ``subjects.SUBJECTS``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from ntlab.core import OrderManager, RiskLimits
from tests.conformance.subject import Subject
from tests.conformance.subjects import SUBJECTS

# The suite tests brokers, not the pre-trade rules: only the rules that never refuse a scenario's order stay.
RISK = RiskLimits(
    price_band_bps=None,
    max_order_notional=None,
    duplicate_window=None,
    require_locate=False,
    self_trade="off",
    check_stop_side=False,
)


@pytest.fixture(params=sorted(SUBJECTS))
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    async with SUBJECTS[request.param]() as made:
        yield made


@contextlib.asynccontextmanager
async def session(
    subject: Subject, journal: Path | None = None, prefix: str = "c"
) -> AsyncIterator[OrderManager]:
    """An OrderManager on a new adapter of the subject's fake, settled on the way in and out."""
    om = OrderManager(
        subject.broker(), journal=journal, id_prefix=prefix, risk=RISK, **subject.manager_options()
    )
    await om.start()
    try:
        await subject.settle(om)
        yield om
        await subject.settle(om)
    finally:
        await om.close()


def check(subject: Subject, om: OrderManager) -> None:
    """Nothing lost, nothing doubled: what the broker did and what ntlab holds agree."""
    placed = subject.placed()
    assert len(placed) == len(set(placed)), f"{subject.name}: an order was placed twice: {placed}"
    booked = {f.fill_id for f in om.fills()}
    made = subject.fill_ids()
    assert made == booked, (
        f"{subject.name}: fills differ: broker only {made - booked}, ntlab only {booked - made}"
    )
    ours = {p.symbol: p.quantity for p in om.positions() if p.quantity}
    assert ours == subject.positions(), (
        f"{subject.name}: positions differ: ntlab {ours}, broker {subject.positions()}"
    )


def lacks(subject: Subject, capability: str) -> None:
    """Skip a scenario the subject declared it cannot run, saying which capability and why."""
    why = subject.caps.notes.get(capability, "not supported")
    pytest.skip(f"{subject.name} declares no {capability}: {why}")


def passive_price(reference: Decimal, buy: bool, away: str = "0.03") -> Decimal:
    """A limit that rests: a few percent on the passive side of the market, on a cent tick."""
    factor = 1 - Decimal(away) if buy else 1 + Decimal(away)
    return (reference * factor).quantize(Decimal("0.01"))


def marketable_price(reference: Decimal, buy: bool, through: str = "0.0005") -> Decimal:
    """A limit that takes at once and keeps working: a little through the touch, on the quote's own tick."""
    factor = 1 + Decimal(through) if buy else 1 - Decimal(through)
    return (reference * factor).quantize(Decimal(1).scaleb(reference.as_tuple().exponent))  # type: ignore[arg-type]
