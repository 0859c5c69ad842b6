"""Helpers shared by the ``legpress`` subcommands: device URLs, tables, progress lines."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import getpass
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from legpress.dsp.calibration import Calibration, CalibrationFile
from legpress.errors import NotFoundError, UsageError
from legpress.session import Machine

_T = TypeVar("_T")
_ASK = "ask"  # --passkey without a code

URL_HELP = (
    "the leg press: ble:NAME-or-ADDRESS (ble: = first found), serial:PORT, "
    "sim:OPTIONS (e.g. sim:scenario=liftoff,seed=3,realtime=0) or replay:FILE[?realtime=1]"
)


def add_url_argument(
    parser: argparse.ArgumentParser, default: str | None = None, *, machine: bool = False
) -> None:
    """The positional device URL, and ``--passkey`` for a ``ble:`` one; with ``machine``,
    ``--machine NAME`` too, and the URL may be left out (see :func:`resolve_machine`)."""
    parser.add_argument(
        "--passkey",
        metavar="CODE",
        nargs="?",
        const=_ASK,
        help='ble: pair with the 6-digit code on the leg press label ("security": "passkey" '
        "in its configuration); without CODE, ask for it",
    )
    if machine:
        parser.add_argument(
            "--machine",
            metavar="NAME",
            help="a machine of `legpress machines`: its device (unless URL is given) and its "
            "default person (unless --person is); the session keeps its name",
        )
        parser.add_argument(
            "url", metavar="URL", nargs="?", default=None, help=f"{URL_HELP}; or --machine"
        )
    elif default is None:
        parser.add_argument("url", metavar="URL", help=URL_HELP)
    else:
        parser.add_argument(
            "url",
            metavar="URL",
            nargs="?",
            default=default,
            help=f"{URL_HELP} (default {default})",
        )


def add_calibration_argument(parser: argparse.ArgumentParser) -> None:
    """``--calibration FILE``."""
    parser.add_argument(
        "--calibration",
        metavar="FILE",
        type=Path,
        help="a calibration JSON file (from `legpress calibrate`)",
    )


def resolve_machine(args: argparse.Namespace) -> Machine | None:
    """``--machine NAME`` from the session database (``--db``): fills in ``args.url`` with
    the machine's device and ``args.person`` with its default person, unless they were given;
    ``args.machine`` becomes the machine's name as stored. None without ``--machine``.

    Raises:
        UsageError: neither a URL nor ``--machine``, or a machine without a device.
        NotFoundError: no machine by that name.
        StoreError: the database cannot be read.
    """
    from legpress.storage.store import SessionStore, default_db_path

    name = getattr(args, "machine", None)
    if name is None:
        if getattr(args, "url", None) is None:
            raise UsageError(
                "give the device URL, or --machine NAME (see `legpress machines list`)"
            )
        return None
    name = name.strip()
    path = Path(args.db) if getattr(args, "db", None) else default_db_path()
    if not path.expanduser().exists():
        raise NotFoundError(
            f"no machine named {name!r}: there are no machines yet ({path} does not exist); "
            "add one with `legpress machines add NAME DEVICE`"
        )
    with SessionStore(path, readonly=True) as store:
        machine = store.get_machine(name)
    if args.url is None:
        if not machine.device_url:
            raise UsageError(
                f"machine {machine.name!r} has no device: bind one with "
                f"`legpress machines set {shlex.quote(machine.name)} --device DEVICE`, or give "
                "the URL"
            )
        args.url = machine.device_url
    if getattr(args, "person", None) is None and machine.person:
        args.person = machine.person
    args.machine = machine.name
    return machine


def recorded_header(url: str) -> dict[str, Any]:
    """The header of the recording a ``replay:`` URL plays (its ``person``, ``machine``, ...);
    empty for other URLs or a file that cannot be read (opening it says why)."""
    from legpress.errors import LegPressError
    from legpress.storage.recording import RecordingReader
    from legpress.transport import parse_url

    try:
        parsed = parse_url(url)
        if parsed.scheme != "replay" or not parsed.target:
            return {}
        return dict(RecordingReader(Path(parsed.target).expanduser()).header)
    except (LegPressError, OSError):
        return {}


def load_calibration(args: argparse.Namespace) -> Calibration | None:
    """The calibration named by ``--calibration``, if any.

    Raises:
        ConfigError: unreadable or malformed.
    """
    path = getattr(args, "calibration", None)
    return None if path is None else CalibrationFile.load(path).calibration


def ble_backend(args: argparse.Namespace) -> Any:
    """The bleak backend injected into :func:`legpress.cli.main.main` (tests), or None."""
    return getattr(args, "ble_backend", None)


def device_options(args: argparse.Namespace) -> dict[str, Any]:
    """Link options the CLI passes through (only those that apply to the URL's scheme).

    Raises:
        UsageError: ``--passkey`` with a URL that is not ``ble:``.
    """
    options: dict[str, Any] = {}
    ble = str(getattr(args, "url", "")).lower().startswith("ble:")
    backend = ble_backend(args)
    if backend is not None and ble:
        options["ble_backend"] = backend
    passkey = getattr(args, "passkey", None)
    if passkey is not None:
        if not ble:
            raise UsageError("--passkey is for Bluetooth (ble:) URLs only")
        if passkey == _ASK:
            passkey = getpass.getpass("Passkey (the 6 digits on the leg press label): ")
        options["passkey"] = passkey
    return options


def key_values(items: Sequence[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a dict.

    Raises:
        UsageError: an item without ``=``.
    """
    out: dict[str, str] = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"{option} {item!r}: use KEY=VALUE")
        out[key.strip()] = value
    return out


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a command's coroutine. Ctrl-C cancels it cleanly, then raises KeyboardInterrupt.

    People press Ctrl-C again when a program does not stop at once. While the command winds
    down (a live session closing its recording and storing its summary), further presses are
    noted on stderr and not obeyed, up to the end of the command: asyncio's own handling would
    raise KeyboardInterrupt in the middle of that cleanup and leave the session marked
    interrupted. Outside the main thread, asyncio's handling applies."""
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(coro)
    stopping = False

    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        main = loop.create_task(coro)

        def on_sigint(*_: object) -> None:  # (signal number, frame)
            nonlocal stopping
            if stopping:
                os.write(2, b"legpress: stopping: what was recorded is being saved\n")
                return
            stopping = True
            main.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake the loop up

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            return runner.run(_awaited(main))
        except asyncio.CancelledError:
            if stopping:
                raise KeyboardInterrupt from None
            raise
        finally:
            if not stopping:
                signal.signal(signal.SIGINT, previous)
            else:  # the command is ending: later presses are noted, then ignored at exit
                atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)


async def _awaited(task: asyncio.Task[_T]) -> _T:
    return await task


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: frozenset[int] = frozenset()
) -> str:
    """Aligned columns, two spaces apart; columns in ``right`` right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


class Progress:
    """A status line on stderr, rewritten in place on a terminal, printed every
    ``interval_s`` otherwise."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._last = 0.0
        self._tty = self.stream.isatty()
        self._width = 0

    def update(self, text: str, force: bool = False) -> None:
        """Show ``text`` if the interval has passed (or ``force``)."""
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        if self._tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """Print a line above the status line."""
        if self._tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        """End the status line."""
        if self._tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


def duration(seconds: float) -> str:
    """``m:ss.s`` (or ``s.s s`` under a minute)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def file_stem(name: str, default: str = "person") -> str:
    """``name`` made safe as part of a file name: letters and digits (any script), ``-``, ``_``
    and ``.`` are kept, anything else (``/``, ``\\``, ``%``, spaces, control characters)
    becomes ``-``; no leading dot or dash, at most 64 characters. ``../../x`` → ``x``,
    ``a/b`` → ``a-b``, ``50%`` → ``50``."""
    kept = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    stem = "-".join(part for part in kept.split("-") if part).lstrip(".-")[:64].rstrip(".-")
    return stem or default
