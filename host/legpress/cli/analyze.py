"""``legpress analyze FILE``: reps and alerts of a recorded session, one JSON object per line.

Works on a recording (``.lprec``) or a CSV in the import format (docs/csv-import.md). Each rep
is ``{"type": "rep", "index", "t_start_s", "t_end_s", "depth_mm", ...metrics}``; each alert is
``{"type": "lift_off" | "rom_exceeded" | ..., "t_s", "rep", "message", "evidence"}`` with
``t_s`` the instant the live alert would have fired, on the file's clock.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from legpress.cli._common import add_calibration_argument, load_calibration
from legpress.cli.people import add_person_options, check_person
from legpress.detect import DetectorConfig
from legpress.errors import ConfigError, NotFoundError, UsageError
from legpress.session import Machine, Person, now_utc


def register(subparsers: Any) -> None:
    """Add ``analyze``."""
    p = subparsers.add_parser(
        "analyze",
        help="reps and alerts of a recording or CSV, as JSON lines",
        description="Run the detectors over a recorded session (a legpress recording, or a "
        "CSV in the import format) exactly as they ran live, and print each rep and each "
        "alert as one JSON object per line, in time order.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="a recording (.lprec) or a CSV")
    p.add_argument(
        "--rom-limit-mm", type=float, metavar="MM", help="the ROM limit to check against"
    )
    p.add_argument(
        "--cell-pitch-mm",
        type=float,
        metavar="MM",
        help="a CSV's distance between cell centres (default 40; a recording's device says its "
        "own)",
    )
    p.add_argument(
        "--max-rep-s",
        type=float,
        metavar="S",
        help="count reps up to S seconds from leaving the top (default 20; slow tempo or "
        "a hold at the bottom takes longer)",
    )
    add_person_options(p, "use this person's stored limit (see `legpress people`)")
    p.add_argument("--db", type=Path, metavar="PATH", help="session database for --person")
    p.add_argument(
        "--machine",
        metavar="NAME",
        help="with --store: the machine it was trained on (default: the one the recording "
        "names; added to the database without a device if it is not there)",
    )
    add_calibration_argument(p)
    p.add_argument("--summary", action="store_true", help="also print a summary line on stderr")
    p.add_argument(
        "--store",
        action="store_true",
        help="store the analysed session in the session database, for --person (default: "
        "the person the recording names)",
    )
    p.set_defaults(func=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print the analysis; exit 0 (even when alerts fired: they are data, not errors)."""
    from legpress.analysis import analyze_file
    from legpress.storage.store import SessionStore

    limit = args.rom_limit_mm
    if limit is not None and not 0 < limit < 2000:
        raise UsageError(
            f"--rom-limit-mm must be more than 0 and less than 2000 mm, got {limit:g}"
        )
    header = _header(args.file) if args.store else {}  # who and when, for the stored session
    if args.store and not args.person:
        args.person = _recorded_person(header)
        if not args.person:
            raise UsageError("--store needs --person (whose session is it? the file does not say)")
        print(
            f"legpress: note: storing it for {args.person}, who the recording names",
            file=sys.stderr,
        )
    if args.machine is not None and not args.store:
        raise UsageError("--machine is for --store (which machine the stored session was on)")
    if args.store:
        with SessionStore(args.db) as store:
            check_person(store, args.person, args.new_person)
    profile = None
    if args.person:
        with SessionStore(args.db, readonly=not args.store) as store:
            try:
                profile = store.get_profile(args.person, args.machine)
            except NotFoundError:
                if not (args.store and args.new_person):
                    raise
        if limit is None and profile is not None:
            limit = profile.effective_limit_mm
    try:
        config = DetectorConfig(rom_limit_mm=limit)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if profile is not None:  # what calibration learned of this person's lift-off
        config = replace(profile.detector_config(config), rom_limit_mm=limit)
    max_rep_s = args.max_rep_s
    if max_rep_s is not None:
        if not 1 <= max_rep_s <= 3600:
            raise UsageError(f"--max-rep-s must be between 1 and 3600 s, got {max_rep_s:g}")
        config = replace(config, max_rep_s=max_rep_s)
    pitch = args.cell_pitch_mm
    if pitch is not None and not 5 <= pitch <= 200:
        raise UsageError(f"--cell-pitch-mm must be between 5 and 200 mm, got {pitch:g}")
    analysis = analyze_file(args.file, config, load_calibration(args), cell_pitch_mm=pitch)
    if analysis.info.get("damaged_file"):
        print(f"legpress: note: {args.file}: {analysis.info['file_note']}", file=sys.stderr)
    out = sys.stdout
    for line in analysis.lines():
        out.write(json.dumps(line) + "\n")
    out.flush()
    for note in analysis.notes():  # after the lines: they may speak of them
        print(f"legpress: note: {args.file}: {note}", file=sys.stderr)
    if args.summary:
        counts: dict[str, int] = {}
        for e in analysis.events:
            counts[e.type] = counts.get(e.type, 0) + 1
        alerts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no alerts"
        info = analysis.info
        print(
            f"{args.file}: {info['samples']} samples over {info['duration_s']:.1f} s, "
            f"{len(analysis.reps)} reps, {alerts}"
            + (f", {info['lost_packets']} packets lost" if info.get("lost_packets") else ""),
            file=sys.stderr,
        )
    if args.store:
        from legpress.cli.monitor import ensure_machine

        machine = (args.machine or "").strip() or analysis.machine
        with SessionStore(args.db) as store:
            store.ensure_person(args.person)
            if machine:
                ensure_machine(store, machine)
            now = now_utc()
            # A recording says when it was made: the session is dated then, not today.
            started, ended = _recorded_times(header, float(analysis.info["duration_s"]))
            sid = store.save_session(
                replace(
                    analysis.session,
                    person=Person(args.person) if args.person else None,
                    machine=Machine(machine) if machine else None,
                    started_at=started or now,
                    ended_at=ended or now,
                )
            )
        on = f" on {machine}" if machine else ""
        print(f"stored as session {sid}{on}", file=sys.stderr)
    return 0


def _header(path: Path) -> Mapping[str, Any]:
    """A recording's header (empty for a CSV, or a recording whose header cannot be read:
    analyze_file says what is wrong with it)."""
    from legpress.errors import RecordingError
    from legpress.storage.recording import RecordingReader, is_recording

    if not is_recording(path):
        return {}
    try:
        return RecordingReader(path).header
    except RecordingError:
        return {}


def _recorded_person(header: Mapping[str, Any]) -> str:
    """The person a recording's header names ("" for a CSV, or a recording that names none)."""
    person = header.get("person")
    return person.strip() if isinstance(person, str) else ""


def _recorded_times(header: Mapping[str, Any], duration_s: float) -> tuple[str | None, str | None]:
    """When a recording began (its header's ``created``) and ended (that plus its
    duration), as sessions keep times; None and None for a CSV or a header without a time."""
    created = header.get("created")
    if not isinstance(created, str):
        return None, None
    try:
        start = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None, None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    start = start.astimezone(UTC)
    end = start + timedelta(seconds=max(0.0, duration_s))
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")
