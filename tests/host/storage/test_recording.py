"""Recordings: format, round trip, damage handling, crash safety (a real SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legpress.dsp.calibration import Calibration
from legpress.errors import RecordingError
from legpress.protocol.decoder import Decoder, SampleBlock
from legpress.storage.recording import (
    END_MARK,
    MAGIC,
    RecordingReader,
    RecordingWriter,
    RecordKind,
    decode_recording,
    is_recording,
    make_header,
    read_recording,
)
from tests.host.transport.fake_legpress import INFO, FakeLegPress, expected_cells

REPO = Path(__file__).resolve().parents[3]


def _session(n_packets: int = 50) -> list[tuple[int, bytes]]:
    dev = FakeLegPress()
    dev.streaming = True
    t = 5_000_000_000
    out = [(t, dev.info_message())]
    for i in range(n_packets):
        t += 40_000_000
        out.append((t + (i % 3) * 1_000_000, dev.samples(4)))
    return out


def _write(path: Path, packets: list[tuple[int, bytes]], **header: object) -> None:
    with RecordingWriter(path, make_header(INFO, url="sim:test", **header)) as w:  # type: ignore[arg-type]
        w.write_event(packets[0][0], {"event": "connected", "address": "x", "mtu": 0})
        for t, p in packets:
            w.write_packet(t, p)
        w.write_packet(
            packets[-1][0] + 1, b"\x01\x05\x00\x07\x00\x00\x00\x00\x00\x02", RecordKind.HOST
        )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    packets = _session()
    cal = Calibration(counts_per_mm=20.0, zero_counts=5, tare_counts=(1,) * 8, source="measured")
    _write(path, packets, calibration=cal, person="anna", machine="gym-2")
    assert path.read_bytes().startswith(MAGIC)
    assert is_recording(path) and not is_recording(tmp_path / "missing")

    rec = read_recording(path)
    assert rec.packets == [p for _, p in packets]
    assert rec.t_host_ns.tolist() == [t for t, _ in packets]
    assert rec.info == INFO
    assert rec.calibration == cal
    assert rec.header["person"] == "anna" and rec.header["machine"] == "gym-2"
    assert rec.header["url"] == "sim:test"
    assert rec.header["device_info"]["name"] == INFO.name
    assert rec.header["device_info"]["rate_hz"] == 100.0
    assert rec.events == [(packets[0][0], {"event": "connected", "address": "x", "mtu": 0})]
    assert len(rec.host_packets) == 1
    assert not rec.stats.damaged and rec.stats.records == len(packets) + 2
    assert rec.duration_s == pytest.approx((packets[-1][0] - packets[0][0]) / 1e9)


def test_header_is_one_json_line(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    _write(path, _session(2), extra={"note": "line1\nline2"})
    lines = path.read_bytes().split(b"\n", 2)
    assert lines[0] + b"\n" == MAGIC
    header = json.loads(lines[1])
    assert header["format"] == "legpress-recording" and header["version"] == 1
    assert header["note"] == "line1\nline2"
    assert bytes.fromhex(header["device_info"]["body_hex"]) == INFO.body()


def test_decode_matches_live_decoder(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    packets = _session(40)
    _write(path, packets)
    decoded = decode_recording(path)
    live = Decoder()
    blocks = [
        item for t, p in packets for item in live.feed(p, t) if isinstance(item, SampleBlock)
    ]
    joined = SampleBlock.concat(blocks)
    np.testing.assert_array_equal(decoded.samples.cells, joined.cells)
    np.testing.assert_array_equal(decoded.samples.t_host_s, joined.t_host_s)
    np.testing.assert_array_equal(decoded.samples.cells, expected_cells(range(160), 8))
    assert decoded.stats.samples == 160 and not decoded.gaps


@pytest.mark.parametrize("cut", [1, 4, 13, 17, 30])
def test_torn_last_record_is_skipped(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "s.lprec"
    packets = _session(10)
    with RecordingWriter(path, make_header(INFO)) as w:
        for t, p in packets:
            w.write_packet(t, p)
    data = path.read_bytes()
    end_mark = 13 + len(END_MARK) + 4  # a killed writer never wrote it
    path.write_bytes(data[: len(data) - end_mark - cut])
    rec = read_recording(path)
    assert rec.packets == [p for _, p in packets[:-1]]
    assert rec.stats.truncated_bytes > 0 and rec.stats.corrupt_records == 0
    assert "torn" in rec.stats.describe()


def test_damage_in_the_middle_is_skipped_and_reading_resyncs(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    packets = _session(10)
    with RecordingWriter(path, make_header(INFO)) as w:
        for t, p in packets:
            w.write_packet(t, p)
    data = bytearray(path.read_bytes())
    # flip a payload byte of the 5th packet record
    reader = RecordingReader(path)
    start = reader._start
    sizes = [13 + len(p) + 4 for _, p in packets]
    off = start + sum(sizes[:5]) + 20
    data[off] ^= 0xFF
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    assert rec.packets == [p for i, (_, p) in enumerate(packets) if i != 5]
    assert rec.stats.corrupt_records == 1 and rec.stats.truncated_bytes == 0
    assert rec.stats.skipped_bytes == sizes[5]


def test_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="not found"):
        RecordingReader(tmp_path / "nope.lprec")
    empty = tmp_path / "empty.lprec"
    empty.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty"):
        RecordingReader(empty)
    other = tmp_path / "other.lprec"
    other.write_text("t_s,depth_mm\n")
    with pytest.raises(RecordingError, match="not a legpress recording"):
        RecordingReader(other)
    newer = tmp_path / "newer.lprec"
    newer.write_bytes(b"LEGPRESS-RECORDING 7\n{}\n")
    with pytest.raises(RecordingError, match="version 7"):
        RecordingReader(newer)
    torn = tmp_path / "torn.lprec"
    torn.write_bytes(MAGIC + b'{"format": "legp')
    with pytest.raises(RecordingError, match="truncated inside its header"):
        RecordingReader(torn)
    bad = tmp_path / "bad.lprec"
    bad.write_bytes(MAGIC + b'{"format": "legpress-recording", "device_info": {}}\n')
    with pytest.raises(RecordingError, match="damaged header"):
        RecordingReader(bad)
    with pytest.raises(RecordingError, match="directory"):
        RecordingReader(tmp_path)


def test_writer_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    path.write_text("precious")
    with pytest.raises(RecordingError, match="already exists"):
        RecordingWriter(path, make_header(INFO))
    assert path.read_text() == "precious"
    RecordingWriter(path, make_header(INFO), overwrite=True).close()
    assert is_recording(path)
    with pytest.raises(RecordingError, match="cannot create"):
        RecordingWriter(tmp_path / "no" / "dir.lprec", make_header(INFO))


def test_writer_flushes_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    w = RecordingWriter(path, make_header(INFO), sync_interval_s=0.05)
    size0 = path.stat().st_size
    w.write_packet(1, b"x" * 100)
    deadline = time.monotonic() + 2
    while path.stat().st_size == size0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size == size0 + 13 + 100 + 4
    w.close()
    w.close()
    with pytest.raises(RecordingError, match="closed"):
        w.write_packet(2, b"y")


def test_reserved_header_fields(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="reserved"):
        make_header(INFO, extra={"format": "mine"})
    with pytest.raises(RecordingError, match="JSON"):
        RecordingWriter(tmp_path / "x.lprec", {"format": object()})


_CHILD = textwrap.dedent(
    """
    import sys, time
    from legpress.storage.recording import RecordingWriter, make_header
    from tests.host.transport.fake_legpress import INFO
    w = RecordingWriter(sys.argv[1], make_header(INFO), sync_interval_s=float(sys.argv[2]))
    i = 0
    while True:
        w.write_packet(time.monotonic_ns(), i.to_bytes(4, "little") * 20)
        i += 1
        if i % 10 == 0:
            time.sleep(0.001)
    """
)


@pytest.mark.slow
def test_sigkill_loses_at_most_a_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.lprec"
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), "0.5"], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 200_000:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # let the killer land at an arbitrary moment of the sync cycle
        killed_ns = time.monotonic_ns()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    rec = read_recording(path)  # reads despite the kill
    counters = [int.from_bytes(p[:4], "little") for p in rec.packets]
    assert counters == list(range(len(counters)))  # nothing missing before the end
    lost_s = (killed_ns - int(rec.t_host_ns[-1])) / 1e9
    assert len(counters) > 1000
    print(f"SIGKILL after {len(counters)} packets: the last {lost_s:.3f} s were lost")
    assert lost_s <= 1.0, f"lost {lost_s:.2f} s of packets"


@settings(max_examples=150, deadline=2000)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=12))
def test_damaged_records_never_raise(flips: list[tuple[int, int]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.lprec"
        packets = _session(30)
        with RecordingWriter(path, make_header(INFO)) as w:
            for t, p in packets:
                w.write_packet(t, p)
        data = bytearray(path.read_bytes())
        start = RecordingReader(path)._start
        for offset, value in flips:
            data[start + offset % (len(data) - start)] = value
        path.write_bytes(bytes(data))
        rec = read_recording(path)  # damage in the records never raises
        good = set(p for _, p in packets)
        assert all(p in good for p in rec.packets)
        decode_recording(rec)


def test_a_cut_between_two_records_is_reported(tmp_path: Path) -> None:
    """A cut that falls exactly on a record boundary leaves every remaining record whole; only
    the missing end mark tells it from a recording that was closed."""
    path = tmp_path / "s.lprec"
    packets = _session(10)
    with RecordingWriter(path, make_header(INFO)) as w:
        for t, p in packets:
            w.write_packet(t, p)
    closed = read_recording(path)
    assert not closed.stats.damaged and closed.stats.describe() == ""
    assert closed.stats.records == len(packets) and not closed.events
    data = path.read_bytes()
    cut = len(data) - (13 + len(END_MARK) + 4) - (13 + len(packets[-1][1]) + 4)
    path.write_bytes(data[:cut])
    rec = read_recording(path)
    assert rec.packets == [p for _, p in packets[:-1]]
    assert rec.stats.damaged and rec.stats.unfinished_at == cut
    assert f"stops at byte {cut} without its end mark" in rec.stats.describe()


def test_the_end_mark_is_on_the_last_records_clock(tmp_path: Path) -> None:
    path = tmp_path / "s.lprec"
    with RecordingWriter(path, make_header(INFO, t0_host_ns=10)) as w:
        w.write_packet(1_750_000_000_000_000_000, b"x")  # a simulator's clock
    reader = RecordingReader(path)
    assert [r.t_host_ns for r in reader.records()] == [1_750_000_000_000_000_000]
    data = path.read_bytes()
    tail = data[-(13 + len(END_MARK) + 4) :]
    assert int.from_bytes(tail[5:13], "little") == 1_750_000_000_000_000_000
