"""The damage suite: real recordings, damaged every way a disk, a crash or an attacker does it.

Whatever the damage (truncations, bit flips, zero blocks, garbage tails, crafted record
headers), the reader gives back every intact record, so 100 % of the intact samples, and always
says that, where and how much was skipped. A damaged stretch costs only the records in it,
whatever their clocks say, and finding the next good record is linear in the worst case.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legpress.cli.main import main
from legpress.storage import recording as recording_module
from legpress.storage import resync as resync_module
from legpress.storage.recording import (
    RecordingReader,
    RecordingWriter,
    RecordKind,
    decode_recording,
    make_header,
    read_recording,
)
from legpress.storage.resync import RecordScanner
from tests.host.storage.damage import DAMAGE, Layout, sim_recording
from tests.host.transport.fake_legpress import INFO, FakeLegPress

URLS = {
    "demo": "sim:scenario=demo,seed=2,realtime=0,duration=40",
    "lossy": "sim:scenario=lossy,seed=5,realtime=0,duration=40",
}
CASES_PER_KIND = 30


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Layout]:
    folder = tmp_path_factory.mktemp("recordings")
    return {
        name: Layout.of(sim_recording(folder / f"{name}.lprec", url)) for name, url in URLS.items()
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damage_costs_only_the_damaged_records(
    layouts: dict[str, Layout], kind: str, tmp_path: Path
) -> None:
    intact = recovered = reported = damaged = 0
    for name, layout in layouts.items():
        originals = set(layout.payloads(list(range(len(layout.records)))))
        for seed in range(CASES_PER_KIND):
            edits = DAMAGE[kind](layout, random.Random(f"{kind}-{name}-{seed}"))
            keep = layout.intact(edits)
            rec = read_recording(_write(tmp_path / "damaged.lprec", layout.damaged(edits)))
            got = [r.payload for r in RecordingReader(rec.path).records()]
            assert [p for p in got if p in originals] == layout.payloads(keep), (name, seed, edits)
            # every intact sample comes back, with its values
            perfect = decode_recording(_write(tmp_path / "perfect.lprec", layout.only(keep)))
            samples = decode_recording(rec).samples
            np.testing.assert_array_equal(samples.cells, perfect.samples.cells)
            np.testing.assert_array_equal(samples.position, perfect.samples.position)
            intact += len(perfect.samples)
            recovered += len(samples)
            added = any(e.new and e.lo == len(layout.data) for e in edits)
            if len(keep) < len(layout.records) or added:
                damaged += 1
                note = rec.stats.describe()
                reported += rec.stats.damaged and "at byte" in note
    print(
        f"{kind}: {damaged} damaged files, {recovered}/{intact} intact samples recovered, "
        f"damage reported in {reported}/{damaged}"
    )
    assert recovered == intact and reported == damaged > 0


def _mixed_clock_recording(path: Path) -> list[bytes]:
    """Device records on one clock, commands and events on another, and a jump of a year in
    the middle: what a sim:…,realtime=0 recording of an older legpress looks like."""
    dev = FakeLegPress()
    dev.streaming = True
    packets = [dev.info_message()] + [dev.samples(4) for _ in range(60)]
    with RecordingWriter(path, make_header(INFO)) as w:
        w.write_event(5_000_000_000, {"event": "connected", "address": "sim", "mtu": 0})
        w.write_packet(5_000_000_001, b"\x01\x05\x00\x07\x00\x00\x00\x00\x00\x02", RecordKind.HOST)
        t = 1_750_000_000_000_000_000
        for i, p in enumerate(packets):
            t += 40_000_000 + (365 * 86_400 * 10**9 if i == 30 else 0)
            w.write_packet(t, p)
    return packets


@pytest.mark.parametrize("victim", [2, 3, 20, 32, 50])
def test_damage_costs_only_the_damaged_records_whatever_the_clock(
    tmp_path: Path, victim: int
) -> None:
    path = tmp_path / "mixed.lprec"
    packets = _mixed_clock_recording(path)
    layout = Layout.of(path)
    data = bytearray(layout.data)
    off, length = layout.records[victim]
    data[off + length // 2] ^= 0x10
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    lost = victim - 2  # records 0 and 1 are the event and the command
    assert rec.packets == packets[:lost] + packets[lost + 1 :]
    assert rec.stats.corrupt_records == 1 and rec.stats.skipped_bytes == length
    assert rec.stats.damage[0].offset == off


def test_a_fast_simulation_records_commands_and_events_on_its_own_clock(
    layouts: dict[str, Layout],
) -> None:
    for layout in layouts.values():
        times = [struct.unpack_from("<q", layout.data, off + 5)[0] for off, _ in layout.records]
        kinds = [layout.data[off + 4] for off, _ in layout.records]
        device = [t for t, k in zip(times, kinds, strict=True) if k == RecordKind.DEVICE]
        others = [t for t, k in zip(times, kinds, strict=True) if k != RecordKind.DEVICE]
        assert others, "a recording holds the START command and the connection"
        # one clock: commands and events fall within the device packets' span
        assert all(device[0] - 10**9 <= t <= device[-1] + 10**9 for t in others), (
            device[0],
            device[-1],
            others,
        )


def _crafted_tail(n_bytes: int) -> bytes:
    """Every 13 bytes a record header claiming a large payload with a plausible time."""
    out = bytearray()
    while len(out) < n_bytes:
        room = n_bytes - len(out)
        out += struct.pack("<IBq", max(0, min(1 << 20, room - 40)), 0, 5_000_000_000)
    return bytes(out[:n_bytes])


def test_a_crafted_tail_is_read_in_linear_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crc_bytes = 0
    real_crc32 = zlib.crc32
    scanners: list[RecordScanner] = []

    class CountingZlib:
        @staticmethod
        def crc32(data: bytes | memoryview, value: int = 0) -> int:
            nonlocal crc_bytes
            crc_bytes += len(data)
            return real_crc32(data, value)

    class Scanner(RecordScanner):
        def __init__(self, data: bytes, max_payload: int) -> None:
            super().__init__(data, max_payload)
            scanners.append(self)

    monkeypatch.setattr(recording_module, "zlib", CountingZlib)
    monkeypatch.setattr(resync_module, "zlib", CountingZlib)
    monkeypatch.setattr(recording_module, "RecordScanner", Scanner)
    path = tmp_path / "crafted.lprec"
    packets = _mixed_clock_recording(path)
    size = path.stat().st_size
    tail = _crafted_tail(400_000)
    path.write_bytes(path.read_bytes() + tail)
    rec = read_recording(path)
    assert rec.packets == packets
    assert rec.stats.damaged and rec.stats.corrupt_records == 1
    assert rec.stats.damage[-1].offset == size and rec.stats.skipped_bytes == len(tail)
    work = crc_bytes + sum(s.scanned_bytes for s in scanners)
    assert work <= 4 * (size + len(tail)), f"{work} bytes of work for a {len(tail)} byte tail"


def _brute_force(data: bytes, start: int, max_payload: int) -> int | None:
    for pos in range(start, len(data) - 17 + 1):
        size, kind, _ = struct.unpack_from("<IBq", data, pos)
        end = pos + 13 + size
        if size > max_payload or kind > 2 or end + 4 > len(data):
            continue
        if zlib.crc32(data[pos:end]) == struct.unpack_from("<I", data, end)[0]:
            return pos
    return None


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.tuples(st.binary(max_size=80), st.integers(0, 2), st.integers(-(2**63), 2**63 - 1)),
        ),
        max_size=12,
    ),
    st.integers(0, 400),
)
def test_scanner_finds_the_same_records_as_checking_every_offset(
    parts: list[bytes | tuple[bytes, int, int]], start: int
) -> None:
    data = bytearray()
    for part in parts:
        if isinstance(part, bytes):
            data += part  # garbage
        else:
            payload, kind, t = part
            head = struct.pack("<IBq", len(payload), kind, t)
            data += head + payload + struct.pack("<I", zlib.crc32(head + payload))
    data_b = bytes(data)
    scanner = RecordScanner(data_b, 1 << 20)
    pos = start
    while True:
        want = _brute_force(data_b, pos, 1 << 20)
        assert scanner.next_record(pos) == want
        if want is None:
            break
        pos = want + 1


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _flipped(layout: Layout) -> tuple[bytes, int, int]:
    """The recording with one bit flipped in its middle record; that record's offset and
    length."""
    data = bytearray(layout.data)
    off, length = layout.records[len(layout.records) // 2]
    data[off + 20] ^= 0x01
    return bytes(data), off, length


def test_replay_and_analyze_say_where_and_how_much_was_skipped(
    layouts: dict[str, Layout], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, off, length = _flipped(layouts["demo"])
    path = _write(tmp_path / "flipped.lprec", data)

    code, out, err = _cli(capsys, "replay", str(path), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["damaged_file"] is True
    assert summary["damaged_bytes"] == length
    assert f"{length} at byte {off}" in summary["file_note"] and "s in)" in summary["file_note"]
    assert f"at byte {off}" in err

    code, out, err = _cli(capsys, "analyze", str(path))
    assert code == 0 and out
    assert f"1 damaged stretch skipped ({length} bytes: {length} at byte {off}" in err

    code, out, err = _cli(capsys, "export", str(path), "--csv", str(tmp_path / "x.csv"))
    assert code == 0 and f"at byte {off}" in err


def test_each_command_says_the_damage_once(
    layouts: dict[str, Layout], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, off, _ = _flipped(layouts["demo"])
    for argv in (
        ["analyze"],
        ["replay"],
        ["export", "--csv", str(tmp_path / "x.csv")],
    ):
        # A file of its own for each: the library's log says a file's damage once a process.
        path = _write(tmp_path / f"{argv[0]}.lprec", data)
        code, _, err = _cli(capsys, argv[0], str(path), *argv[1:])
        assert code == 0 and err.count(f"at byte {off}") == 1, (argv, err)
        line = next(x for x in err.splitlines() if f"at byte {off}" in x)
        assert line.startswith("legpress: note: "), line
    # A command that does not say it itself (the report reads the session's recording): the
    # library's warning, as a note of the command's.
    db = str(tmp_path / "s.db")
    stored = _write(tmp_path / "stored.lprec", data)
    _cli(capsys, "analyze", str(stored), "--store", "--person", "ana", "--new-person", "--db", db)
    again = _write(tmp_path / "again.lprec", data)
    html = str(tmp_path / "r.html")
    code, _, err = _cli(capsys, "report", "1", "--db", db, "--recording", str(again), "-o", html)
    assert code == 0 and err.count(f"at byte {off}") == 1, err
    assert f"legpress: note: {again}: 1 damaged stretch" in err


def test_no_samples_after_damage_is_an_error_not_success(
    layouts: dict[str, Layout], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = layouts["demo"]
    data = bytearray(layout.data)
    for off, length in layout.records:  # damage every record's payload
        data[off + 13 + (length - 17) // 2 if length > 17 else off] ^= 0x40
    path = _write(tmp_path / "ruined.lprec", bytes(data))
    for argv in (
        ["replay", str(path)],
        ["replay", str(path), "--json"],
        ["export", str(path), "--csv", str(tmp_path / "out.csv")],
        ["analyze", str(path)],
    ):
        code, out, err = _cli(capsys, *argv)
        assert code == 6, (argv, code, out, err)
        assert "damaged" in err and "Traceback" not in err, err
