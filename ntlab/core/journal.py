"""The append-only event journal: one SQLite file (WAL) that the session's state can be rebuilt from.

Events are written in batches: each commit is one row of ``batches`` holding the batch's events as a JSON
array of ``[kind, order_id, data]``, and the manager acknowledges nothing before that row is committed. One
row per batch instead of one per event is what lets the journal keep up with the order flow: SQLite's cost
is per row, the encoder's per call. The ``event_log`` view shows one row per event for SQL inspection.
With WAL and ``synchronous=NORMAL`` a committed batch survives the process being killed; ``durable=True``
(``synchronous=FULL``) also survives power loss, at the cost of an fsync per batch. Triggers refuse UPDATE
and DELETE so history cannot be rewritten by accident.
"""

from __future__ import annotations

import contextlib
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

from ntlab.errors import JournalError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, events TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS batches_no_update BEFORE UPDATE ON batches
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS batches_no_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""
# One row per event, for people reading the file with SQL (needs SQLite's JSON functions).
_VIEW = """
CREATE VIEW IF NOT EXISTS event_log AS
SELECT b.seq AS batch, e.key AS position, json_extract(e.value, '$[0]') AS kind,
       json_extract(e.value, '$[1]') AS order_id, json_extract(e.value, '$[2]') AS data
FROM batches AS b, json_each(b.events) AS e
"""
# Journals written before events were batched kept one row per event here; they are still read.
_LEGACY = "SELECT kind, order_id, data FROM events ORDER BY seq"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot journal {type(value).__name__}")


def encoded(data: dict[str, Any]) -> orjson.Fragment:
    """``data`` as JSON now: for records from outside the core, so a value that cannot be journaled fails
    its own caller at once instead of the whole batch at commit."""
    try:
        return orjson.Fragment(orjson.dumps(data, default=_default))
    except TypeError as error:
        raise JournalError(
            f"cannot journal {data!r}: {error}; use str, numbers, Decimal, datetime"
        ) from error


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
            with contextlib.suppress(sqlite3.Error):  # without JSON functions there is simply no view
                self._db.execute(_VIEW)
            self._legacy = _has_legacy_events(self._db)
        except sqlite3.Error as error:
            raise JournalError(
                f"cannot open the journal {self.path}: {error}; check the path and that no other program "
                "holds it"
            ) from error
        self._pending: list[tuple[str, str | None, Any]] = []
        self._checkpointer = _Checkpointer(self.path)

    def add(self, kind: str, order_id: str | None, data: dict[str, Any] | orjson.Fragment) -> None:
        """Queue an event for the next commit; it is encoded then, with the rest of its batch.

        ``data`` must not change before the commit: the manager's records are fresh dicts of JSON-ready
        values; anything else should come through :func:`encoded`.
        """
        self._pending.append((kind, order_id, data))

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def commit(self) -> None:
        """Write every queued event in one transaction; nothing is acknowledged before this returns."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        batch = orjson.dumps(rows, default=_default).decode()
        try:  # one statement in autocommit mode: its own transaction
            self._db.execute("INSERT INTO batches(events) VALUES (?)", (batch,))
        except sqlite3.Error as error:
            raise JournalError(f"could not write to the journal {self.path}: {error}") from error

    def events(self) -> Iterator[JournalEvent]:
        """Every event in the order it was written."""
        return _read(self._db, self._legacy)

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
        return list(_read(db, _has_legacy_events(db)))
    except sqlite3.Error as error:
        raise JournalError(f"{path} is not an ntlab journal: {error}") from error
    finally:
        db.close()


def _has_legacy_events(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
    return row is not None


def _read(db: sqlite3.Connection, legacy: bool) -> Iterator[JournalEvent]:
    seq = 0
    if legacy:
        for kind, order_id, data in db.execute(_LEGACY):
            seq += 1
            yield JournalEvent(seq, kind, order_id, orjson.loads(data))
    for (batch,) in db.execute("SELECT events FROM batches ORDER BY seq"):
        for kind, order_id, data in orjson.loads(batch):
            seq += 1
            yield JournalEvent(seq, kind, order_id, data)
