"""A ``legpress serve --collect`` killed with SIGKILL in the middle of a set and started again
misses nothing: the broker kept its persistent session, and what it had not acknowledged comes
again; the ledger stores each message once."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from legpress.fleet.config import parse_broker_url
from legpress.fleet.ledger import Ledger, ledger_path
from legpress.fleet.publisher import HubPublisher, PublisherConfig
from legpress.hub import MachineSpec
from legpress.storage.store import SessionStore
from tests.host.fleet.broker import Mosquitto, until
from tests.host.fleet.hubs import make_hub, running
from tests.host.hub.browser import free_port

LIVE = "sim:scenario=liftoff,seed=4,realtime=1,duration=24"


class CentralProcess:
    """``legpress serve --collect`` in a subprocess, started and killed by the test."""

    def __init__(self, broker: Mosquitto, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "central.db"
        self.port = free_port()
        self.cmd = [
            sys.executable, "-m", "legpress.cli", "serve",
            "--collect", broker.url("central"), "--port", str(self.port),
            "--db", str(self.db), "--token-file", str(folder / "token"),
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.folder / "central.log").open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def api(self) -> dict[str, Any] | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError((self.folder / "central.log").read_text())
        token = (
            (self.folder / "token").read_text().strip() if (self.folder / "token").exists() else ""
        )
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/machines",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                return json.loads(r.read())  # type: ignore[no-any-return]
        except OSError:
            return None

    async def stored(self) -> int:
        a = await asyncio.to_thread(self.api)
        return int(a["fleet"]["stored"]) if a and a["fleet"]["broker"]["connected"] else -1


async def test_a_killed_collector_misses_nothing(broker: Mosquitto, tmp_path: Path) -> None:
    central = CentralProcess(broker, tmp_path)
    with SessionStore(tmp_path / "hub.db") as hub_db:
        hub = make_hub(hub_db, MachineSpec("Leg press 1", LIVE))
        pub = HubPublisher(hub, parse_broker_url(broker.url("hub")), PublisherConfig(name="North"))
        central.start()
        try:
            stored = central.stored
            await _until_async("the collector connected", stored, lambda n: n >= 0, 60)
            async with running(hub, pub):
                station = hub.station("Leg press 1")
                await _until_async("a rep at the centre", stored, lambda n: n >= 2, 60)
                central.kill()
                reps_at_kill = station.reps
                await until(
                    "a rep while the collector is dead", lambda: station.reps > reps_at_kill, 60
                )
                sid = station.session_id
                assert sid is not None, "the kill was in the middle of a session"
                central.start()
                # Once the centre hears of it again, the session it began before the kill is
                # under way, not interrupted.
                await _until_async(
                    "the session running at the centre",
                    lambda: asyncio.to_thread(_central_status, central.db, sid),
                    lambda status: status == "running",
                    60,
                )
                await until("that session over", lambda: hub_db.get_session(sid).ended_at, 60)
            remote = hub_db.get_session(sid)
            got = await _until_async(
                "the whole session at the centre",
                lambda: asyncio.to_thread(_central_session, central.db, sid),
                lambda s: [r.index for r in s.reps] == [r.index for r in remote.reps],
                60,
            )
        finally:
            central.stop()
    assert [(e.type, e.t_s) for e in got.events] == [(e.type, e.t_s) for e in remote.events]
    assert got.ended_at is not None


def _central_status(path: Path, remote_id: int) -> str | None:
    """The status at the centre of the session that holds the hub's ``remote_id`` (while it
    runs, the centre knows it by its ledger only: the hub's id is in the summary at its end)."""
    if not path.exists():
        return None
    with Ledger(ledger_path(path)) as ledger, SessionStore(path, readonly=True) as db:
        known = ledger.session("north", remote_id)
        return None if known is None else db.get_session(known[1]).status


def _central_session(path: Path, remote_id: int) -> Any:
    """The ended session at the centre that holds the hub's session ``remote_id``."""
    if not path.exists():
        return None
    with SessionStore(path, readonly=True) as db:
        for row in db.list_sessions():
            if row.ended_at:
                s = db.get_session(row.id)
                if s.summary.get("hub", {}).get("session_id") == remote_id:
                    return s
    return None


async def _until_async(what: str, probe: Any, ok: Any, timeout_s: float = 30.0) -> Any:
    """Wait until ``ok(await probe())``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        value = await probe()
        if value is not None and ok(value):
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what} ({value})")
        await asyncio.sleep(0.1)
