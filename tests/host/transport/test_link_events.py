"""Link events have one record form, and a recording's events come back as the same events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from legpress.live import LiveSession
from legpress.storage.recording import read_recording
from legpress.transport.base import Connected, Disconnected, link_event_from_record


def test_round_trip() -> None:
    for event in (Connected(5, "AA", 247, True), Connected(6), Disconnected(7, "lost")):
        assert link_event_from_record(event.t_host_ns, event.to_record()) == event


def test_other_and_malformed_records() -> None:
    assert link_event_from_record(1, {"event": "note"}) is None
    assert link_event_from_record(1, {}) is None
    assert link_event_from_record(1, {"event": "connected", "mtu": "x"}) == Connected(1)


def test_legacy_key_still_reads() -> None:
    """Recordings made before the one schema named the key "event"."""
    legacy = {"event": "connected", "address": "AA", "mtu": 247, "reconnect": True}
    assert link_event_from_record(3, legacy) == Connected(3, "AA", 247, True)
    assert link_event_from_record(4, {"event": "disconnected", "reason": "x"}) == Disconnected(
        4, "x"
    )


def test_live_and_recorded_link_events_are_the_same_objects(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    live = LiveSession(
        "sim:scenario=liftoff,seed=3,realtime=0,duration=3", record=path, beep=False
    )
    result = asyncio.run(live.run())
    shown = [{k: v for k, v in r.items() if k != "t_host_s"} for r in result.link_events]
    recorded = [e for _, e in read_recording(path).events]
    assert recorded, "the simulator's link events were not recorded"
    assert [r for r in shown if r["type"] in ("connected", "disconnected")] == recorded
