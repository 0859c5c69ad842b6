"""CSV export of recordings and import of other systems' samples (docs/csv-import.md)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from legpress.dsp.calibration import Calibration
from legpress.errors import RecordingError
from legpress.protocol.spec import Flag
from legpress.storage.csvio import export_recording_csv, import_csv, write_samples_csv
from legpress.storage.recording import RecordingWriter, decode_recording, make_header
from tests.host.cli.malformed import IMPORT_PEAK_SCRIPT, write_long_csv
from tests.host.transport.fake_legpress import INFO, FakeLegPress

CAL = Calibration(counts_per_mm=20.0, zero_counts=-1000, source="measured")


def _recording(path: Path, n_packets: int = 25) -> None:
    dev = FakeLegPress()
    t = 1_000_000_000
    with RecordingWriter(path, make_header(INFO, calibration=CAL)) as w:
        for i in range(n_packets):
            t += 40_000_000
            w.write_packet(t, dev.samples(4, flags=Flag.SENSOR_FAULT if i == 3 else 0))


def test_export_columns_and_values(tmp_path: Path) -> None:
    rec = tmp_path / "s.lprec"
    out = tmp_path / "s.csv"
    _recording(rec)
    assert export_recording_csv(rec, out) == 100
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "t_s",
        "t_host_s",
        "position_counts",
        "depth_mm",
        *[f"cell{c}" for c in range(8)],
        "flags",
    ]
    samples = decode_recording(rec).samples
    assert [float(r["t_s"]) for r in rows] == pytest.approx(samples.t_s.tolist(), abs=1e-6)
    assert [int(r["cell5"]) for r in rows] == samples.cells[:, 5].tolist()
    assert [int(r["position_counts"]) for r in rows] == samples.position.tolist()
    depth = (samples.position + 1000) / 20.0
    assert [float(r["depth_mm"]) for r in rows] == pytest.approx(depth.tolist(), abs=1e-3)
    assert int(rows[12]["flags"]) & Flag.SENSOR_FAULT and not int(rows[11]["flags"])


def test_export_to_stdout_and_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "s.lprec"
    _recording(rec, 2)
    assert export_recording_csv(rec, "-") == 8
    assert capsys.readouterr().out.startswith("t_s,t_host_s,position_counts,depth_mm,cell0")
    buf = io.StringIO()
    samples = decode_recording(rec).samples
    assert write_samples_csv(buf, samples) == 8
    assert buf.getvalue().splitlines()[1].split(",")[3] == ""  # no calibration, no depth
    with pytest.raises(RecordingError, match="cannot write"):
        export_recording_csv(rec, tmp_path / "no" / "x.csv")


def test_export_then_import_round_trip(tmp_path: Path) -> None:
    rec = tmp_path / "s.lprec"
    out = tmp_path / "s.csv"
    _recording(rec)
    export_recording_csv(rec, out)
    block = import_csv(out)
    samples = decode_recording(rec).samples
    np.testing.assert_allclose(block.t_s, samples.t_s, atol=1e-6)
    np.testing.assert_allclose(block.depth_mm, (samples.position + 1000) / 20.0, atol=1e-3)
    np.testing.assert_array_equal(block.load, samples.cells.astype(np.float64))
    assert block.valid.tolist() == [not (12 <= i < 16) for i in range(100)]


def test_import_other_systems_file(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text(
        "\ufeff# exported by LabThing 2.1\n"
        "Time; Depth_mm; subject; cell_0; cell_1; cell_2; valid\n"
        "0,00; 10,5; A; 1,5; 2; 3; 1\n"
        "\n"
        "# pause\n"
        "0,01; 11,0; A; 1,6; 2; 3; 0\n"
        "0,02; 11,5; A; 1,7; 2,5; 3; yes\n",
        encoding="utf-8",
    )
    block = import_csv(path)
    assert block.t_s.tolist() == [0.0, 0.01, 0.02]
    # The row marked not valid keeps its time, flag and loads, and its depth reads NaN: the
    # detector leaves it out as a lost sample.
    assert block.depth_mm[[0, 2]].tolist() == [10.5, 11.5] and np.isnan(block.depth_mm[1])
    assert block.load.tolist() == [[1.5, 2, 3], [1.6, 2, 3], [1.7, 2.5, 3]]
    assert block.valid.tolist() == [True, False, True]
    assert block.n_cells == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("t_s,depth_mm\n0,1\n", "no pad cell columns"),
        ("time_s,cell0\n0,1\n", "no sled depth column"),
        ("t_s,depth_mm,cell0,cell2\n0,1,2,3\n", "column cell1 is missing"),
        ("t_s,depth_mm,cell0,cell0\n0,1,2,3\n", "cell 0 appears twice"),
        ("t_s,depth_mm,cell0\n0,1,2\n0.01,1,x\n", "line 3, column 'cell0': 'x' is not a number"),
        ("t_s,depth_mm,cell0\n0,1,2\n,1,2\n", "line 3, column 't_s': empty value; this"),
        ("t_s,depth_mm,cell0\n0,1,2\nNaN,1,2\n", "line 3, column 't_s': 'NaN' "),
        ("t_s,depth_mm,cell0,flags\n0,1,2,0\n1,1,2,\n", "line 3, column 'flags': empty value"),
        ("t_s,depth_mm,cell0\n0,1,2\n0.01,1,inf\n", "line 3, column 'cell0': 'inf' is not a fi"),
        ("t_s,depth_mm,cell0\n0,1,2\n0.01,1\n", "line 3: 2 values but the header has 3"),
        ("t_s,depth_mm,cell0\n0,1,2\n0.01,0,1,2\n", "line 3: 4 values but the header has 3"),
        ("t_s,depth_mm,cell0\n0.2,1,2\n0.1,1,2\n", "line 3, column 't_s': time 0.1 is not after"),
        ("t_s,depth_mm,cell0\n0,1,2\n", "1 data rows; at least 2"),
        ("t_s,depth_mm,cell0\n0,-inf,2\n1,1,1\n", "line 2, column 'depth_mm': '-inf' is not"),
        ("t_s,depth_mm,cell0,valid\n0,1,2,1\n1,1,1,maybe\n", "line 3, column 'valid'"),
    ],
)
def test_import_errors_name_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecordingError, match=message.replace("(", r"\(")):
        import_csv(path)


def test_values_an_export_left_missing_read_as_nan(tmp_path: Path) -> None:
    # pandas writes a missing value as nothing, numpy as nan, R as NA, spreadsheets #N/A.
    path = tmp_path / "gaps.csv"
    path.write_text(
        "t_s,depth_mm,cell0,cell1,cell2\n"
        "0.00,10,1,,3\n"
        "0.01,nan,1,NA,3\n"
        "0.02, ,1,n/a,3\n"
        "0.03,12,#N/A,null,None\n"
        "0.04,13,1,-nan,3\n"
    )
    block = import_csv(path)
    assert block.t_s.tolist() == [0.0, 0.01, 0.02, 0.03, 0.04]
    assert np.isnan(block.depth_mm).tolist() == [False, True, True, False, False]
    assert np.isnan(block.load).tolist() == [
        [False, True, False],
        [False, True, False],
        [False, True, False],
        [True, True, True],
        [False, True, False],
    ]
    # The rows keep their place: a missing value is not a sensor fault the file reported.
    assert block.valid.all()


def test_missing_values_read_the_same_in_the_fast_and_the_exact_pass(tmp_path: Path) -> None:
    # 'nan' alone parses in the vectorised pass; an empty value sends the chunk to the exact
    # one. Both must give the same numbers.
    rows = [f"{i / 100:.2f},{i},{i % 7},{'nan' if i % 5 == 0 else i}" for i in range(1, 50)]
    fast = tmp_path / "fast.csv"
    fast.write_text("t_s,depth_mm,cell0,cell1\n" + "\n".join(rows) + "\n")
    exact = tmp_path / "exact.csv"
    exact.write_text(
        "t_s,depth_mm,cell0,cell1\n" + "\n".join(r.replace(",nan", ",") for r in rows) + "\n"
    )
    a, b = import_csv(fast), import_csv(exact)
    for x, y in ((a.t_s, b.t_s), (a.depth_mm, b.depth_mm), (a.load, b.load)):
        assert np.array_equal(x, y, equal_nan=True)
    assert int(np.isnan(a.load).sum()) == 9


def test_import_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        import_csv(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("t_s,depth_mm,cell0\n0,1,2\n1,1,\xe9\n".encode("latin-1"))
    with pytest.raises(RecordingError, match="not UTF-8"):
        import_csv(latin)


def test_a_huge_field_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("t_s,depth_mm,cell0\n0,1,2\n0.01,1," + "1" * 200_000 + "\n")
    with pytest.raises(RecordingError, match="line 3: longer than 65536 bytes"):
        import_csv(path)
    quoted = tmp_path / "quoted.csv"  # one field over many short lines
    quoted.write_text('t_s,depth_mm,cell0\n0,1,"' + "1\n" * 70_000 + '"\n')
    with pytest.raises(RecordingError, match="not valid CSV"):
        import_csv(quoted)


def test_a_huge_cell_number_is_rejected_at_once(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "cells.csv"
    path.write_text("t_s,depth_mm,cell0,cell100000000\n0,1,2,3\n0.01,1,2,3\n")
    tracemalloc.start()
    try:
        with pytest.raises(RecordingError, match="'cell100000000': at most 64 cells"):
            import_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, peak  # a block of the file, not gigabytes


def test_import_streams_to_the_stated_bound(tmp_path: Path) -> None:
    import subprocess
    import sys

    rows = 300_000
    path = write_long_csv(tmp_path / "long.csv", rows)
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PEAK_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert int(out[0]) == rows
    grown = int(out[1])
    per_row = 8 * (8 + 2) + 1  # the arrays themselves
    print(f"{grown / rows:.0f} B per row")
    assert grown <= per_row * rows + 24_000_000, f"{grown / rows:.0f} B per row"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0.01,1e300,2", "column 'depth_mm': 1e300 is implausible"),
        ("0.01,1,-1e300", "column 'cell0': -1e300 is implausible"),
        ("1e300,1,2", "column 't_s': 1e300 is implausible"),
        ("0.01,12000,2", "column 'depth_mm': 12000 is implausible"),
    ],
)
def test_implausible_values_are_errors(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"t_s,depth_mm,cell0\n0,1,2\n{row}\n0.02,1,2\n")
    with pytest.raises(RecordingError, match=f"line 3, {message}"):
        import_csv(path)


def test_rows_too_close_or_too_far_apart_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "fast.csv"
    path.write_text("t_s,depth_mm,cell0\n0,1,2\n1e-300,1,2\n2e-300,1,2\n")
    with pytest.raises(RecordingError, match="1e-300 s apart"):
        import_csv(path)
    path.write_text("t_s,depth_mm,cell0\n0,1,2\n100,1,2\n200,1,2\n")
    with pytest.raises(RecordingError, match=r"100 s apart .* in seconds"):
        import_csv(path)


def test_columns_in_other_units_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("time_ms,position_cm,c0\n0,1.5,2\n10,2.0,2\n20,2.5,2\n")
    block = import_csv(path)
    assert np.allclose(block.t_s, [0.0, 0.01, 0.02]) and np.allclose(block.depth_mm, [15, 20, 25])
    path.write_text("t_us,depth_m,c0\n0,0.01,2\n5000,0.02,2\n10000,0.03,2\n")
    block = import_csv(path)
    assert np.allclose(block.t_s, [0.0, 0.005, 0.01]) and np.allclose(block.depth_mm, [10, 20, 30])
    path.write_text("t_s,t_ms,depth_mm,c0\n0,0,1,2\n0.01,10,1,2\n")  # seconds first
    assert np.allclose(import_csv(path).t_s, [0.0, 0.01])
    path.write_text("t_s,depth_m,c0\n0,11,2\n0.01,1,2\n")  # 11 m: implausible in its unit
    with pytest.raises(RecordingError, match="line 2, column 'depth_m': 11 is implausible"):
        import_csv(path)
    path.write_text("time,t_ms,depth_mm,c0\n10:00:00.00,0,1,2\n10:00:00.01,10,1,2\n")
    assert np.allclose(import_csv(path).t_s, [0.0, 0.01])  # the column naming its unit first
    path.write_text("t_ms,depth_mm,c0\n0,1,2\n0.01,1,2\n0.02,1,2\n")  # seconds, 100 Hz
    with pytest.raises(RecordingError, match=r"1e-05 s apart .* 0.0001 to 0.5 s apart"):
        import_csv(path)
    path.write_text("t_ms,depth_mm,c0\n0,1,2\n0.001,1,2\n0.002,1,2\n")
    with pytest.raises(RecordingError, match=r"1e-06 s apart .* in the unit its name says"):
        import_csv(path)


def test_empty_values_after_the_last_column_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("t_s,depth_mm,cell0\n0,1,2,\n0.01,1,3,,\n")  # a trailing delimiter
    assert import_csv(path).load[:, 0].tolist() == [2, 3]


def test_lines_ending_in_a_lone_cr_are_read(tmp_path: Path) -> None:
    # Excel for Mac's "Macintosh" CSV: no line feed at all.
    path = tmp_path / "mac.csv"
    path.write_bytes(b"t_s,depth_mm,cell0\r0,1,2\r0.01,2,3\r0.02,3,4\r")
    block = import_csv(path)
    assert block.t_s.tolist() == [0.0, 0.01, 0.02] and block.load[:, 0].tolist() == [2, 3, 4]
    path.write_bytes(b"t_s,depth_mm,cell0\r0,1,2\r0.01,x,3\r")
    with pytest.raises(RecordingError, match="line 3, column 'depth_mm': 'x' is not a number"):
        import_csv(path)


def test_a_non_utf8_error_names_the_line_and_the_byte(tmp_path: Path) -> None:
    text = "t_s,depth_mm,cell0\n0,1,2\n" + "".join(f"{i / 100},1,2\n" for i in range(1, 3000))
    data = text.encode() + "3,1,caf\xe9\n".encode("latin-1")
    path = tmp_path / "latin.csv"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    offset = 3 + len(text.encode()) + len("3,1,caf")
    with pytest.raises(
        RecordingError,
        match=f"line 3002: byte 0xe9 at byte {offset} of the file \\(character 8 of the line\\)",
    ):
        import_csv(path)
