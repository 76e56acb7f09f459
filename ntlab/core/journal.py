"""The append-only event journal: one SQLite file (WAL) that the session's state is rebuilt from.

Events are written in batches: each commit is one row of ``batches`` holding the batch's events as a JSON
array of ``[kind, order_id, data]``; the manager acknowledges nothing before that row is committed. One row
per batch instead of one per event is what lets the journal keep up with the order flow: SQLite's cost is
per row, the encoder's per call. The ``event_log`` view shows one row per event for SQL inspection.

With WAL and ``synchronous=NORMAL`` a committed batch survives the process being killed; ``durable=True``
(``synchronous=FULL``) also survives power loss, at the cost of an fsync per batch. Triggers refuse UPDATE
and DELETE so history cannot be rewritten by accident.

A journal belongs to one session at a time: the writer holds an exclusive lock on ``<journal>.lock``
(released by the operating system if the process dies), and a second writer is refused with a
:class:`~ntlab.errors.JournalError` naming the holder. Readers (:func:`read_events`) need no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from ntlab.errors import JournalError

log = logging.getLogger(__name__)

FORMAT = "ntlab-journal/2"

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


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
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


class _SessionLock:
    """An exclusive lock on ``<journal>.lock`` that says who holds it; the OS drops it when the process dies."""

    def __init__(self, journal: Path) -> None:
        self.path = journal.with_name(journal.name + ".lock")
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise JournalError(f"cannot create the journal's lock file {self.path}: {error}") from error
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another session"
                os.close(fd)
                raise JournalError(
                    f"the journal {journal} is in use by {holder}; close that session first, or give this "
                    "one another journal file"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its previous holder removed while we opened it
                break
            os.close(fd)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()} since {stamp}".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)  # closing the descriptor drops the lock
        self._fd = None


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
            with contextlib.suppress(sqlite3.Error):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _check_format(db: sqlite3.Connection, path: Path) -> bool:
    """True for an ntlab journal, False for an empty file; anything else is refused, never extended."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return False
    found = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        found = None if row is None else row[0]
    if found == FORMAT:
        return True
    if (found is None and {"batches", "meta"} <= tables) or "events" in tables:
        raise JournalError(
            f"{path} was written by an earlier version of ntlab, whose records this one does not read; "
            "move it aside and start a new journal"
        )
    if found is not None and found.startswith("ntlab-journal/"):
        raise JournalError(f"{path} is a journal of another ntlab version ({found}; this one reads {FORMAT})")
    raise JournalError(f"{path} is an SQLite file but not an ntlab journal; pass another path")


class Journal:
    """An append-only log of one session's events in SQLite, held by that session alone."""

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise JournalError(f"cannot create the journal's folder {self.path.parent}: {error}") from error
        self._lock = _SessionLock(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                existing = _check_format(self._db, self.path)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                # Checkpoints copy the log into the database file; a thread of its own does that off the
                # trading loop (SQLite releases the GIL), instead of every thousandth commit stalling it.
                self._db.execute("PRAGMA wal_autocheckpoint=0")
                if not existing:
                    self._db.executescript(_SCHEMA)
                    self._db.execute("INSERT INTO meta(key, value) VALUES ('format', ?)", (FORMAT,))
                with contextlib.suppress(sqlite3.Error):  # without JSON functions there is simply no view
                    self._db.execute(_VIEW)
            except BaseException:
                self._db.close()
                raise
        except sqlite3.Error as error:
            self._lock.release()
            raise JournalError(
                f"cannot open the journal {self.path}: {error}; check that the path is a writable file"
            ) from error
        except BaseException:
            self._lock.release()
            raise
        self._pending: list[tuple[str, str | None, Any]] = []
        self._checkpointer = _Checkpointer(self.path)

    def add(self, kind: str, order_id: str | None, data: dict[str, Any] | orjson.Fragment) -> None:
        """Queue an event for the next commit; it is encoded then, with the rest of its batch.

        ``data`` must not change before the commit: the manager's records are fresh dicts of JSON-ready
        values; anything else should come through :func:`encoded`.
        """
        self._pending.append((kind, order_id, data))

    def commit(self) -> None:
        """Write every queued event in one transaction; nothing is acknowledged before this returns.

        If the write fails the events stay queued, in order, for the next commit, and JournalError says why.
        """
        if not self._pending:
            return
        batch = orjson.dumps(self._pending, default=_default).decode()
        try:  # one statement in autocommit mode: its own transaction
            self._db.execute("INSERT INTO batches(events) VALUES (?)", (batch,))
        except sqlite3.Error as error:
            raise JournalError(f"could not write to the journal {self.path}: {error}") from error
        self._pending = []

    def events(self) -> Iterator[JournalEvent]:
        """Every committed event in the order it was written."""
        return _read(self._db)

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        try:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
        except sqlite3.Error as error:
            raise JournalError(f"could not write to the journal {self.path}: {error}") from error

    def close(self) -> None:
        """Commit what is queued (if the file takes it), stop the checkpoints and release the lock."""
        try:
            self.commit()
        except JournalError as error:
            log.error("%s; %d events were not written", error, len(self._pending))
        finally:
            self._checkpointer.stop()
            self._db.close()
            self._lock.release()


def read_events(path: str | Path) -> list[JournalEvent]:
    """All events of a journal file, for reports and inspection (read-only: works on a live journal)."""
    file = Path(path)
    if not file.exists():
        raise JournalError(f"no journal at {path}; pass the file a session wrote (OrderManager(journal=...))")
    try:
        db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise JournalError(f"cannot read {path}: {error}") from error
    try:
        if not _check_format(db, file):
            return []
        return list(_read(db))
    except sqlite3.Error as error:
        raise JournalError(f"{path} is not an ntlab journal: {error}") from error
    finally:
        db.close()


def _read(db: sqlite3.Connection) -> Iterator[JournalEvent]:
    seq = 0
    for (batch,) in db.execute("SELECT events FROM batches ORDER BY seq"):
        for kind, order_id, data in orjson.loads(batch):
            seq += 1
            yield JournalEvent(seq, kind, order_id, data)
