"""The detector on whole simulated sessions: what a lossy link and a new set must not cause."""

from __future__ import annotations

import pytest

from legpress.detect import DetectorConfig
from legpress.detect.evaluate import run_detection
from legpress.detect.events import Event
from legpress.protocol import DeviceInfo
from legpress.sim import make_scenario


def _events(seed: int, loss: float) -> list[Event]:
    res = make_scenario("demo", seed, loss_prob=loss).run()
    info = DeviceInfo.from_bytes(res.info_packet)
    _, events = run_detection(res.packets, info, DetectorConfig(rom_limit_mm=370.0))
    return events


@pytest.mark.parametrize("seed", [1, 2])
def test_half_the_packets_lost_adds_no_warning_and_no_lift_off(seed: int) -> None:
    clean = _events(seed, 0.0)
    lossy = _events(seed, 0.5)
    for etype in ("rom_warning", "lift_off"):
        base = [e.t_s for e in clean if e.type == etype]
        extra = [
            e for e in lossy if e.type == etype and not any(abs(e.t_s - t) < 0.5 for t in base)
        ]
        assert not extra, (etype, extra)


def test_the_demo_raises_no_false_knee_lock_when_a_set_sits_higher() -> None:
    # The demo's later sets start a few mm above the first (the sled's top moves between sets).
    res = make_scenario("demo", 1).run()
    tops = [s.top_mm for s in res.truth.sets]
    assert min(tops) < -3.0  # the case of issue 14: a set whose top is above the zero
    info = DeviceInfo.from_bytes(res.info_packet)
    _, events = run_detection(res.packets, info, DetectorConfig(rom_limit_mm=370.0))
    assert not [e for e in events if e.type == "knee_lock"]
