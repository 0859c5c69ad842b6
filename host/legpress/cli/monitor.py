"""``legpress monitor`` and ``legpress demo``: live feedback on the machine.

The view is readable from two metres (see :mod:`legpress.cli.view`). An alert rings the
terminal bell, or plays ``--sound FILE`` where the machine can. When stdout is not a terminal
the view degrades to one plain line per rep and alert; ``--json`` streams JSON lines for other
programs. With ``--person`` the session is stored (reps, alerts, link quality, a link to the
raw recording) in the session database for reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legpress.cli._common import (
    add_calibration_argument,
    add_url_argument,
    device_options,
    file_stem,
    load_calibration,
    recorded_header,
    resolve_machine,
    run,
)
from legpress.cli.people import add_person_options, check_person
from legpress.cli.view import render
from legpress.closing import stop_task
from legpress.detect import DetectorConfig, Event, Profile, Rep
from legpress.errors import (
    ConfigError,
    NotFoundError,
    RecordingError,
    StoreBusyError,
    UsageError,
)
from legpress.live import LiveResult, LiveSession
from legpress.session import Machine, calibration_note, counts_text, uncalibrated_note

if TYPE_CHECKING:
    from legpress.storage.store import SessionStore

_FRAME_S = 0.1


def register(subparsers: Any) -> None:
    """Add ``monitor`` and ``demo``."""
    p = subparsers.add_parser(
        "monitor",
        help="live view of a leg press with alerts",
        description="Watch a leg press live: sled depth against the limit, the back pad's "
        "contact, reps and alerts (lumbar lift-off, too deep, form). Ctrl-C stops.",
    )
    add_url_argument(p, machine=True)
    _add_common(p)
    p.set_defaults(func=cmd_monitor)

    d = subparsers.add_parser(
        "demo",
        help="monitor the built-in simulated leg press",
        description="`legpress monitor` on the simulator (sim:): a simulated person does sets "
        "of leg presses, some too deep, some lifting the lower back off the pad.",
    )
    d.add_argument(
        "--scenario",
        default="demo",
        help="what the simulated person does: demo (default), clean, liftoff, rom_overshoot, "
        "bouncing, fatigue, dead_cell, lossy, rehab, group",
    )
    d.add_argument("--seed", type=int, default=1, help="which simulated person/session")
    d.add_argument("--fast", action="store_true", help="as fast as possible, not real time")
    _add_common(d)
    d.set_defaults(func=cmd_demo)


def _add_common(p: argparse.ArgumentParser) -> None:
    add_person_options(
        p,
        "who trains: loads their limit, stores the session (with --machine the session is "
        "stored even without a person)",
    )
    p.add_argument(
        "--rom-limit-mm",
        type=float,
        metavar="MM",
        help="alert when the sled goes deeper than this (sled travel from the top)",
    )
    p.add_argument(
        "--warning-lead-s",
        type=float,
        metavar="S",
        default=DetectorConfig().rom_warning_lead_s,
        help="warn this long before the sled would reach the limit (default %(default)s)",
    )
    add_calibration_argument(p)
    p.add_argument("--record", type=Path, metavar="FILE", help="write the raw stream here")
    p.add_argument(
        "--overwrite", action="store_true", help="with --record: replace an existing file"
    )
    p.add_argument("--db", type=Path, metavar="PATH", help="session database (default: user data)")
    p.add_argument("--no-store", action="store_true", help="do not store the session")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds of stream")
    p.add_argument("--json", action="store_true", help="JSON lines on stdout instead of the view")
    p.add_argument("--sound", type=Path, metavar="FILE", help="play this sound file on alerts")
    p.add_argument("--no-bell", action="store_true", help="no terminal bell")


def _profile(args: argparse.Namespace, machine: str | None = None) -> Profile | None:
    """The person's profile from the store (limits, what calibration learned: on ``machine``
    when they were calibrated there), if any; says so when their calibration in force was made
    on another machine."""
    if not args.person:
        return None
    from legpress.storage.store import SessionStore

    with SessionStore(args.db) as store:
        try:
            profile = store.get_profile(args.person, machine)
        except NotFoundError:
            return None
        note = (
            calibration_note(args.person, machine or "", store.calibrated_on(args.person, machine))
            if store.calibrations(args.person)
            else uncalibrated_note(args.person, machine or "")
        )
    if note:
        print(note, file=sys.stderr)
    return profile


class _Output:
    """Where the live session shows itself: the full view, plain lines, or JSON lines."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json = bool(args.json)
        self.tty = sys.stdout.isatty() and not self.json
        self.bell = not args.no_bell and sys.stdout.isatty()
        self.sound = args.sound
        self.player = _player() if self.sound else None
        if self.sound and not Path(self.sound).is_file():
            raise UsageError(f"--sound {self.sound}: no such file")

    def event(self, ev: Event) -> None:
        if self.json:
            self._json(ev.to_dict())
        elif not self.tty:
            print(
                f"{ev.t_s:8.2f} s  {ev.type.alert:10s} rep {ev.rep + 1}: {ev.message}", flush=True
            )
        if ev.type.loud:
            self._alarm()

    def rep(self, rep: Rep) -> None:
        if self.json:
            self._json(rep.to_dict())
        elif not self.tty:
            extra = f"  [{', '.join(rep.events)}]" if rep.events else ""
            print(
                f"{rep.t_end_s:8.2f} s  rep {rep.index + 1}: depth {rep.depth_mm:.0f} mm, "
                f"down {rep.lowering_s:.1f} s, up {rep.pushing_s:.1f} s{extra}",
                flush=True,
            )

    def link(self, record: dict[str, Any]) -> None:
        if self.json:
            self._json({k: v for k, v in record.items() if k != "t_host_s"})
        elif not self.tty and record["type"] in ("disconnected", "fault", "gap"):
            detail = (
                record.get("reason")
                or record.get("message")
                or (f"{record.get('lost_packets')} packet(s) lost")
            )
            print(f"link: {record['type']}: {detail}", flush=True)

    def _json(self, obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def _alarm(self) -> None:
        if self.player and self.sound:
            with contextlib.suppress(OSError):
                subprocess.Popen(
                    [self.player, str(self.sound)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        elif self.bell:
            sys.stdout.write("\a")
            sys.stdout.flush()


def _player() -> str | None:
    for name in ("paplay", "aplay", "afplay", "play"):
        path = shutil.which(name)
        if path:
            return path
    return None


async def _live(session: LiveSession, out: _Output, duration_s: float | None) -> LiveResult:
    task = asyncio.create_task(session.run(duration_s))
    if not out.tty:
        return await task
    sys.stdout.write("\x1b[?25l")  # hide the cursor while drawing
    try:
        while not task.done():
            size = shutil.get_terminal_size((80, 30))
            screen = render(session.view, size.columns, size.lines - 1)
            sys.stdout.write("\x1b[H\x1b[2J" + screen + "\n")
            sys.stdout.flush()
            await asyncio.wait({task}, timeout=_FRAME_S)
        return task.result()
    finally:
        sys.stdout.write("\x1b[?25h")
        sys.stdout.flush()
        if not task.done():
            await stop_task(task, errors=True)


def _config(
    args: argparse.Namespace, default_limit: float | None = None, machine: str | None = None
) -> DetectorConfig:
    profile = _profile(args, machine)
    limit = args.rom_limit_mm
    if limit is None and profile is not None:
        limit = profile.effective_limit_mm
    if limit is None:
        limit = default_limit
    try:
        config = DetectorConfig(rom_limit_mm=limit, rom_warning_lead_s=args.warning_lead_s)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if profile is not None:  # what calibration learned of this person's lift-off
        config = replace(profile.detector_config(config), rom_limit_mm=limit)
    return config


def _monitor(
    args: argparse.Namespace,
    url: str,
    config: DetectorConfig,
    machine: Machine | None = None,
) -> int:
    duration = args.duration
    if duration is not None and not duration > 0:  # also nan
        raise UsageError(f"--duration must be a positive number of seconds, got {duration}")
    out = _Output(args)
    # The machine: --machine, else the one a replayed recording was made on.
    machine_name = machine.name if machine is not None else ""
    if not machine_name:
        machine_name = str(recorded_header(url).get("machine") or "").strip()
    store_it = (bool(args.person) or machine is not None) and not args.no_store
    record = args.record
    overwrite = bool(getattr(args, "overwrite", False))
    reserved: Path | None = None
    if record is None and store_it:
        from legpress.storage.store import default_db_path

        folder = (Path(args.db).parent if args.db else default_db_path().parent) / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{file_stem(args.person or machine_name)}-{time.strftime('%Y%m%d-%H%M%S')}"
        record = reserved = _reserve(folder, stem)
        overwrite = True  # the empty file just reserved
    from legpress.storage.store import SessionStore
    from legpress.storage.store.queued import QueuedWriter

    store: SessionStore | None = SessionStore(args.db) if store_it else None
    stored: list[int] = []  # the session id, once data arrived
    writer: list[QueuedWriter] = []  # its reps and alerts, written off the event loop
    if store is not None and args.person:
        try:
            check_person(store, args.person, args.new_person)
        except BaseException:
            store.close()
            raise

    def on_start(live: LiveSession) -> None:
        # A session exists only once data arrived: a device that never answers stores nothing.
        if store is None:
            return
        if args.person:
            store.ensure_person(args.person)
        if machine_name:
            ensure_machine(store, machine_name)
        now = live.session
        stored.append(
            store.start_session(
                args.person or None,
                machine_name or None,
                device_name=now.device_name,
                device_url=url,
                recording_path=record,
                config=config,
                calibration=now.calibration,
            )
        )
        writer.append(QueuedWriter(store.path))

    def on_event(ev: Event) -> None:
        out.event(ev)
        if writer:
            writer[0].submit("add_event", stored[0], ev)

    def on_rep(rep: Rep) -> None:
        out.rep(rep)
        if writer:
            writer[0].submit("add_rep", stored[0], rep)

    session = LiveSession(
        url,
        config=config,
        calibration=load_calibration(args),
        person=args.person or "",
        machine=machine_name,
        counts_per_mm=machine.counts_per_mm if machine is not None else None,
        record=record,
        on_event=on_event,
        on_rep=on_rep,
        on_link=out.link,
        on_start=on_start,
        device_options={**device_options(args), "overwrite": overwrite}
        if record
        else device_options(args),
    )
    stopped = False
    try:
        try:
            run(_live(session, out, args.duration))
        except KeyboardInterrupt:
            if not session.started:
                raise  # nothing arrived, nothing kept: interrupted (130)
            stopped = True  # Ctrl-C is how a live session ends: everything is kept
    finally:
        try:
            if writer:
                writer[0].submit("end_session", stored[0], session.summary())
                try:
                    writer[0].close()
                except StoreBusyError as exc:
                    again = f"legpress analyze {shlex.quote(str(record))} --store"
                    if args.person:
                        again += f" --person {shlex.quote(args.person)}"
                    raise StoreBusyError(
                        f"{exc}; the recording holds the whole session: `{again}` stores it"
                    ) from None
        finally:
            if store is not None:
                store.close()
            if reserved is not None and not session.started:
                with contextlib.suppress(OSError):  # reserved, but nothing came to record
                    if reserved.stat().st_size == 0:
                        reserved.unlink()
            if session.started:
                _summary(session, stored[0] if stored else None, stopped)
    return 0


def _reserve(folder: Path, stem: str) -> Path:
    """A new, empty ``folder/stem.lprec`` (``stem-2.lprec``, ... when taken: two sessions in
    the same second, from this program or another), created atomically so that no other
    session can pick the same name."""
    n = 1
    while True:
        path = folder / (f"{stem}.lprec" if n == 1 else f"{stem}-{n}.lprec")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            n += 1
            continue
        except OSError as exc:
            raise RecordingError(f"cannot create recording {path}: {exc.strerror}") from None
        return path


def _summary(session: LiveSession, session_id: int | None, stopped: bool) -> None:
    """What was done and where it is kept, on stderr (also after Ctrl-C or a lost link)."""
    done = session.session
    result = session.result
    lines = [
        ("stopped (Ctrl-C): " if stopped else "") + counts_text(done),
        f"{len(result.events)} alerts; {result.lost_packets} packets lost",
    ]
    if result.recording:
        lines.append(f"recording: {result.recording}")
    if session_id is not None:
        lines.append(f"stored as session {session_id} (legpress report {session_id})")
    with contextlib.suppress(OSError, ValueError):
        print("\n".join(lines), file=sys.stderr, flush=True)


def ensure_machine(store: SessionStore, name: str) -> None:
    """Add a machine by that name (without a device) unless the store has one: a recording
    made on another computer's machine keeps its name here."""
    try:
        store.get_machine(name)
    except NotFoundError:
        store.add_machine(name)


def cmd_monitor(args: argparse.Namespace) -> int:
    """``legpress monitor URL`` or ``legpress monitor --machine NAME``."""
    machine = resolve_machine(args)
    name = machine.name if machine is not None else None
    return _monitor(args, args.url, _config(args, machine=name), machine)


def cmd_demo(args: argparse.Namespace) -> int:
    """``legpress demo``: monitor ``sim:`` with a scenario."""
    from legpress.sim import SCENARIOS, make_scenario

    if args.scenario not in SCENARIOS:
        raise UsageError(
            f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}"
        )
    if args.seed < 0:
        raise UsageError("--seed must be 0 or more")
    limit = make_scenario(args.scenario, args.seed).config.person.rom_limit_mm
    url = f"sim:scenario={args.scenario},seed={args.seed},realtime={0 if args.fast else 1}"
    if not args.json and sys.stdout.isatty():
        print(f"simulated leg press: {url} (Ctrl-C stops)", file=sys.stderr)
    return _monitor(args, url, _config(args, default_limit=limit))
