"""The ``legpress`` command skeleton and its scan / record / replay / export commands."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason

from legpress.cli import main as cli_main
from legpress.cli.main import COMMANDS, main
from legpress.storage.recording import decode_recording, read_recording
from tests.host.cli.subproc import legpress_process
from tests.host.transport.bumble_backend import LazyAir, VirtualAir
from tests.host.transport.fake_legpress import NAME
from tests.host.transport.virtual_legpress import VirtualLegPress

SIM = "sim:scenario=liftoff,seed=3,realtime=0,duration=5"


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def device_span_s(rec: Path) -> float:
    """How much of the device's own time a recording's samples span."""
    recording = read_recording(rec)
    t = decode_recording(rec).samples.t_s
    return float(t[-1] - t[0]) + 1.0 / recording.info.rate_hz


def lazy_backend(**kwargs: Any) -> tuple[Any, Any]:
    async def setup(air: VirtualAir) -> None:
        await VirtualLegPress(air, address="F0:F0:F0:F0:F0:01").start()

    return LazyAir(setup).backend(**kwargs)


def test_registry_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"scan", "record", "replay", "export"} <= set(COMMANDS)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "legpress 0.1.0"
    assert main([]) == 2
    assert "choose a command" in capsys.readouterr().err
    assert main(["nonsense"]) == 2


def test_errors_are_one_line_with_their_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["record", "bogus:x"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith("legpress: error: unknown device URL 'bogus:x'")
    assert main(["replay", str(tmp_path / "missing.lprec")]) == 6
    assert one_line_error(capsys.readouterr().err).endswith("missing.lprec not found")
    assert main(["export", str(tmp_path / "missing.lprec"), "--csv", "-"]) == 6
    capsys.readouterr()


def test_internal_errors_are_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from legpress.cli import export

    def boom(args: object) -> int:
        raise RuntimeError("bad\nthing")

    monkeypatch.setattr(export, "_run", boom)
    assert main(["export", "x", "--csv", "-"]) == 70
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith("legpress: internal error: RuntimeError: bad; thing")
    monkeypatch.setattr(export, "_run", lambda args: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["export", "x", "--csv", "-"]) == 130
    assert cli_main.EXIT_INTERRUPTED == 130


def test_scan_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--timeout", "0.3"], ble_backend=lazy_backend()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "ADDRESS", "RSSI", "URL"]
    assert out[1].split() == [NAME, "F0:F0:F0:F0:F0:01", "-50", "dBm", "ble:F0:F0:F0:F0:F0:01"]
    assert main(["scan", "--json", "--timeout", "0.3"], ble_backend=lazy_backend()) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": NAME, "address": "F0:F0:F0:F0:F0:01", "rssi": -50, "url": "ble:F0:F0:F0:F0:F0:01"}
    ]


def test_scan_nothing_found_and_bluetooth_off(capsys: pytest.CaptureFixture[str]) -> None:
    async def nothing(air: VirtualAir) -> None:
        return None

    assert (
        main(["scan", "--json", "--timeout", "0.2"], ble_backend=LazyAir(nothing).backend()) == 3
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "no leg press found in 0.2 s" in captured.err

    class Off(BaseBleakScanner):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(None, None)

        async def start(self) -> None:
            raise BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            )

        async def stop(self) -> None:
            return None

    assert main(["scan"], ble_backend=(Off, object)) == 4
    line = one_line_error(capsys.readouterr().err)
    assert line == (
        "legpress: error: no Bluetooth adapter found: plug one in, or connect the leg press "
        "by USB (serial:PORT)"
    )


def test_record_replay_export_from_the_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "set1.lprec"
    args = ["record", SIM, "-o", str(rec), "--person", "anna", "--set", "note=warm-up", "-q"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert out.out.strip() == f"wrote {rec}: 500 samples, 0 packets lost, 0 reconnects"
    header = read_recording(rec).header
    assert header["person"] == "anna" and header["note"] == "warm-up" and header["url"] == SIM
    assert len(decode_recording(rec).samples) == 500

    assert main(["record", SIM, "-o", str(rec)]) == 6
    assert "already exists" in one_line_error(capsys.readouterr().err)

    assert main(["replay", str(rec), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 500 and summary["lost_packets"] == 0
    assert main(["replay", str(rec)]) == 0
    assert "500 samples over 5.0 s" in capsys.readouterr().out

    csv_path = tmp_path / "set1.csv"
    assert main(["export", str(rec), "--csv", str(csv_path)]) == 0
    lines = csv_path.read_text().splitlines()
    assert len(lines) == 501 and lines[0].startswith("t_s,t_host_s,position_counts,depth_mm")


def test_record_over_ble(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "ble.lprec"
    args = ["record", f"ble:{NAME}", "-o", str(rec), "--duration", "1", "-q"]
    assert main(args, ble_backend=lazy_backend()) == 0
    assert capsys.readouterr().out.startswith(f"wrote {rec}: ")
    recording = read_recording(rec)
    assert recording.info.name == NAME and recording.header["url"] == f"ble:{NAME}"
    # --duration is the device's time: the fake's clock runs faster than the wall clock (it
    # sends a packet every 2 ms), so 1 s of its samples arrives in a fraction of a second.
    assert device_span_s(rec) >= 1.0


_cli = legpress_process


def _wait_for(path: Path, size: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > size:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not grow")


@pytest.mark.slow
def test_ctrl_c_ends_a_recording_cleanly(tmp_path: Path) -> None:
    rec = tmp_path / "live.lprec"
    proc = _cli("record", "sim:scenario=liftoff,seed=1,realtime=1", "-o", str(rec))
    _wait_for(rec, 5_000)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.startswith(f"wrote {rec}: ")
    assert "Traceback" not in err
    recording = read_recording(rec)
    assert not recording.stats.damaged
    assert len(decode_recording(rec).samples) > 50


@pytest.mark.slow
def test_ctrl_c_elsewhere_exits_130_without_traceback(tmp_path: Path) -> None:
    rec = tmp_path / "s.lprec"
    assert main(["record", SIM, "-o", str(rec), "-q"]) == 0
    proc = _cli("replay", str(rec), "--realtime", "--speed", "0.5")
    assert proc.stderr is not None
    # The replay's first note comes once the file is open and playing: interrupt it then,
    # not after a fixed sleep that a loaded machine can outlast before Python is even up.
    assert str(rec) in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "legpress: interrupted"


def test_record_over_serial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.host.transport.pty_device import PtyLegPress

    fake = PtyLegPress(tmp_path)
    try:
        rec = tmp_path / "usb.lprec"
        args = ["record", f"serial:{fake.port}", "-o", str(rec), "--duration", "1", "-q"]
        assert main(args) == 0
    finally:
        fake.close()
    assert capsys.readouterr().out.startswith(f"wrote {rec}: ")
    recording = read_recording(rec)
    assert recording.info.name == NAME
    assert [c.command for c in fake.dev.commands][:2] == [9, 1]  # GET_INFO, START
    assert fake.dev.commands[-1].command == 2  # STOP on close
    assert device_span_s(rec) >= 1.0  # the fake's 1 s, in about 50 ms of wall clock


def test_record_duration_is_device_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's example: 60 s of a simulation running as fast as it can, not 60 s of the
    wall clock (that wrote 2 min 45 s); at most what was already on its way comes on top (a
    fast source pauses 64 packets ahead)."""
    rec = tmp_path / "set1.lprec"
    args = ["record", "sim:scenario=demo,realtime=0", "-o", str(rec), "--duration", "60", "-q"]
    assert main(args) == 0
    capsys.readouterr()
    assert 60.0 <= device_span_s(rec) <= 63.0
    assert main(["record", SIM, "-o", str(tmp_path / "x.lprec"), "--duration", "0"]) == 2
