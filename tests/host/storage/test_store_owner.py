"""Whether a session's recording process is still alive, without ever harming it; taking over
a session whose process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from legpress.errors import NotFoundError
from legpress.storage.store import SessionStore
from legpress.storage.store.records import interrupted, owner, process_alive


def test_a_live_owner_runs_and_a_dead_one_is_interrupted() -> None:
    assert process_alive(os.getpid()) and not interrupted(None, {"owner": owner()})
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = {"owner": {**owner(), "pid": int(child.stdout)}}
    assert not process_alive(int(child.stdout)) and interrupted(None, gone)
    assert not interrupted("2025-01-01T00:00:00+00:00", gone)  # ended: never interrupted
    assert not interrupted(None, {"owner": {"pid": 1, "host": "another-computer"}})
    assert interrupted(None, {}) and interrupted(None, {"interrupted": True, "owner": owner()})


def test_windows_never_gets_os_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.kill(pid, 0) terminates the process on Windows: there, the owner counts as alive."""

    def boom(pid: int, sig: int) -> None:
        raise AssertionError("os.kill called")

    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setattr(os, "kill", boom)
    assert process_alive(12345)


def test_a_session_left_by_a_dead_process_can_be_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from legpress.storage.store import SessionStore\n"
            "with SessionStore(sys.argv[1]) as s: s.start_session(); s.start_session()",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    with SessionStore(path) as store:
        assert [s.status for s in store.list_sessions()] == ["interrupted"] * 2
        store.end_session(2)
        assert store.resume_session(1) and not store.resume_session(2)
        assert [s.status for s in store.list_sessions()] == ["running", "ended"]
        with pytest.raises(NotFoundError):
            store.resume_session(9)
    with SessionStore(path) as store:  # this process lives on: still running
        assert store.get_session(1).status == "running"
