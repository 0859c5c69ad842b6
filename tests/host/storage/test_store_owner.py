"""Whether a session's recording process is still alive, without ever harming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
