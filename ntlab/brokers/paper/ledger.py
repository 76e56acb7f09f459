"""A persistent paper account: the venue's own record of the orders it received and the fills it made.

With a ledger the paper venue behaves like a real broker across restarts: a new session can ask it whether
an order arrived, resting orders are still on the book, and the clock resumes where it stopped. It also
records every submit attempt, which is how tests prove nothing was sent twice.

Rows are the core's own records (:mod:`ntlab.core.fields`): an order row is the venue's view of the order
plus the few things only the venue keeps (when it goes live, whether its stop triggered, its filled notional).
Writes that fail stay queued and go out with the next write that succeeds.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from ntlab.core import fields
from ntlab.core.records import Fill
from ntlab.errors import JournalError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (seq INTEGER PRIMARY KEY, fill_id TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submits (seq INTEGER PRIMARY KEY, order_id TEXT NOT NULL, time_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), now_ns INTEGER NOT NULL);
"""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def _json(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


class Ledger:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise JournalError(f"cannot open the paper ledger {self.path}: {error}") from error
        self._queued: list[tuple[int, list[tuple[str, str]], list[tuple[str, str]], str | None]] = []

    def record(
        self,
        now_ns: int,
        orders: list[tuple[str, dict[str, Any]]],
        fills: list[Fill],
        attempt: str | None = None,
    ) -> None:
        """Write one batch of venue state in a transaction (after any batches that failed before it).

        Raises JournalError if the file cannot be written; the batch stays queued for the next write.
        """
        self._queued.append(
            (
                now_ns,
                [(order_id, _json(row)) for order_id, row in orders],
                [(f.fill_id, _json(fields.encode(f))) for f in fills],
                attempt,
            )
        )
        db = self._db
        try:
            db.execute("BEGIN")
            for stamp, order_rows, fill_rows, tried in self._queued:
                if tried is not None:
                    db.execute("INSERT INTO submits(order_id, time_ns) VALUES (?, ?)", (tried, stamp))
                db.executemany("INSERT OR REPLACE INTO orders(order_id, data) VALUES (?, ?)", order_rows)
                db.executemany("INSERT OR IGNORE INTO fills(fill_id, data) VALUES (?, ?)", fill_rows)
                db.execute("INSERT OR REPLACE INTO clock(id, now_ns) VALUES (1, ?)", (stamp,))
            db.execute("COMMIT")
        except sqlite3.Error as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise JournalError(f"could not write the paper ledger {self.path}: {error}") from error
        self._queued = []

    def orders(self) -> list[dict[str, Any]]:
        return [orjson.loads(d) for (d,) in self._db.execute("SELECT data FROM orders")]

    def fills(self) -> list[Fill]:
        rows = self._db.execute("SELECT data FROM fills ORDER BY seq")
        return [fields.decode(Fill, orjson.loads(d)) for (d,) in rows]

    def now_ns(self) -> int | None:
        row = self._db.execute("SELECT now_ns FROM clock WHERE id = 1").fetchone()
        return None if row is None else int(row[0])

    def submit_counts(self) -> dict[str, int]:
        """How many times each client order id was submitted to the venue."""
        rows = self._db.execute("SELECT order_id, COUNT(*) FROM submits GROUP BY order_id")
        return {order_id: int(count) for order_id, count in rows}

    def close(self) -> None:
        self._db.close()
