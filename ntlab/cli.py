"""The command line: ``ntlab demo`` (a headless paper session), ``ntlab report`` (TCA from a journal, or
from Parquet on a Dask cluster) and ``ntlab export`` (a journal's orders and fills as partitioned Parquet)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from ntlab.algos.models import AlgoStatus
from ntlab.core import Fill, Order, OrderManager, OrderRequest, Position
from ntlab.core.enums import Side
from ntlab.errors import NtlabError, OrderDenied
from ntlab.tabular import frame

if TYPE_CHECKING:
    from ntlab.analytics import TCAReport
    from ntlab.market import Market

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


SUMMARY_COLUMNS = ["count", "notional", "mean_bps", "median_bps", "ci_low_bps", "ci_high_bps"]


class _Parent(NamedTuple):
    """A parent as its journal records it (the fields :func:`ntlab.lab.frames.parent_frame` reads)."""

    parent_id: str
    algo: str
    symbol: str
    side: Side
    quantity: Decimal
    start: datetime
    end: datetime
    status: AlgoStatus


def journal_frames(journal: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders, fills) of a journal as TCA reads them: the one place a journal is read for analysis.

    Orders and fills come from the replayed session; algo parents from their start (and end) records,
    so each parent has its own quantity and window instead of one derived from its children.
    """
    from ntlab.core import load_session
    from ntlab.core.journal import read_events
    from ntlab.lab.frames import parent_frame, tca_frames

    session = load_session(journal)
    orders, fills = tca_frames(list(session.snapshots()), list(session.fills))
    parents: dict[str, _Parent] = {}
    for event in read_events(journal):
        if event.kind == "algo_start":
            p = event.data["params"]
            parents[event.data["parent_id"]] = _Parent(
                event.data["parent_id"],
                p["algo"],
                p["symbol"],
                Side(p["side"]),
                Decimal(p["quantity"]),
                datetime.fromisoformat(p["start"]),
                datetime.fromisoformat(p["end"]),
                AlgoStatus.RUNNING,
            )
        elif event.kind == "algo_end" and event.data["parent_id"] in parents:
            parent = parents[event.data["parent_id"]]
            parents[parent.parent_id] = parent._replace(status=AlgoStatus(event.data["status"]))
    if parents:
        orders = pd.concat([orders, parent_frame(list(parents.values()))], ignore_index=True)
    return orders, fills


def print_summary(report: TCAReport) -> None:
    """The headline table, rounded the way every report shows numbers."""
    from ntlab.analytics.formatting import format_frame

    for key, value in report.header.items():
        if key in ("session", "time range", "market source", "orders", "participation"):
            print(f"{key}: {value}")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(format_frame(report.summary[SUMMARY_COLUMNS]).to_string())


def _market(args: argparse.Namespace, orders: pd.DataFrame, fills: pd.DataFrame) -> tuple[Market, str, bool]:
    """(market, what it is, whether its trades include the session's fills)."""
    from ntlab.market import PROVIDERS, load_market, sample_market
    from ntlab.market.tca import tca_market

    if args.quotes in PROVIDERS:  # a provider's name: fetch what TCA needs for these orders (cached)
        return tca_market(args.quotes, orders, fills), args.quotes, args.tape_includes_fills
    if args.quotes:
        source = args.quotes + (f" + {args.trades}" if args.trades else "")
        return load_market(quotes=args.quotes, trades=args.trades), source, args.tape_includes_fills
    return sample_market(seed=args.seed), f"sample market, seed {args.seed}", False


def _report(args: argparse.Namespace) -> int:
    from ntlab.analytics import tca

    if args.dask is not None:
        from ntlab.analytics.distributed import report_from_parquet

        report = report_from_parquet(args.data, args.dask, tape_includes_fills=args.tape_includes_fills)
    else:
        order_frame, fill_frame = journal_frames(args.journal)
        if order_frame.empty:
            print(f"{args.journal} records no orders; nothing to analyse", file=sys.stderr)
            return 1
        market, source, own = _market(args, order_frame, fill_frame)
        report = tca(
            order_frame,
            fill_frame,
            market.quotes,
            market.trades,
            tape_includes_fills=own,
            session=Path(args.journal).name,
            market_source=source,
        )
    out = report.to_html(args.out)
    print(
        f"wrote {out}: {len(report.orders)} orders ({len(report.children)} children), {report.fill_count} fills"
    )
    if args.pdf:
        print(f"wrote {report.to_pdf(args.pdf)}")
    print_summary(report)
    return 0


def _export(args: argparse.Namespace) -> int:
    from ntlab.analytics.parquet import write_partitioned

    orders, fills = journal_frames(args.journal)
    out = Path(args.out)
    written = {
        "orders": write_partitioned(orders, out / "orders", "arrival_time"),
        "fills": write_partitioned(
            fills.merge(orders[["order_id", "symbol"]], on="order_id"), out / "fills", "time"
        ),
    }
    if args.market:
        market, _, _ = _market(args, orders, fills)
        written["quotes"] = write_partitioned(
            market.quotes[["symbol", "time", "bid", "ask"]], out / "quotes", "time"
        )
        written["trades"] = write_partitioned(
            market.trades[["symbol", "time", "price", "size"]], out / "trades", "time"
        )
    for name, rows in written.items():
        print(f"{out / name}: {rows:,} rows, partitioned by symbol and day")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ntlab", description="ntlab: interactive trading toolkit")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a headless session on the paper venue and the sample market")
    demo.add_argument("--seed", type=int, default=7, help="sample market seed (default 7)")
    demo.add_argument("--journal", help="keep the session's journal at this path (default: a temp file)")
    demo.set_defaults(run=_demo)
    report = commands.add_parser("report", help="execution-quality (TCA) report of a journaled session")
    report.add_argument("--journal", help="the session's journal file")
    report.add_argument("--dask", metavar="SCHEDULER", help="run on a Dask cluster (an address, or 'local')")
    report.add_argument(
        "--data", metavar="DIR", help="with --dask: orders/, fills/, quotes/, trades/ Parquet"
    )
    report.add_argument("--out", default="report.html", help="where to write the HTML report")
    report.add_argument("--pdf", help="also write the report as a PDF here")
    _market_arguments(report)
    report.set_defaults(run=_report)
    export = commands.add_parser("export", help="a journal's orders and fills as Parquet by symbol and day")
    export.add_argument("--journal", required=True, help="the session's journal file")
    export.add_argument("--out", required=True, help="the folder to write orders/ and fills/ into")
    export.add_argument("--market", action="store_true", help="also write the market's quotes/ and trades/")
    _market_arguments(export)
    export.set_defaults(run=_export)
    args = parser.parse_args(argv)
    if args.command == "report" and (args.journal is None) == (args.dask is None or args.data is None):
        report.error("give --journal FILE, or --dask SCHEDULER with --data DIR")
    try:
        return int(args.run(args))
    except NtlabError as error:
        print(f"ntlab {args.command}: {error}", file=sys.stderr)
        return 2


def _market_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--quotes", help="quotes CSV/Parquet, or a provider (polygon, alpaca, sample) to fetch them from"
    )
    command.add_argument("--trades", help="trades CSV/Parquet, for VWAP and participation")
    command.add_argument("--seed", type=int, default=7, help="sample market seed when no quotes are given")
    command.add_argument(
        "--tape-includes-fills",
        action="store_true",
        help="the trades include the session's own fills (a real market's tape; the sample market's does not)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
