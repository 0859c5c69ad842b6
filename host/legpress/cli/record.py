"""``legpress record``: record a session's raw packets to a file (docs/recording-format.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from legpress.cli._common import (
    Progress,
    add_calibration_argument,
    add_url_argument,
    device_options,
    duration,
    key_values,
    load_calibration,
    resolve_machine,
    run,
)
from legpress.device import Device, Disconnected, FaultEvent, GapEvent, open_device
from legpress.errors import UsageError
from legpress.protocol.decoder import SampleBlock
from legpress.storage.recording import KILL_LOSS_S


def default_name() -> Path:
    """``legpress-YYYYmmdd-HHMMSS.lprec`` in the current directory."""
    return Path(time.strftime("legpress-%Y%m%d-%H%M%S.lprec"))


class _DeviceTime:
    """How much of the device's own time the samples read so far span (its clock, not the
    host's: a ``sim:…,realtime=0`` stream runs faster than the wall clock, a replay may run
    slower, a link may stall)."""

    def __init__(self, period_s: float) -> None:
        self._period_s = period_s
        self._first_s: float | None = None
        self.seconds = 0.0

    def add(self, block: SampleBlock) -> None:
        if not len(block):
            return
        if self._first_s is None:
            self._first_s = float(block.t_s[0])
        # Each sample stands for one period: the last one's ends a period after it.
        self.seconds = max(self.seconds, float(block.t_s[-1]) - self._first_s + self._period_s)


def _status(dev: Device, device_s: float, elapsed_s: float) -> str:
    s = dev.stats
    state = "" if dev.connected else "  (reconnecting)"
    return (
        f"  {duration(device_s)} recorded ({duration(elapsed_s)} here)  {s.decoder.samples} "
        f"samples  {s.decoder.lost_packets} lost  {s.link.reconnects} reconnects{state}"
    )


async def _record(args: argparse.Namespace, out: Path, holder: list[Device]) -> None:
    header: dict[str, Any] = key_values(args.set, "--set")
    header["person"] = args.person
    header["machine"] = args.machine
    calibration = load_calibration(args)
    if calibration is not None:
        header["calibration"] = calibration
    progress = Progress()
    device = open_device(
        args.url,
        record=out,
        header=header,
        overwrite=args.overwrite,
        autostart=not args.no_start,
        **device_options(args),
    )
    holder.append(device)
    async with device as dev:
        info = dev.info
        if not args.quiet:
            progress.note(
                f"recording {dev.describe()} ({info.rate_hz:g} Hz, {info.n_cells} cells) to "
                f"{out}; Ctrl-C to stop"
            )
        start = time.monotonic()
        clock = _DeviceTime(1.0 / info.rate_hz if info.rate_hz > 0 else 0.0)
        while True:
            items = await dev.read(0.5)
            for item in items:
                if isinstance(item, SampleBlock):
                    clock.add(item)
                elif isinstance(item, Disconnected):
                    progress.note(f"link lost ({item.reason}); reconnecting")
                elif isinstance(item, GapEvent) and not args.quiet:
                    progress.note(
                        f"{item.gap.lost_packets} packet(s) lost at {item.gap.t_s:.2f} s"
                    )
                elif isinstance(item, FaultEvent) and item.new:
                    progress.note(f"device fault: {item.describe()}")
            if not args.quiet:
                progress.update(_status(dev, clock.seconds, time.monotonic() - start))
            if dev.ended or (args.duration is not None and clock.seconds >= args.duration):
                break
        progress.done()


def _summary(dev: Device, out: Path) -> str:
    s = dev.stats
    return (
        f"wrote {out}: {s.decoder.samples} samples, {s.decoder.lost_packets} packets lost, "
        f"{s.link.reconnects} reconnects"
    )


def _run(args: argparse.Namespace) -> int:
    resolve_machine(args)  # --machine: its device and default person; its name in the header
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, got {args.duration}")
    out: Path = args.output or default_name()
    holder: list[Device] = []
    try:
        run(_record(args, out, holder))
    except KeyboardInterrupt:
        if not holder or holder[0].recording_path is None or not out.exists():
            raise
        print("", file=sys.stderr)
    print(_summary(holder[0], out))
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress record`` to the command line."""
    p = subparsers.add_parser(
        "record",
        help="record a session (every raw packet) to a file",
        description="Connect to a leg press, start streaming and write every packet it sends, "
        "with its arrival time, to a recording (.lprec). Stops at --duration, at the end of a "
        "sim:/replay: source, or on Ctrl-C. Crash-safe: an interruption loses at most the last "
        f"{KILL_LOSS_S:g} s. Play it back with `legpress replay FILE` or any command taking "
        "replay:FILE.",
    )
    add_url_argument(p, machine=True)
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        help="the recording (default: a timestamped name)",
    )
    p.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds of the device's own time (the samples' clock: a fast "
        "simulation or a stalled link does not change how much is recorded; what was already "
        "on its way comes on top, about 2 s of a simulation running as fast as it can)",
    )
    p.add_argument("--person", metavar="NAME", help="who trains (stored in the header)")
    p.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="session database for --machine (default: user data)",
    )
    add_calibration_argument(p)
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="another header field (repeatable), e.g. --set note='warm-up'",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument(
        "--no-start", action="store_true", help="do not send START (the device already streams)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_run)
