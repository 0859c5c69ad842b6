"""The hub: machines connected, sessions by presence, stored and published; reconnection."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from legpress.errors import ConfigError, NotFoundError, UsageError
from legpress.hub import Hub, HubConfig, MachineSpec
from legpress.hub.bus import Broadcast, Subscription
from legpress.protocol.spec import Command
from legpress.sim import make_scenario
from legpress.storage.store import SessionStore
from tests.host.transport.pty_device import PtyLegPress

LIFTOFF = "sim:scenario=liftoff,seed=2,realtime=0,duration=30"
ROM = "sim:scenario=rom_overshoot,seed=3,realtime=0,duration=30"


@contextlib.asynccontextmanager
async def running(hub: Hub) -> AsyncIterator[Subscription]:
    with hub.bus.subscribe() as sub:
        task = asyncio.create_task(hub.run())
        try:
            yield sub
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until(sub: Subscription, pred: Any, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Messages up to and including the first one ``pred`` accepts."""
    seen: list[dict[str, Any]] = []

    async def loop() -> None:
        while True:
            msg = await sub.get()
            seen.append(msg)
            if pred(msg):
                return

    await asyncio.wait_for(loop(), timeout_s)
    return seen


def session_end(machine: str) -> Any:
    return lambda m: m["type"] == "session" and m["event"] == "end" and m["machine"] == machine


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with SessionStore(tmp_path / "legpress.db") as s:
        yield s


async def test_sessions_are_detected_stored_and_published(
    store: SessionStore, tmp_path: Path
) -> None:
    store.add_person("Ben", rom_limit_mm=420)
    config = HubConfig(
        machines=(
            MachineSpec("Leg press 1", LIFTOFF, person="Ben"),
            MachineSpec("Leg press 2", ROM),
        ),
        record_dir=tmp_path / "rec",
        reconnect_min_s=5.0,
        reconnect_max_s=5.0,
    )
    hub = Hub(config, store)
    assert [m.name for m in store.list_machines()] == ["Leg press 1", "Leg press 2"]
    async with running(hub) as sub:
        seen = await until(sub, session_end("Leg press 1"))
        seen += (
            await until(sub, session_end("Leg press 2"))
            if not any(session_end("Leg press 2")(m) for m in seen)
            else []
        )
    truth = make_scenario("liftoff", seed=2, duration_s=30).truth(30)
    by_machine = {s.machine: s for s in store.list_sessions()}
    ben = by_machine["Leg press 1"]
    assert ben.person == "Ben"
    assert ben.rom_limit_mm == 420
    assert ben.ended_at is not None
    assert ben.reps == len(truth.reps)
    assert ben.lift_offs == len(truth.lift_offs) > 0
    anon = by_machine["Leg press 2"]
    assert anon.person is None and anon.reps > 0
    full = store.get_session(ben.id)
    assert full.machine is not None and full.machine.name == "Leg press 1"
    assert full.summary["ended_because"] == "device closed"
    assert full.summary["started_because"] in ("pad loaded", "sled moved")
    assert full.recording_path and Path(full.recording_path).exists()
    # Every stored alert was published first, on the right machine.
    alerts = [m for m in seen if m["type"] == "alert" and m["machine"] == "Leg press 1"]
    assert [a["alert"]["type"] for a in alerts] == [e.type for e in full.events]
    assert all(a["alert"]["session_id"] == ben.id for a in alerts)
    assert len({a["alert"]["id"] for a in alerts}) == len(alerts)
    reps = [m for m in seen if m["type"] == "rep" and m["machine"] == "Leg press 1"]
    assert len(reps) == ben.reps
    tiles = [m for m in seen if m["type"] == "tile" and m["machine"] == "Leg press 1"]
    assert tiles and any(t["connected"] for t in tiles)
    assert max(t["reps"] for t in tiles) == ben.reps
    assert all(len(t["pad"]) == 8 for t in tiles if t["pad"])
    # Once Ben's back has lifted, his tiles mark the depth it lifted at (the shallowest of his
    # lift-offs) until the session ends.
    lifted = [r.lift_off_depth_mm for r in full.reps if r.lift_off_depth_mm is not None]
    marks = [t["lift_depth_mm"] for t in tiles if t["lift_depth_mm"] is not None]
    assert lifted and marks and min(marks) == pytest.approx(min(lifted[:5]), abs=0.1)
    assert tiles[0]["lift_depth_mm"] is None
    assert hub.station("Leg press 1").tile()["lift_depth_mm"] is None


async def test_picking_a_person_starts_their_session_with_their_limit(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    from legpress.storage.store import CalibrationRecord

    store.add_person("Chloé", rom_limit_mm=300)
    # Calibrated on another machine: the hub says so when her session starts here.
    store.add_calibration(
        CalibrationRecord("Chloé", 3, 1, 280.0, 0.3, 300.0, 20.0, detail={"machine": "LP 2"})
    )
    url = "sim:scenario=rom_overshoot,seed=3,realtime=1,duration=30"
    hub = Hub(HubConfig(machines=(MachineSpec("LP", url),)), store)
    async with running(hub) as sub:
        await until(sub, lambda m: m["type"] == "session" and m["event"] == "start")
        hub.assign("lp", "Chloé")
        seen = await until(
            sub, lambda m: m["type"] == "session" and m["event"] == "start", timeout_s=10
        )
        assert any(session_end("LP")(m) and m["reason"] == "person changed" for m in seen)
        tile = hub.station("LP").tile()
        assert tile["person"] == "Chloé" and tile["limit_mm"] == 300
        assert "LP: note: Chloé was calibrated on machine 'LP 2', not 'LP'" in caplog.text
        assert "calibrated on machine 'LP 2'" in (tile["calibration_note"] or "")
        hub.stop("LP")
        await until(sub, session_end("LP"), timeout_s=10)
        assert hub.station("LP").tile()["session_id"] is None
    rows = store.list_sessions()
    assert [r.person for r in rows] == [None, "Chloé"]
    assert rows[1].rom_limit_mm == 300
    assert store.get_session(rows[1].id).summary["ended_because"] == "stopped by hand"
    with pytest.raises(NotFoundError, match="no machine named"):
        hub.assign("Leg press 9", "Chloé")


async def test_a_machine_that_fails_is_retried_with_backoff_and_others_run(
    store: SessionStore, tmp_path: Path
) -> None:
    missing = tmp_path / "not-yet.lprec"
    config = HubConfig(
        machines=(MachineSpec("Broken", f"replay:{missing}"), MachineSpec("Fine", LIFTOFF)),
        record_dir=tmp_path / "rec",
        reconnect_min_s=0.05,
        reconnect_max_s=0.4,
    )
    hub = Hub(config, store)
    async with running(hub) as sub:
        t0 = asyncio.get_running_loop().time()
        await until(sub, session_end("Fine"))
        broken = hub.station("Broken")
        assert not broken.connected and broken.connections == 0
        assert "not-yet.lprec" in broken.error
        # Backing off (0.05, 0.1, 0.2, 0.4, 0.4 s ...), not hammering the device.
        elapsed = asyncio.get_running_loop().time() - t0
        assert 1 <= broken.attempts <= 3 + elapsed / 0.4
        # The device comes back: the hub connects by itself and a session starts.
        fine = store.list_sessions()[0]
        recording = store.get_session(fine.id).recording_path
        assert recording is not None
        shutil.copy(recording, missing)
        await until(sub, lambda m: m["type"] == "session" and m["machine"] == "Broken", 10)
        assert broken.connections == 1 and broken.error == ""


async def test_a_recording_is_played_once(store: SessionStore, tmp_path: Path) -> None:
    import legpress

    src = tmp_path / "set.lprec"
    async with legpress.open_device(LIFTOFF, record=src) as dev:
        async for _ in dev:
            pass
    config = HubConfig(
        machines=(MachineSpec("Replayed", f"replay:{src}"),),
        record_dir=tmp_path / "rec",
        reconnect_min_s=0.05,
        reconnect_max_s=0.05,
    )
    hub = Hub(config, store)
    async with running(hub) as sub:
        await until(sub, lambda m: m["type"] == "tile" and m["link"].startswith("finished"))
        await asyncio.sleep(0.3)  # many reconnection periods: nothing is reopened
    station = hub.station("Replayed")
    assert station.connections == 1 and station.error == ""
    assert len(store.list_sessions()) == 1
    assert len(list((tmp_path / "rec").iterdir())) == 1


async def test_machines_whose_names_look_alike_record_apart(
    store: SessionStore, tmp_path: Path
) -> None:
    short = "sim:scenario=liftoff,seed=2,realtime=0,duration=8"
    config = HubConfig(
        machines=(MachineSpec("Leg press 1", short), MachineSpec("Leg-Press 1!", short)),
        record_dir=tmp_path / "rec",
        reconnect_min_s=30.0,
        reconnect_max_s=30.0,
    )
    hub = Hub(config, store)
    async with running(hub) as sub:
        for name in ("Leg press 1", "Leg-Press 1!"):
            await until(
                sub,
                lambda m, name=name: (
                    m["type"] == "tile"
                    and m["machine"] == name
                    and m["link"].startswith("reconnecting")
                ),
            )
    assert all(st.error == "" for st in hub.stations.values())
    names = sorted(p.name.rsplit("-", 2)[0] for p in (tmp_path / "rec").iterdir())
    assert names == ["leg-press-1", "leg-press-1-2"]


CALIBRATE = "sim:scenario=liftoff,seed=5,realtime=0,duration=60"


async def test_a_person_is_calibrated_on_the_machine_and_trains_with_it(
    store: SessionStore,
) -> None:
    store.add_person("Ben")
    hub = Hub(HubConfig(machines=(MachineSpec("LP", CALIBRATE, person="Ben"),)), store)
    hub.calibrate("lp")
    assert "calibration of Ben starts at the next sample" in (hub.station("LP").calibration or "")
    async with running(hub) as sub:
        seen = await until(sub, lambda m: m["type"] == "calibration")
        seen += await until(
            sub, lambda m: m["type"] == "session" and m["event"] == "start", timeout_s=10
        )
        tile = hub.station("LP").tile()
    starts = [m for m in seen if m["type"] == "session" and m["event"] == "start"]
    assert [m["reason"] for m in starts] == ["calibration", "after calibration"]
    assert [m["calibration"] for m in starts] == [True, False]  # for MQTT's figures
    # No ROM alert while the person is asked to go down to where the back lifts.
    assert starts[0]["config"]["rom_limit_mm"] is None
    running_tiles = [m["calibration"] for m in seen if m["type"] == "tile" and m["calibration"]]
    assert any(t.startswith("calibrating Ben: rep 2 of 3") for t in running_tiles)
    (done,) = [m for m in seen if m["type"] == "calibration"]
    assert done["message"].startswith("calibrated Ben: lower back leaves the pad at")
    # What was learned is kept, with this machine's name, from the session's first 3 reps.
    (record,) = store.calibrations("Ben")
    # ... and not stored as a training session: their progress is not its lift-offs.
    assert [r.person for r in store.list_sessions()] == ["Ben"]
    reps = [m["rep"] for m in seen if m["type"] == "rep" and m["calibration"]]
    assert len(reps) == 3
    lifted = [r["lift_off_depth_mm"] for r in reps[:3] if r["lift_off"]]
    assert lifted and record.lift_off_depth_mm == done["lift_off_depth_mm"] == min(lifted)
    assert record.reps == 3 and record.detail["machine"] == "LP"
    assert record.detail["by"] == "hub"
    assert record.clean_share_by_depth is not None and record.lift_off_floor is not None
    profile = store.get_profile("Ben", "LP")
    assert profile.learned_limit_mm == done["learned_limit_mm"]
    # Ben's own session runs with it: his learned limit, and no note that he is uncalibrated.
    assert starts[1]["config"]["rom_limit_mm"] == profile.learned_limit_mm
    assert starts[1]["config"]["lift_off_depth_mm"] == record.lift_off_depth_mm
    assert tile["calibration_note"] is None
    assert tile["calibration"] == done["message"]  # said until the session after it ends
    assert [m["reason"] for m in seen if session_end("LP")(m)] == ["calibration done"]


async def test_a_calibration_that_cannot_finish_learns_nothing_and_says_why(
    store: SessionStore,
) -> None:
    store.add_person("Ben")
    url = "sim:scenario=liftoff,seed=5,realtime=0,duration=9"  # not 3 slow reps
    config = HubConfig(machines=(MachineSpec("LP", url, person="Ben"),), reconnect_min_s=30.0)
    hub = Hub(config, store)
    hub.calibrate("LP")
    async with running(hub) as sub:
        await until(sub, session_end("LP"))
        tile = hub.station("LP").tile()
    assert "calibration of Ben stopped after " in (tile["calibration"] or "")
    assert "(device closed); nothing was learned" in (tile["calibration"] or "")
    assert store.calibrations("Ben") == []
    # Nobody named on the machine, or reps out of range: said, nothing starts.
    hub.assign("LP", None)
    with pytest.raises(ConfigError, match="pick who is on LP first"):
        hub.calibrate("LP")
    hub.assign("LP", "Ben")
    with pytest.raises(ConfigError, match="1 to 20 reps"):
        hub.calibrate("LP", reps=0)
    with pytest.raises(NotFoundError):
        hub.calibrate("LP 9")
    # Asked for and not begun, a calibration is called off by putting someone else on.
    hub.calibrate("LP")
    hub.assign("LP", "Ana")
    assert hub.station("LP").calibration is None


async def test_a_named_person_never_calibrated_is_told_on_the_tile(store: SessionStore) -> None:
    store.add_person("Ana")
    hub = Hub(HubConfig(machines=(MachineSpec("LP", LIFTOFF, person="Ana"),)), store)
    async with running(hub) as sub:
        await until(sub, lambda m: m["type"] == "session" and m["event"] == "start")
        note = hub.station("LP").tile()["calibration_note"] or ""
    assert note.startswith("note: Ana has no calibration yet")
    assert (
        "(Calibrate on the machine's page, or `legpress calibrate --machine LP --person Ana`)"
        in note
    )


def test_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="two machines"):
        HubConfig(machines=(MachineSpec("A", "sim:"), MachineSpec("a", "sim:")))
    with pytest.raises(ConfigError, match="URL"):
        MachineSpec("A", " ")


def test_broadcast_drops_the_oldest_for_a_slow_reader() -> None:
    bus = Broadcast(maxsize=3)
    with bus.subscribe() as sub:
        for i in range(5):
            bus.publish({"i": i})
        assert sub.dropped == 2 and sub.pending() == 3
    assert bus.subscribers == 0


async def test_the_pad_is_tared_and_the_sled_zeroed_from_the_hub(
    store: SessionStore, tmp_path: Path
) -> None:
    """Over a real serial link to a fake board: each ends the open session, is sent to the
    board, and says what it did on the tile; refused, with the reason, when it cannot be."""
    board = PtyLegPress(tmp_path)
    try:
        board.dev.position = 400  # 20 mm on its 20 counts per mm: at rest near the top
        hub = Hub(HubConfig(machines=(MachineSpec("LP", f"serial:{board.port}"),)), store)
        with pytest.raises(UsageError, match="LP is not connected: it cannot tare the pad now"):
            hub.tare("LP")
        async with running(hub) as sub:
            # Its cells read a load: a walk-in session opens.
            await until(sub, lambda m: m["type"] == "session" and m["event"] == "start", 20)
            hub.tare("LP")
            with pytest.raises(UsageError, match="LP is busy with taring LP's pad"):
                hub.zero("LP")
            seen = await until(sub, lambda m: m["type"] == "tile" and _done(m, "pad tared"), 10)
            assert [m["reason"] for m in seen if session_end("LP")(m)] == ["pad tared"]
            tile = hub.station("LP").tile()
            assert tile["setup"] == (
                "LP's pad tared: each cell's unloaded reading, seat first, "
                "[100, 101, 102, 103, 104, 105, 106, 107] (ADC counts)"
            )
            hub.zero("LP")
            await until(sub, lambda m: m["type"] == "tile" and _done(m, "sled zeroed"), 10)
            assert (hub.station("LP").tile()["setup"] or "").startswith(
                "LP's sled zeroed: the top is now 0 mm (it read "
            )
            codes = [c.command for c in board.dev.commands]
            assert codes.count(Command.TARE) == 1 and codes.count(Command.ZERO) == 1
            # A sled on the move cannot be zeroed, nor a pad tared with someone pressing.
            board.dev.position = None
            await until(sub, lambda m: m["type"] == "tile" and (m["depth_mm"] or 0) > 40, 10)
            with pytest.raises(UsageError, match="LP's sled is moving: hold it still"):
                hub.zero("LP")
            with pytest.raises(UsageError, match=r"LP's sled is at \d+ mm, not at the top"):
                hub.tare("LP")
    finally:
        board.close()


def _done(tile: dict[str, Any], what: str) -> bool:
    return what in (tile.get("setup") or "")
