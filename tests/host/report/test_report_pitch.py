"""The report runs the detector on the strip it was recorded with, not on an assumed one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from legpress.detect import DetectorConfig, Pipeline
from legpress.protocol import DeviceInfo, decode_packets
from legpress.report.series import lower_back_contact
from legpress.sim import make_scenario


def test_the_trace_uses_the_devices_own_cell_pitch() -> None:
    # A 12-cell strip at 25 mm: the lower back is its lowest 5 positions, not 3 as at 40 mm.
    res = make_scenario("liftoff", 3, n_cells=12, cell_pitch_mm=25, duration_s=40).run()
    info = DeviceInfo.from_bytes(res.info_packet)
    assert info.cell_pitch_mm == 25
    block, _, _ = decode_packets([p for _, p in res.packets], [t for t, _ in res.packets], info)
    config = DetectorConfig()
    live = Pipeline(info, config=config)
    series, _ = live.feed(block)
    assert series.cell_pitch_mm == 25.0
    lifts = [e for e in live.analyzer.events if e.type == "lift_off"]
    assert lifts and len(lifts[0].evidence["cells"]) > 3  # type: ignore[arg-type]
    trace = lower_back_contact(series, live.analyzer.reps, live.analyzer.events, config)
    assert trace.cell_pitch_mm == 25.0
    for e in lifts:  # the chart shows the very value each alert fired on
        i = int(np.searchsorted(trace.t_s, e.t_s))
        assert trace.contact[i] == e.evidence["position"]
    # The same samples taken for a 40 mm strip give another quantity: the pitch matters.
    assumed = lower_back_contact(replace(series, cell_pitch_mm=None), [], [], config, 40.0)
    assert not np.allclose(np.nan_to_num(assumed.contact), np.nan_to_num(trace.contact))
    assert len(assumed.cells) <= 3
