"""The command line: ``ntlab demo`` (a headless paper session) and ``ntlab report`` (TCA from a journal)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ntlab.core import Fill, Order, OrderManager, OrderRequest, Position
from ntlab.errors import NtlabError, OrderDenied
from ntlab.tabular import frame

ORDER_COLUMNS = [
    "symbol",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "status",
    "filled_quantity",
    "avg_fill_price",
    "reason_code",
]
FILL_COLUMNS = ["time", "order_id", "symbol", "side", "quantity", "price", "fee", "liquidity"]


def orders_table(orders: Sequence[Order]) -> pd.DataFrame:
    return frame(orders, Order, index="order_id", columns=ORDER_COLUMNS)


def fills_table(fills: Sequence[Fill]) -> pd.DataFrame:
    return frame(fills, Fill, columns=FILL_COLUMNS)


def positions_table(positions: Sequence[Position]) -> pd.DataFrame:
    return frame(positions, Position, index="symbol")


def _show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n== {title} ({len(frame)})")
    if frame.empty:
        print("(none)")
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(frame.astype(object).where(frame.notna(), "").to_string())


async def run_demo(seed: int, journal: Path) -> None:
    """Place a mix of orders on the paper venue, step the simulated clock, print what happened."""
    from ntlab.brokers.paper import PaperBroker
    from ntlab.market import sample_market

    broker = PaperBroker(sample_market(seed=seed))
    async with OrderManager(broker, journal=journal, id_prefix="demo") as om:
        print(
            f"ntlab demo: paper venue on the sample market (seed {seed}), clock at {broker.now():%Y-%m-%d %H:%M} UTC"
        )
        print(f"journal: {journal}")
        aapl = broker.last_quote("AAPL")
        msft = broker.last_quote("MSFT")
        nvda = broker.last_quote("NVDA")
        assert aapl is not None and msft is not None and nvda is not None
        tick = Decimal("0.01")
        requests = [
            OrderRequest(symbol="AAPL", side="buy", quantity=100),
            OrderRequest(symbol="MSFT", side="buy", quantity=50, order_type="limit", limit_price=msft.bid),
            OrderRequest(
                symbol="NVDA", side="sell", quantity=40, order_type="stop", stop_price=nvda.bid - 20 * tick
            ),
            OrderRequest(symbol="BTC/USD", side="buy", quantity="0.25", time_in_force="gtc"),
            OrderRequest(symbol="EUR/USD", side="sell", quantity=100_000),
        ]
        placed = []
        for request in requests:
            response = await om.place_order(request)
            placed.append(response.order_id)
            print(
                f"placed {response.order_id}: {request.side} {request.quantity} {request.symbol} "
                f"{request.order_type} -> {response.status}"
            )
        far = (aapl.bid * Decimal("0.97")).quantize(tick)
        resting = await om.place_order(
            OrderRequest(symbol="AAPL", side="buy", quantity=100, order_type="limit", limit_price=far)
        )
        cancelled = await om.cancel_order(resting.order_id)
        print(f"placed and cancelled {resting.order_id}: limit buy at {far} -> {cancelled.status}")
        fat_finger = (aapl.ask * 10).quantize(tick)
        try:
            await om.place_order(
                OrderRequest(
                    symbol="AAPL", side="buy", quantity=10, order_type="limit", limit_price=fat_finger
                )
            )
        except OrderDenied as denial:
            print(f"refused {denial.order_id}: {denial}")
        await broker.advance("30min")
        print(f"advanced the clock 30 minutes to {broker.now():%H:%M} UTC")
        _show("orders", orders_table(om.orders()))
        _show("fills", fills_table(om.fills()))
        _show("positions", positions_table(om.positions()))


def _demo(args: argparse.Namespace) -> int:
    if args.journal is not None:
        asyncio.run(run_demo(args.seed, Path(args.journal)))
        return 0
    with tempfile.TemporaryDirectory(prefix="ntlab-demo-") as folder:
        asyncio.run(run_demo(args.seed, Path(folder) / "demo.sqlite"))
    return 0


def _report(args: argparse.Namespace) -> int:
    from ntlab.analytics import tca
    from ntlab.core import load_session
    from ntlab.lab.frames import tca_frames
    from ntlab.market import PROVIDERS, load_market, sample_market
    from ntlab.market.tca import tca_market

    session = load_session(args.journal)
    orders = list(session.snapshots())
    if not orders:
        print(f"{args.journal} records no orders; nothing to analyse", file=sys.stderr)
        return 1
    order_frame, fill_frame = tca_frames(orders, list(session.fills))
    if args.quotes in PROVIDERS:  # a provider's name: fetch what TCA needs for these orders (cached)
        market = tca_market(args.quotes, order_frame, fill_frame)
    elif args.quotes:
        market = load_market(quotes=args.quotes, trades=args.trades)
    else:
        market = sample_market(seed=args.seed)
    report = tca(order_frame, fill_frame, market.quotes, market.trades)
    out = report.to_html(args.out)
    print(f"wrote {out}: {len(order_frame)} orders, {len(fill_frame)} fills")
    print(report.summary.to_string())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ntlab", description="ntlab: interactive trading toolkit")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a headless session on the paper venue and the sample market")
    demo.add_argument("--seed", type=int, default=7, help="sample market seed (default 7)")
    demo.add_argument("--journal", help="keep the session's journal at this path (default: a temp file)")
    demo.set_defaults(run=_demo)
    report = commands.add_parser("report", help="execution-quality (TCA) report of a journaled session")
    report.add_argument("--journal", required=True, help="the session's journal file")
    report.add_argument("--out", default="report.html", help="where to write the HTML report")
    report.add_argument(
        "--quotes", help="quotes CSV/Parquet, or a provider (polygon, alpaca, sample) to fetch them from"
    )
    report.add_argument("--trades", help="trades CSV/Parquet, for VWAP and participation")
    report.add_argument("--seed", type=int, default=7, help="sample market seed when no quotes are given")
    report.set_defaults(run=_report)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except NtlabError as error:
        print(f"ntlab {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
