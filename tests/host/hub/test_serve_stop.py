"""``legpress serve`` stopped as a service is: Ctrl-C or SIGTERM ends and stores the open
sessions, removes the demo's temporary folder and exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from legpress.storage.store import SessionStore
from tests.host.hub.browser import free_port


def _machines(base: str, token_file: Path) -> list[dict[str, Any]] | None:
    if not token_file.exists():
        return None
    request = urllib.request.Request(
        f"{base}/api/machines",
        headers={"authorization": f"Bearer {token_file.read_text().strip()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as r:
            return json.loads(r.read())["machines"]  # type: ignore[no-any-return]
    except OSError:
        return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_hub_keeps_its_sessions_and_exits_0(sig: signal.Signals, tmp_path: Path) -> None:
    port = free_port()
    temp = tmp_path / "temp"
    temp.mkdir()
    token_file = tmp_path / "token"
    cmd = [sys.executable, "-m", "legpress.cli", "serve", "--demo", "--port", str(port)]
    cmd += ["--token-file", str(token_file)]
    db = tmp_path / "legpress.db"
    if sig == signal.SIGINT:  # the database given (the demo's own is in the temporary folder)
        cmd += ["--db", str(db)]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(temp)}
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            tiles = _machines(f"http://127.0.0.1:{port}", token_file)
            if tiles and any(t["session_id"] is not None for t in tiles):
                break
            assert time.monotonic() < deadline, f"no session began: {log.read_text()}"
            time.sleep(0.2)
        if sig == signal.SIGTERM:
            assert [p.name[:14] for p in temp.iterdir()] == ["legpress-demo-"]
        proc.send_signal(sig)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert f"stopped ({sig.name}); every session is kept" in log.read_text()
    if sig == signal.SIGTERM:
        assert list(temp.iterdir()) == []
    else:
        with SessionStore(db, readonly=True) as store:
            rows = store.list_sessions()
            assert rows and all(r.status == "ended" for r in rows)
            assert {store.get_session(r.id).summary["ended_because"] for r in rows} == {
                "hub stopped"
            }
