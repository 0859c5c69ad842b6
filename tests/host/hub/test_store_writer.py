"""The hub's store writer: reps, alerts and session ends written in order off the event loop,
failures counted without stopping the writes that follow, a database another program holds
waited out, everything stored once it closes."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from legpress.detect.events import Event, EventType
from legpress.hub import Hub, HubConfig
from legpress.hub.hub import StoreWriter
from legpress.storage.store import SessionStore


def test_writes_in_order_on_its_own_thread_and_counts_failures(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "legpress.db") as store:
        hub = Hub(HubConfig(), store)
        sid = store.start_session()
        writer = StoreWriter(hub)
        assert "legpress-hub-store" in {t.name for t in threading.enumerate()}
        for i in range(20):
            writer.submit("add_event", (sid, Event(EventType.ROM_EXCEEDED, float(i), i, f"e{i}")))
        writer.submit("add_event", (999, Event(EventType.ROM_EXCEEDED, 0.0, 0, "lost")))
        writer.submit("end_session", (sid, {"reps": 0}))
        writer.close()
        assert hub.store_errors == 1  # the unknown session, and the writes after it went on
        stored = store.get_session(sid)
        assert [e.message for e in stored.events] == [f"e{i}" for i in range(20)]
        assert stored.ended_at is not None
        assert "legpress-hub-store" not in {t.name for t in threading.enumerate()}


def test_without_a_running_hub_writes_at_once(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "legpress.db") as store:
        hub = Hub(HubConfig(), store)
        sid = store.start_session()
        hub.store_later("add_event", sid, Event(EventType.LIFT_OFF, 1.0, 0, "now"))
        assert [e.message for e in store.get_session(sid).events] == ["now"]
        hub.store_later("add_event", 999, Event(EventType.LIFT_OFF, 1.0, 0, "lost"))
        assert hub.store_errors == 1


def test_a_database_held_by_another_program_is_waited_out(tmp_path: Path) -> None:
    # Longer than a write waits (5 s): the write is tried again, not counted and dropped.
    db = tmp_path / "legpress.db"
    with SessionStore(db) as store:
        hub = Hub(HubConfig(), store)
        sid = store.start_session()
        writer = StoreWriter(hub)
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        for i in range(3):
            writer.submit("add_event", (sid, Event(EventType.ROM_EXCEEDED, float(i), i, f"e{i}")))
        time.sleep(6.5)
        holder.execute("COMMIT")
        holder.close()
        writer.close()
        assert hub.store_errors == 0
        assert [e.message for e in store.get_session(sid).events] == ["e0", "e1", "e2"]
