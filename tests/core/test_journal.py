"""The journal file: one row per committed batch, append-only, readable per event, and older files still read."""

import asyncio
import sqlite3

import orjson
import pytest

from ntlab.core import Journal, OrderManager, OrderRequest, OrderStatus, read_events
from ntlab.errors import JournalError
from tests.core.brokers import ScriptedVenue


def market(qty=1, side="buy"):
    return OrderRequest(symbol="AAPL", side=side, quantity=qty)


async def test_a_burst_is_a_few_rows_and_reads_back_event_by_event(tmp_path):
    path = tmp_path / "j.sqlite"
    async with OrderManager(ScriptedVenue(), journal=path, id_prefix="t") as om:
        responses = await asyncio.gather(*(om.place_order(market(i + 1)) for i in range(50)))
    db = sqlite3.connect(path)
    batches = db.execute("SELECT count(*) FROM batches").fetchone()[0]
    events = read_events(path)
    # each order: its request, the ack and the fill, written before its caller heard back
    assert [e.kind for e in events].count("request") == 50
    assert [e.kind for e in events].count("filled") == 50
    assert batches < 10 < len(events)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    first = {e.order_id: e.kind for e in reversed(events)}
    assert all(first[r.order_id] == "request" for r in responses)  # a request precedes its order's news
    # the view gives SQL users the same events, one row each
    rows = db.execute("SELECT kind, order_id, data FROM event_log ORDER BY batch, position").fetchall()
    assert [(k, o, orjson.loads(d)) for k, o, d in rows] == [(e.kind, e.order_id, e.data) for e in events]
    db.close()


async def test_history_cannot_be_rewritten(tmp_path):
    path = tmp_path / "j.sqlite"
    async with OrderManager(ScriptedVenue(), journal=path) as om:
        await om.place_order(market())
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE batches SET events = '[]'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM batches")
    db.close()


async def test_a_record_that_cannot_be_journaled_fails_only_its_caller(tmp_path):
    path = tmp_path / "j.sqlite"
    async with OrderManager(ScriptedVenue(), journal=path) as om:
        bad = om.record("note", {"when": object()})
        placed = om.place_order(market(3))
        results = await asyncio.gather(bad, placed, return_exceptions=True)
        assert isinstance(results[0], JournalError) and "cannot journal" in str(results[0])
        assert results[1].status is OrderStatus.FILLED
    async with OrderManager(ScriptedVenue(), journal=path) as om:
        assert om.position("AAPL") == 3
        assert om.journal_events(["note"]) == []


def _legacy_journal(path):
    """A journal as sessions wrote it before batching: one row per event, every field spelled out."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, order_id TEXT, data TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )
    db.execute("INSERT INTO meta VALUES ('id_prefix', 'old')")
    request = {
        "symbol": "AAPL", "side": "buy", "quantity": "5", "order_type": "limit", "time_in_force": "day",
        "limit_price": "99.50", "stop_price": None, "created_at": "2026-03-02T14:30:00+00:00",
        "arrival_bid": "99.99", "arrival_ask": "100.01", "parent_id": None, "tag": None, "venue": None,
        "external": False, "broker_order_id": None, "status": "pending", "reason_code": None, "reason": None,
    }  # fmt: skip
    ack = {
        "status": "accepted", "broker_order_id": "b-1", "reason": None, "cancel_rejected": False,
        "time": "2026-03-02T14:30:00+00:00",
    }  # fmt: skip
    fill = {
        "status": None, "broker_order_id": None, "reason": None, "cancel_rejected": False,
        "time": "2026-03-02T14:31:00+00:00",
        "fill": {
            "fill_id": "x1", "symbol": "AAPL", "side": "buy", "quantity": "2", "price": "99.50",
            "time": "2026-03-02T14:31:00+00:00", "fee": "0", "liquidity": "maker", "venue": "testvenue",
        },
    }  # fmt: skip
    rows = [("request", "old-000001", request), ("update", "old-000001", ack), ("fill", "old-000001", fill)]
    db.executemany(
        "INSERT INTO events(kind, order_id, data) VALUES (?, ?, ?)",
        [(k, o, orjson.dumps(d).decode()) for k, o, d in rows],
    )
    db.commit()
    db.close()


async def test_a_journal_of_an_earlier_format_is_refused_not_extended(tmp_path):
    path = tmp_path / "old.sqlite"
    _legacy_journal(path)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="earlier version of ntlab"):
        async with OrderManager(ScriptedVenue(), journal=path):
            pass
    assert path.read_bytes() == before
    with pytest.raises(JournalError, match="earlier version of ntlab"):
        read_events(path)


def test_a_missing_or_foreign_file_says_so(tmp_path):
    with pytest.raises(JournalError, match="no journal at"):
        read_events(tmp_path / "nothing.sqlite")
    foreign = tmp_path / "other.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(JournalError, match="not an ntlab journal"):
        read_events(foreign)
    before = foreign.read_bytes()
    with pytest.raises(JournalError, match="not an ntlab journal"):
        Journal(foreign)
    assert foreign.read_bytes() == before
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all\n" * 100)
    with pytest.raises(JournalError, match="cannot open the journal"):
        Journal(text)


def test_events_are_encoded_at_commit_with_their_batch(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.add("request", "a", {"quantity": "1", "side": OrderStatus.FILLED})
    journal.add("note", None, {"text": "hello"})
    assert read_events(tmp_path / "j.sqlite") == []  # nothing is visible before the commit
    journal.commit()
    journal.close()
    assert [(e.kind, e.order_id, e.data) for e in read_events(tmp_path / "j.sqlite")] == [
        ("request", "a", {"quantity": "1", "side": "filled"}),
        ("note", None, {"text": "hello"}),
    ]
