"""QueuedWriter: a live session's store writes, in order, off the event loop; a database held
by another program is waited out (tests/host/cli/test_session_lifecycle.py holds one for 12 s),
any other failure is raised to the caller."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from legpress.detect.events import Event, EventType
from legpress.errors import NotFoundError
from legpress.storage.store import SessionStore
from legpress.storage.store.queued import QueuedWriter


def test_writes_in_order_on_a_thread_of_its_own(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SessionStore(db) as store:
        sid = store.start_session()
    writer = QueuedWriter(db)
    assert "legpress-store" in {t.name for t in threading.enumerate()}
    for i in range(30):
        writer.submit("add_event", sid, Event(EventType.ROM_EXCEEDED, float(i), i, f"e{i}"))
    writer.submit("end_session", sid, {"reps": 0})
    writer.close()
    assert writer.pending == 0
    assert "legpress-store" not in {t.name for t in threading.enumerate()}
    with SessionStore(db) as store:
        s = store.get_session(sid)
    assert [e.message for e in s.events] == [f"e{i}" for i in range(30)]
    assert s.ended_at is not None


def test_a_failed_write_is_raised_to_the_caller(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SessionStore(db).close()
    writer = QueuedWriter(db)
    writer.submit("add_event", 999, Event(EventType.ROM_EXCEEDED, 0.0, 0, "nowhere"))
    with pytest.raises(NotFoundError):
        writer.close()
