"""The append-only event journal: one SQLite file (WAL) that the session's state can be rebuilt from.

Rows are written in batches, one transaction each, and the manager acknowledges nothing before the
transaction commits. With WAL and ``synchronous=NORMAL`` a committed batch survives the process being killed;
``durable=True`` (``synchronous=FULL``) also survives power loss, at the cost of an fsync per batch.
Triggers refuse UPDATE and DELETE so history cannot be rewritten by accident.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from ntlab.errors import NtlabError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    order_id TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""


class JournalError(NtlabError):
    """The journal file cannot be opened or written."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot journal {type(value).__name__}")


def _encode(data: dict[str, Any]) -> str:
    return orjson.dumps(data, default=_default).decode()


@dataclass(frozen=True, slots=True)
class JournalEvent:
    seq: int
    kind: str
    order_id: str | None
    data: dict[str, Any]


class _Checkpointer:
    """Folds the write-ahead log into the database file every ``interval`` seconds, on its own thread."""

    def __init__(self, path: Path, interval: float = 0.5) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ntlab-journal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self._interval):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as error:  # busy or locked: the next round catches up
                    log.debug("journal checkpoint skipped: %s", error)
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class Journal:
    """An append-only log of session events in SQLite."""

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            # Checkpoints copy the log into the database file; a thread of its own does that off the
            # trading loop (SQLite releases the GIL), instead of every thousandth commit stalling it.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise JournalError(
                f"cannot open the journal {self.path}: {error}; check the path and that no other program "
                "holds it"
            ) from error
        self._pending: list[tuple[str, str | None, str]] = []
        self._checkpointer = _Checkpointer(self.path)

    def add(self, kind: str, order_id: str | None, data: dict[str, Any]) -> None:
        """Queue an event for the next commit."""
        self._pending.append((kind, order_id, _encode(data)))

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def commit(self) -> None:
        """Write every queued event in one transaction; nothing is acknowledged before this returns."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO events(kind, order_id, data) VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise JournalError(f"could not write to the journal {self.path}: {error}") from error

    def events(self) -> Iterator[JournalEvent]:
        """Every event in the order it was written."""
        cursor = self._db.execute("SELECT seq, kind, order_id, data FROM events ORDER BY seq")
        for seq, kind, order_id, data in cursor:
            yield JournalEvent(seq, kind, order_id, json.loads(data))

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._checkpointer.stop()
            self._db.close()


def read_events(path: str | Path) -> list[JournalEvent]:
    """All events of a journal file, for reports and inspection (opens it read-only)."""
    if not Path(path).exists():
        raise JournalError(f"no journal at {path}; pass the file a session wrote (OrderManager(journal=...))")
    db = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seq, kind, order_id, data FROM events ORDER BY seq").fetchall()
    except sqlite3.Error as error:
        raise JournalError(f"{path} is not an ntlab journal: {error}") from error
    finally:
        db.close()
    return [JournalEvent(seq, kind, oid, json.loads(data)) for seq, kind, oid, data in rows]
