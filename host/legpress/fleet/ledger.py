"""What a collector has received: the ids of messages already stored, and which session of its
store holds each session of each hub.

A small SQLite file beside the session store (``legpress-fleet.db`` next to ``legpress.db``),
so that a message the broker delivers again (QoS 1 is at least once), even after the collector
restarted, is recognised by its ``id`` and stored once. Ids older than ``keep_days`` are
forgotten: repeats come within a reconnect, not months later.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Final

from legpress.closing import Closing
from legpress.errors import StoreError

__all__ = ["Ledger", "ledger_path"]

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS received (id TEXT PRIMARY KEY, at_s REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS received_by_time ON received(at_s)",
    """CREATE TABLE IF NOT EXISTS sessions (
        hub TEXT NOT NULL,
        remote_id INTEGER NOT NULL,
        start_id TEXT NOT NULL,
        session_id INTEGER NOT NULL,
        PRIMARY KEY (hub, remote_id)
    )""",
)


def ledger_path(store_path: Path) -> Path:
    """The ledger's file for the session store at ``store_path``."""
    return store_path.with_name(f"{store_path.stem}-fleet.db")


class Ledger(Closing):
    """The collector's memory of what it stored.

    Args:
        path: the file (``":memory:"`` for a throw-away one).
        keep_days: how long a message id is remembered.

    Raises:
        StoreError: the file cannot be opened or is not a ledger.
    """

    def __init__(self, path: str | Path, *, keep_days: float = 30.0) -> None:
        self.path = path
        self._keep_s = keep_days * 86400.0
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, timeout=10.0)
            # One small write per message: WAL without a sync per commit keeps a backlog after
            # a reconnect fast; a crash of the process loses nothing, a power cut the last ones
            # (then stored again when the broker resends them, at worst twice).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute("DELETE FROM received WHERE at_s < ?", (time.time() - self._keep_s,))
        except sqlite3.Error as exc:
            raise StoreError(
                f"collector ledger {path}: {exc}; move it aside (a new one is made, and "
                "messages the broker still holds may then be stored twice)"
            ) from None

    def close(self) -> None:
        """Close the file (idempotent)."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def seen(self, message_id: str) -> bool:
        """Whether the message was stored already."""
        row = self._db.execute("SELECT 1 FROM received WHERE id = ?", (message_id,)).fetchone()
        return row is not None

    def mark(self, message_id: str) -> None:
        """Remember that the message is stored."""
        self._db.execute(
            "INSERT OR IGNORE INTO received (id, at_s) VALUES (?, ?)", (message_id, time.time())
        )

    def session(self, hub: str, remote_id: int) -> tuple[str, int] | None:
        """``(id of its start message, our session id)`` of a hub's session, if known."""
        row = self._db.execute(
            "SELECT start_id, session_id FROM sessions WHERE hub = ? AND remote_id = ?",
            (hub, int(remote_id)),
        ).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def link(self, hub: str, remote_id: int, start_id: str, session_id: int) -> None:
        """A hub's session is our ``session_id`` (a new start replaces an old mapping: the
        hub's store was replaced and counts from 1 again)."""
        self._db.execute(
            "INSERT OR REPLACE INTO sessions (hub, remote_id, start_id, session_id) "
            "VALUES (?, ?, ?, ?)",
            (hub, int(remote_id), start_id, int(session_id)),
        )
