"""A CSV says nothing of its strip: `analyze --cell-pitch-mm` gives the detector the real one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legpress.analysis import analyze_file
from legpress.cli.main import main
from legpress.detect import DetectorConfig, Pipeline
from legpress.protocol import DeviceInfo, decode_packets
from legpress.sim import make_scenario


def _csv(tmp_path: Path) -> tuple[Path, list[list[int]]]:
    res = make_scenario("liftoff", 3, n_cells=12, cell_pitch_mm=25, duration_s=40).run()
    info = DeviceInfo.from_bytes(res.info_packet)
    block, _, _ = decode_packets([p for _, p in res.packets], [t for t, _ in res.packets], info)
    live = Pipeline(info, config=DetectorConfig())
    series, _ = live.feed(block)
    cols = ",".join(f"cell{k}" for k in range(series.n_cells))
    rows = [f"t_s,depth_mm,{cols}"]
    for t, d, load in zip(series.t_s, series.depth_mm, series.load, strict=True):
        rows.append(f"{t:.4f},{d:.3f}," + ",".join(f"{x:.1f}" for x in load))
    path = tmp_path / "strip25.csv"
    path.write_text("\n".join(rows) + "\n")
    cells = [e.evidence["cells"] for e in live.analyzer.events if e.type == "lift_off"]
    return path, cells  # type: ignore[return-value]


def test_a_csv_is_judged_on_the_strip_it_was_recorded_with(tmp_path: Path) -> None:
    path, live_cells = _csv(tmp_path)
    told = analyze_file(path, cell_pitch_mm=25.0)
    assert told.info["cell_pitch_mm"] == 25.0 and told.series.cell_pitch_mm == 25.0
    lifts = [e for e in told.events if e.type == "lift_off"]
    assert [e.evidence["cells"] for e in lifts] == live_cells  # as the device judged it live
    assumed = analyze_file(path)
    assert assumed.info["cell_pitch_mm"] == 40.0
    first = [e for e in assumed.events if e.type == "lift_off"]
    assert not first or len(first[0].evidence["cells"]) < len(lifts[0].evidence["cells"])  # type: ignore[arg-type]
    assert np.isfinite(told.series.load).all()


def test_a_pitch_out_of_range_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("t_s,depth_mm,cell0\n0,0,1\n0.01,0,1\n")
    assert main(["analyze", str(path), "--cell-pitch-mm", "0"]) == 2
    assert "--cell-pitch-mm must be between 5 and 200 mm" in capsys.readouterr().err
