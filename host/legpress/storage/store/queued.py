"""Store writes off the caller's thread, in order, waiting out a database another program holds.

A live session must not stop, nor freeze its view and alerts, because another program (a DB
browser left mid-edit, a long import) holds the session database: each write waits up to the
store's timeout, and a held database fails it. :class:`QueuedWriter` takes the writes of one
live session without blocking, makes them on a thread and a connection of its own, in the order
given, and tries a write again while the database is busy; any other error stops it and is
raised at the caller's next submit or at :meth:`QueuedWriter.close`.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from legpress.errors import LegPressError, StoreBusyError, StoreError
from legpress.storage.store.database import SessionStore

#: How long a write that found the database busy waits before it is tried again.
RETRY_S = 0.5


class QueuedWriter:
    """Calls of ``SessionStore`` methods, made in order on a thread of its own.

    Args:
        path: the database file.
        on_busy: called once (on the writer's thread) the first time the database is found
            busy, with the error's message; default: a note on stderr.
    """

    def __init__(self, path: str | Path, on_busy: Any = None) -> None:
        self.path = path
        self._on_busy = on_busy or _note
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._error: LegPressError | None = None
        self._pending = 0  # submitted and not yet written
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="legpress-store", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Writes submitted and not yet made."""
        with self._lock:
            return self._pending

    def submit(self, method: str, *args: Any) -> None:
        """Queue ``SessionStore.<method>(*args)`` (never blocks).

        Raises:
            LegPressError: an earlier write failed for another reason than a busy database.
        """
        if self._error is not None:
            raise self._error
        with self._lock:
            self._pending += 1
        self._queue.put((method, args))

    def close(self, wait_s: float = 30.0) -> None:
        """Make what is queued, waiting up to ``wait_s`` for a busy database, then stop.

        Raises:
            StoreBusyError: the database was still busy after ``wait_s``; the writes not made
                are lost from the database (the session's recording still holds them).
            LegPressError: a write failed for another reason.
        """
        self._queue.put(None)
        self._thread.join(wait_s)
        if self._thread.is_alive():
            self._closing.set()  # give up at the next retry
            self._thread.join(5.0)
            raise StoreBusyError(
                f"{self.path} stayed busy (another program holds it): {self.pending} write(s) "
                "of this session were not stored"
            )
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            store = SessionStore(self.path)
        except LegPressError as exc:
            self._error = exc
            return
        told = False

        def on_busy(message: str) -> None:
            nonlocal told
            if not told:  # once in the session
                told = True
                self._on_busy(message)

        try:
            while (item := self._queue.get()) is not None:
                method, args = item
                try:
                    call_waiting_out_busy(store, method, args, on_busy, self._closing.is_set)
                except StoreBusyError:
                    return  # close() gave up waiting, and says so
                except LegPressError as exc:
                    self._error = exc
                    return
                with self._lock:
                    self._pending -= 1
        except Exception as exc:  # a bug: said at the next submit, not lost in a thread
            self._error = StoreError(f"{self.path}: internal error while storing: {exc!r}")
        finally:
            store.close()


def call_waiting_out_busy(
    store: SessionStore,
    method: str,
    args: tuple[Any, ...],
    on_busy: Callable[[str], None],
    give_up: Callable[[], bool],
) -> None:
    """``store.<method>(*args)``; while another program holds the database, tried again every
    ``RETRY_S``, with ``on_busy(message)`` before each wait, until it is made or ``give_up()``
    says to stop waiting.

    Raises:
        StoreBusyError: still busy when ``give_up()`` said so.
        LegPressError: any other failure, at once.
    """
    while True:
        try:
            getattr(store, method)(*args)
            return
        except StoreBusyError as exc:
            if give_up():
                raise
            on_busy(str(exc))
            time.sleep(RETRY_S)


def _note(message: str) -> None:
    print(
        f"legpress: note: {message}; the session goes on, and is stored once it is free",
        file=sys.stderr,
    )
