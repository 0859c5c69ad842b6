"""`legpress analyze` says why a file gave no reps, or fewer than it holds, instead of printing
nothing: columns in other units are read as such, and a unit mistake is named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from legpress.analysis import analyze_file
from legpress.cli.main import main
from legpress.detect import DetectorConfig, Pipeline
from legpress.errors import RecordingError
from legpress.protocol import DeviceInfo, decode_packets
from legpress.sim import make_scenario


def _series() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    res = make_scenario("liftoff", 5, duration_s=30).run()
    info = DeviceInfo.from_bytes(res.info_packet)
    block, _, _ = decode_packets([p for _, p in res.packets], [t for t, _ in res.packets], info)
    series, _ = Pipeline(info, config=DetectorConfig()).feed(block)
    return series.t_s - series.t_s[0], series.depth_mm, series.load


def _write(
    path: Path, header: tuple[str, str], t: np.ndarray, d: np.ndarray, load: np.ndarray
) -> Path:
    cols = ",".join(f"cell{k}" for k in range(load.shape[1]))
    rows = [f"{header[0]},{header[1]},{cols}"]
    for ti, di, row in zip(t, d, load, strict=True):
        rows.append(f"{ti:.9g},{di:.9g}," + ",".join(f"{x:.1f}" for x in row))
    path.write_text("\n".join(rows) + "\n")
    return path


def _kinds(analysis: object) -> list[tuple[str, int | None]]:
    return [(e.type, e.rep) for e in analysis.events]  # type: ignore[attr-defined]


def test_time_and_depth_in_other_units_give_the_same_reps_and_alerts(tmp_path: Path) -> None:
    t, d, load = _series()
    base = analyze_file(_write(tmp_path / "s.csv", ("t_s", "depth_mm"), t, d, load))
    assert base.reps and any(e.type == "lift_off" for e in base.events)
    assert base.notes() == []
    for header, ts, ds in [
        (("t_ms", "depth_mm"), 1e3, 1.0),
        (("time_us", "position_cm"), 1e6, 0.1),
        (("t_s", "depth_m"), 1.0, 1e-3),
    ]:
        other = analyze_file(_write(tmp_path / f"{header[0]}.csv", header, t * ts, d * ds, load))
        assert _kinds(other) == _kinds(base), header
        assert [round(r.depth_mm, 3) for r in other.reps] == [
            round(r.depth_mm, 3) for r in base.reps
        ]
        assert other.notes() == []


def test_milliseconds_in_a_seconds_column_are_an_error_that_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, d, load = _series()
    path = _write(tmp_path / "ms.csv", ("time", "depth_mm"), t * 1e3, d, load)
    assert main(["analyze", str(path)]) == 6  # a file that cannot be read (README, exit codes)
    err = capsys.readouterr().err
    assert "10 s apart" in err and "is 'time' in seconds?" in err and "'t_ms'" in err


def test_reps_too_long_to_count_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Rows 0.25 s apart pass as a (coarse) rate, but 25 times slower than the truth every rep
    # lasts minutes: none is counted, and analyze says so on stderr.
    t, d, load = _series()
    path = _write(tmp_path / "slow.csv", ("t_s", "depth_mm"), t * 25, d, load)
    analysis = analyze_file(path)
    assert not analysis.reps and analysis.info["abandoned_reps"] >= 3
    assert main(["analyze", str(path)]) == 0
    captured = capsys.readouterr()
    assert '"type": "rep"' not in captured.out  # alerts fired live in them are still printed
    assert captured.out.count('"type": "rep_not_counted"') == analysis.info["abandoned_reps"]
    assert "movement(s) as deep as a rep lasted longer than 20 s" in captured.err
    assert "is the time column in seconds (t_s)?" in captured.err
    assert "no reps found: the sled moved" in captured.err
    assert "slower reps count with --max-rep-s" in captured.err
    # A therapist's slow tempo reps are reps: --max-rep-s counts them, with the same depths.
    base = analyze_file(_write(tmp_path / "s.csv", ("t_s", "depth_mm"), t, d, load))
    assert main(["analyze", str(path), "--max-rep-s", "3600"]) == 0
    captured = capsys.readouterr()
    depths = [json.loads(x)["depth_mm"] for x in captured.out.splitlines() if '"type": "rep"' in x]
    assert depths == pytest.approx([r.depth_mm for r in base.reps]) and depths
    assert "rep_not_counted" not in captured.out and "lasted longer" not in captured.err
    assert main(["analyze", str(path), "--max-rep-s", "0.5"]) == 2
    assert "--max-rep-s must be between 1 and 3600 s, got 0.5" in capsys.readouterr().err


def test_a_file_without_a_rep_says_how_far_the_sled_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = np.arange(500) * 0.01
    d = -6.0 * (1 - np.cos(t))  # in centimetres, and measured the other way: up is larger
    load = np.full((500, 4), 100.0)
    path = _write(tmp_path / "up.csv", ("t_s", "depth_mm"), t, d, load)
    assert main(["analyze", str(path)]) == 0
    err = capsys.readouterr().err
    assert "no reps found: the sled moved 12 mm in all" in err
    assert "deeper larger (depth_mm)?" in err
    assert analyze_file(path).info["abandoned_reps"] == 0


def test_depth_measured_the_other_way_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, d, load = _series()
    right = _write(tmp_path / "right.csv", ("t_s", "depth_mm"), t, d, load)
    assert analyze_file(right).notes() == []
    # Up is larger: the system measured the sled's height above its lowest point.
    wrong = _write(tmp_path / "wrong.csv", ("t_s", "depth_mm"), t, d.max() - d, load)
    assert main(["analyze", str(wrong)]) == 0
    err = capsys.readouterr().err
    assert "the sled rests at its deepest" in err and "is depth measured the other way?" in err


def test_samples_a_csv_marks_not_valid_are_left_out_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, d, load = _series()
    path = _write(tmp_path / "s.csv", ("t_s", "depth_mm"), t, d, load)
    base = analyze_file(path)
    # A glitch of the encoder the other system flagged itself: 900 mm for 0.3 s at the top.
    glitch = (t >= 0.2) & (t < 0.5)
    rows = path.read_text().splitlines()
    rows[0] += ",valid"
    for i, bad in enumerate(glitch, start=1):
        if bad:
            cols = rows[i].split(",")
            cols[1] = "900"
            rows[i] = ",".join(cols)
        rows[i] += ",0" if bad else ",1"
    flagged = tmp_path / "flagged.csv"
    flagged.write_text("\n".join(rows) + "\n")
    analysis = analyze_file(flagged, DetectorConfig(rom_limit_mm=400))
    assert [round(r.depth_mm, 3) for r in analysis.reps] == [
        round(r.depth_mm, 3) for r in base.reps
    ]
    assert not [e for e in analysis.events if e.type == "rom_exceeded" and e.t_s < 1.0]
    assert analysis.info["unreadable_samples"] == int(glitch.sum())
    assert main(["analyze", str(flagged)]) == 0
    assert f"{int(glitch.sum())} sample(s) marked valid 0 were left out" in capsys.readouterr().err


def test_values_a_csv_left_missing_are_read_as_lost_or_no_load_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, d, load = _series()
    gaps = (t >= 0.2) & (t < 0.3)
    dead = load.copy()
    dead[:, 6] = 0.0
    kept = ~gaps
    zeros = analyze_file(
        _write(tmp_path / "zeros.csv", ("t_s", "depth_mm"), t[kept], d[kept], dead[kept])
    )
    # The same session as pandas writes it when cell 6 never read and the encoder missed a few
    # samples at the top: empty values.
    rows = _write(tmp_path / "s.csv", ("t_s", "depth_mm"), t, d, load).read_text().splitlines()
    for i in range(1, len(rows)):
        cols = rows[i].split(",")
        cols[2 + 6] = ""
        if gaps[i - 1]:
            cols[1] = ""
        rows[i] = ",".join(cols)
    path = tmp_path / "pandas.csv"
    path.write_text("\n".join(rows) + "\n")
    analysis = analyze_file(path)
    # A cell that never read is a dead cell, and a sample without a depth a lost one.
    assert [r.to_dict() for r in analysis.reps] == [r.to_dict() for r in zeros.reps]
    assert _kinds(analysis) == _kinds(zeros) and analysis.reps
    assert analysis.info["missing_depth_values"] == int(gaps.sum())
    assert analysis.info["missing_cell_values"] == {"cell6": len(t)}
    assert analysis.info["invalid_rows"] == 0
    assert main(["analyze", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"{int(gaps.sum())} row(s) have no sled depth" in err
    assert f"cell6 in all {len(t):,} rows (left out, like a dead cell)" in err
    assert "fill the gaps" not in err
    # A cell missing now and then is read as no load, which looks like the back easing off:
    # the note says so and what to do.
    cols = rows[5].split(",")
    cols[2] = ""
    rows[5] = ",".join(cols)
    path.write_text("\n".join(rows) + "\n")
    assert main(["analyze", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"cell0 in 1 of {len(t):,} rows" in err and "fill the gaps" in err


def test_a_file_that_ends_mid_rep_says_so_not_that_the_depth_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, d, load = _series()
    deep = int(np.argmax(d))
    path = _write(
        tmp_path / "cut.csv", ("t_s", "depth_mm"), t[: deep + 1], d[: deep + 1], load[: deep + 1]
    )
    assert main(["analyze", str(path)]) == 0
    out, err = capsys.readouterr()
    assert (
        "the file ends in the middle of rep" in err and "alerts it raised are printed above" in err
    )
    assert "is depth in millimetres" not in err
    assert err.index("note") > 0 and out  # the notes come after the lines they speak of


def test_a_limit_or_pitch_out_of_range_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, d, load = _series()
    path = _write(tmp_path / "s.csv", ("t_s", "depth_mm"), t, d, load)
    assert main(["analyze", str(path), "--rom-limit-mm", "0"]) == 2
    assert (
        "--rom-limit-mm must be more than 0 and less than 2000 mm, got 0"
        in capsys.readouterr().err
    )
    from legpress.detect.pipeline import analyze_block
    from legpress.errors import ConfigError
    from legpress.storage.csvio import import_csv

    block = import_csv(path)
    for pitch in (0.0, -40.0, float("nan")):
        with pytest.raises(ConfigError, match="cell_pitch_mm must be a positive distance"):
            analyze_block(block, cell_pitch_mm=pitch)
    # One time that is not a number does not stop the period's estimate (it is left out).
    holed = type(block)(
        np.where(np.arange(len(block)) == 100, np.nan, block.t_s),
        block.depth_mm,
        block.load,
        block.valid,
    )
    a = analyze_block(holed)
    assert a.unreadable_samples == 1 and len(a.reps) == len(analyze_block(block).reps)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_export_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "unicode.txt"
    path.write_text("t_s\tdepth_mm\tcell0\n0\t1\t2\n0.01\t1\t2\n", encoding=encoding)
    with pytest.raises(RecordingError, match=r"is UTF-16 text .* save the CSV as UTF-8"):
        analyze_file(path)
