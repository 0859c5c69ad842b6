"""The recording tee: what comes before DEVICE_INFO waits, then everything is written in order
through RecordingWriter, link events in their one record form."""

from __future__ import annotations

from pathlib import Path

import pytest

from legpress.errors import RecordingError, UsageError
from legpress.storage.recording import read_recording
from legpress.storage.tee import RecordingTee
from legpress.transport.base import Connected, Disconnected
from tests.host.transport.fake_legpress import INFO, FakeLegPress


def test_records_wait_for_the_header_then_go_in_order(tmp_path: Path) -> None:
    path = tmp_path / "t.lprec"
    dev = FakeLegPress()
    dev.streaming = True
    tee = RecordingTee(path, {"person": "anna", "note": "x"})
    tee.event(1, Connected(1, "AA", 247).to_record())
    tee.host(2, b"\x01\x05\x00\x01\x00\x00\x00\x00\x00\x05")
    first = dev.samples(4)
    tee.device(3, first)
    assert not path.exists() and tee.records == 0
    tee.start(INFO, "ble:x")
    second = dev.samples(4)
    tee.device(4, second)
    tee.event(5, Disconnected(5, "gone").to_record())
    tee.close()
    tee.close()
    tee.device(6, second)  # after close: ignored
    rec = read_recording(path)
    assert rec.header["person"] == "anna" and rec.header["note"] == "x"
    assert rec.header["url"] == "ble:x" and rec.info == INFO
    assert rec.packets == [first, second] and rec.t_host_ns.tolist() == [3, 4]
    assert [t for t, _ in rec.host_packets] == [2]
    assert rec.events == [
        (1, {"type": "connected", "address": "AA", "mtu": 247, "reconnect": False}),
        (5, {"type": "disconnected", "reason": "gone"}),
    ]


def test_checks_the_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t.lprec"
    path.write_bytes(b"")
    with pytest.raises(RecordingError, match="already exists"):
        RecordingTee(path)
    RecordingTee(path, overwrite=True).close()
    with pytest.raises(RecordingError, match="no directory"):
        RecordingTee(tmp_path / "missing" / "t.lprec")
    with pytest.raises(UsageError, match="calibration must be"):
        RecordingTee(tmp_path / "u.lprec", {"calibration": 3})
