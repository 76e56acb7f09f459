"""A persistent paper account: the venue's own record of the orders it received and the fills it made.

With a ledger the paper venue behaves like a real broker across restarts: a new session can ask it whether
an order arrived, resting orders are still on the book, and the clock resumes where it stopped. It also
records every submit attempt, which is how tests prove nothing was sent twice.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from ntlab.brokers.paper.book import VenueOrder
from ntlab.core.enums import OrderStatus, OrderType, Side, TimeInForce

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (seq INTEGER PRIMARY KEY, fill_id TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submits (seq INTEGER PRIMARY KEY, order_id TEXT NOT NULL, time_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), now_ns INTEGER NOT NULL);
"""


class Ledger:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def record(
        self,
        now_ns: int,
        orders: list[dict[str, Any]],
        fills: list[dict[str, Any]],
        attempt: str | None = None,
    ) -> None:
        """Write one batch of venue state in a transaction."""
        db = self._db
        db.execute("BEGIN")
        if attempt is not None:
            db.execute("INSERT INTO submits(order_id, time_ns) VALUES (?, ?)", (attempt, now_ns))
        db.executemany(
            "INSERT OR REPLACE INTO orders(order_id, data) VALUES (?, ?)",
            [(o["order_id"], json.dumps(o)) for o in orders],
        )
        db.executemany(
            "INSERT OR IGNORE INTO fills(fill_id, data) VALUES (?, ?)",
            [(f["fill_id"], json.dumps(f)) for f in fills],
        )
        db.execute("INSERT OR REPLACE INTO clock(id, now_ns) VALUES (1, ?)", (now_ns,))
        db.execute("COMMIT")

    def orders(self) -> list[dict[str, Any]]:
        return [json.loads(d) for (d,) in self._db.execute("SELECT data FROM orders")]

    def fills(self) -> list[dict[str, Any]]:
        return [json.loads(d) for (d,) in self._db.execute("SELECT data FROM fills ORDER BY seq")]

    def now_ns(self) -> int | None:
        row = self._db.execute("SELECT now_ns FROM clock WHERE id = 1").fetchone()
        return None if row is None else int(row[0])

    def submit_counts(self) -> dict[str, int]:
        """How many times each client order id was submitted to the venue."""
        rows = self._db.execute("SELECT order_id, COUNT(*) FROM submits GROUP BY order_id")
        return {order_id: int(count) for order_id, count in rows}

    def close(self) -> None:
        self._db.close()


def order_row(order: VenueOrder) -> dict[str, Any]:
    """An order as a ledger row: JSON-safe, Decimals as strings so they come back exact."""
    return {
        "order_id": order.order_id,
        "broker_order_id": order.broker_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "quantity": str(order.quantity),
        "order_type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "limit_price": None if order.limit_price is None else str(order.limit_price),
        "stop_price": None if order.stop_price is None else str(order.stop_price),
        "created_ns": order.created_ns,
        "active_ns": order.active_ns,
        "updated_ns": order.updated_ns,
        "status": order.status.value,
        "filled": str(order.filled),
        "notional": str(order.notional),
        "triggered": order.triggered,
        "reason": order.reason,
    }


def order_from_row(row: dict[str, Any]) -> VenueOrder:
    order = VenueOrder(
        order_id=row["order_id"],
        broker_order_id=row["broker_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=Decimal(row["quantity"]),
        order_type=OrderType(row["order_type"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        limit_price=None if row["limit_price"] is None else Decimal(row["limit_price"]),
        stop_price=None if row["stop_price"] is None else Decimal(row["stop_price"]),
        created_ns=row["created_ns"],
        active_ns=row["active_ns"],
        updated_ns=row["updated_ns"],
        status=OrderStatus(row["status"]),
        filled=Decimal(row["filled"]),
        notional=Decimal(row["notional"]),
        reason=row["reason"],
    )
    order.triggered = row["triggered"]
    return order
