"""``legpress calibrate``: the guided set-up of a machine and a person.

1. Tare the pad (nobody on it).
2. Zero the sled at the top (the person seated, knees slightly bent).
3. Slow calibration reps, each down to where the lower back starts to lift, and back.

The device keeps its tare and zero; the counts per millimetre and tare go to a calibration file;
the person's lift-off depth, the limit learned from it (minus a margin) and their floor (the
lower-back share their back keeps once off the pad, which the detector needs before a session
shows its own) go to their profile in the session database, where a therapist's limit
(``legpress people set-limit``) wins over the learned one. Every calibration is also added to
the person's calibration history: a recalibration never erases the one before.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from legpress.cli._common import (
    add_calibration_argument,
    add_url_argument,
    device_options,
    load_calibration,
    resolve_machine,
    run,
)
from legpress.cli.people import add_person_options, check_person
from legpress.detect import Rep, learn_profile
from legpress.detect.config import PROFILE_BIN_MM, shares_depth_mm
from legpress.dsp.calibration import Calibration, CalibrationFile, tare_check
from legpress.errors import CommandError, MeasurementError, UsageError
from legpress.live import LiveSession
from legpress.session import calibration_result


def register(subparsers: Any) -> None:
    """Add ``calibrate``."""
    p = subparsers.add_parser(
        "calibrate",
        help="guided set-up: tare, zero, slow reps that learn a person's limit",
        description="Tare the back pad, zero the sled at the top, then record slow "
        "calibration reps to learn where this person's lower back starts to leave the pad. "
        "Stores the person's profile (lift-off depth, learned limit) in the session database.",
    )
    add_url_argument(p, machine=True)
    add_person_options(p, "whose profile to learn (required unless --measure-counts)")
    p.add_argument("--reps", type=int, default=3, help="calibration reps (default 3)")
    p.add_argument(
        "--margin-mm",
        type=float,
        default=20.0,
        help="the learned limit stops this far before the lift-off depth (default 20)",
    )
    p.add_argument(
        "--timeout", type=float, default=180.0, metavar="S", help="give up after S seconds"
    )
    p.add_argument("--db", type=Path, metavar="PATH", help="session database")
    add_calibration_argument(p)
    p.add_argument(
        "--save-calibration",
        type=Path,
        metavar="FILE",
        help="write the machine calibration (counts per mm, tare) to this file",
    )
    p.add_argument(
        "--yes", action="store_true", help="do not wait for Enter between steps (scripts)"
    )
    p.add_argument(
        "--measure-counts",
        action="store_true",
        help="instead: measure the sled's counts per mm with a tape measure (3 times between "
        "two marked positions A and B; hardware/calibration.md step 5) and save it (with "
        "--machine, on the machine: its sessions and the hub use it)",
    )
    p.set_defaults(func=cmd_calibrate)


def _step(args: argparse.Namespace, text: str) -> None:
    print(text, file=sys.stderr)
    if args.yes or not sys.stdin.isatty():
        return
    try:
        input("  press Enter when ready (Ctrl-C to stop) ")
    except EOFError:
        return


async def _prepare(args: argparse.Namespace, counts_per_mm: float | None) -> Calibration:
    """Tare and zero on the device; returns the calibration to use (``counts_per_mm``: the
    machine's measured figure, over the device's own)."""
    from legpress.device import open_device

    cal = load_calibration(args)
    async with open_device(args.url, autostart=False, **device_options(args)) as dev:
        if cal is None:
            cal = dev.calibration()
            if counts_per_mm:
                cal = replace(cal, counts_per_mm=counts_per_mm, source="measured")
        _step(args, "Step 1/3: nobody on the back pad. The pad will be tared.")
        try:
            tare = await dev.tare()
            cal = cal.with_tare(tare)
            print(f"  tared: {list(tare)}", file=sys.stderr)
            if warning := tare_check(tare):
                print(f"  warning: {warning}", file=sys.stderr)
        except (CommandError, UsageError) as exc:
            print(f"  tare skipped: {exc}", file=sys.stderr)
        _step(args, "Step 2/3: sit down, sled at the top, knees slightly bent (not locked).")
        try:
            before = await dev.zero()
            print(f"  zeroed (the sled was at {before} counts)", file=sys.stderr)
        except (CommandError, UsageError) as exc:
            print(f"  zero skipped: {exc}", file=sys.stderr)
        cpm = dev.info.counts_per_mm
        if cpm is None:
            print(
                f"  the device does not know its counts per mm; using {cal.counts_per_mm:g}. "
                "Check it with a tape measure (hardware/calibration.md).",
                file=sys.stderr,
            )
    return cal


def _position_now(dev: Any, samples: int = 20) -> int:
    """The median sled position (counts) over the next ``samples`` samples."""
    from legpress.protocol.decoder import SampleBlock

    got: list[int] = []
    while len(got) < samples:
        items = dev.read(2.0)
        if not items and dev.ended:
            raise MeasurementError("the stream ended before the position could be read")
        for item in items:
            if isinstance(item, SampleBlock):
                got += [int(x) for x in item.position]
    got.sort()
    return got[len(got) // 2]


def _ask_mm(prompt: str) -> float:
    while True:
        text = input(prompt).strip().replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            print(f"  {text!r} is not a number of millimetres; try again", file=sys.stderr)
            continue
        if 50 <= value <= 2000:
            return value
        print("  measure at least 50 mm (better 300 mm or more); try again", file=sys.stderr)


def measure_counts(args: argparse.Namespace) -> float:
    """Tape-measure counts per mm: |counts_B - counts_A| / mm, three times; returns the mean."""
    from legpress.device import open_blocking

    results: list[float] = []
    with open_blocking(args.url, **device_options(args)) as dev:
        for attempt in range(1, 4):
            input(f"[{attempt}/3] sled at mark A (start position); press Enter ")
            a = _position_now(dev)
            input(f"[{attempt}/3] sled at mark B (>= 300 mm away), held still; press Enter ")
            b = _position_now(dev)
            mm = _ask_mm(f"[{attempt}/3] distance A-B along the rail in mm: ")
            if a == b:
                raise MeasurementError(
                    "the position did not change between A and B: check the encoder wiring "
                    "(hardware/README.md troubleshooting)"
                )
            results.append(abs(b - a) / mm)
            print(
                f"  {abs(b - a)} counts over {mm:g} mm = {results[-1]:.3f} counts/mm",
                file=sys.stderr,
            )
    mean = sum(results) / len(results)
    spread = (max(results) - min(results)) / mean
    print(f"counts per mm: {mean:.3f} (spread {spread:.2%})", file=sys.stderr)
    if spread > 0.005:
        print(
            "  the three results differ by more than 0.5 %: measure again more carefully",
            file=sys.stderr,
        )
    return mean


def cmd_calibrate(args: argparse.Namespace) -> int:
    """The guided flow; exit 0 when a profile was stored."""
    from legpress.storage.store import SessionStore

    machine = resolve_machine(args)
    if args.measure_counts:
        target = args.save_calibration or args.calibration
        if target is None and machine is None:
            raise UsageError(
                "--measure-counts needs --machine NAME or --save-calibration FILE to keep the "
                "result"
            )
        cpm = measure_counts(args)
        if machine is not None:
            with SessionStore(args.db) as store:
                store.set_machine_counts(machine.name, cpm)
            print(f"saved on machine {machine.name!r}", file=sys.stderr)
        if target is not None:
            base = load_calibration(args) or Calibration()
            CalibrationFile(target, replace(base, counts_per_mm=cpm, source="measured")).save()
            print(f"saved to {target}; use it with --calibration {target}", file=sys.stderr)
        return 0
    if not args.person:
        raise UsageError("--person is required: whose limit is being learned?")
    if not 1 <= args.reps <= 20:
        raise UsageError("--reps must be between 1 and 20")
    if not 0 <= args.margin_mm < 200:
        raise UsageError("--margin-mm must be between 0 and 200")
    with SessionStore(args.db) as store:  # a typo must not make a new person (nor waste reps)
        check_person(store, args.person, args.new_person)
    cal = run(_prepare(args, machine.counts_per_mm if machine is not None else None))
    if args.save_calibration:
        CalibrationFile(args.save_calibration, cal).save()
        print(f"  calibration written to {args.save_calibration}", file=sys.stderr)
    _step(
        args,
        f"Step 3/3: {args.reps} slow reps (about 3 s down): go down until you feel the lower "
        "back start to leave the pad, then push back up.",
    )
    reps: list[Rep] = []
    from legpress.storage.store import CalibrationRecord

    with SessionStore(args.db) as store:
        store.ensure_person(args.person)
        before = store.get_profile(args.person, machine.name if machine is not None else None)
    # What an earlier calibration (on this machine, if any) learned helps this one see the
    # lift-off; no ROM alerts while the person is asked to go down to where the back lifts.
    config = replace(before.detector_config(), rom_limit_mm=None)

    def on_rep(rep: Rep) -> None:
        reps.append(rep)
        lift = (
            f"lower back left the pad at {rep.lift_off_depth_mm:.0f} mm"
            if rep.lift_off and rep.lift_off_depth_mm is not None
            else "no lift-off"
        )
        print(f"  rep {len(reps)}: depth {rep.depth_mm:.0f} mm, {lift}", file=sys.stderr)
        if len(reps) >= args.reps:
            session.stop()

    session = LiveSession(
        args.url,
        config=config,
        calibration=cal,
        person=args.person,
        machine=machine.name if machine is not None else "",
        on_rep=on_rep,
        device_options=device_options(args),
    )
    started = time.monotonic()
    run(session.run(duration_s=args.timeout))
    if len(reps) < args.reps:
        elapsed = time.monotonic() - started
        if elapsed < args.timeout - 1.0:  # the stream ran out before the time did
            raise MeasurementError(
                f"only {len(reps)} of {args.reps} calibration reps were seen before the stream "
                f"from {args.url} ended after {session.result.samples} samples: a "
                f"recording or simulation to calibrate from must hold {args.reps} slow reps"
            )
        raise MeasurementError(
            f"only {len(reps)} of {args.reps} calibration reps were seen in {args.timeout:g} s; "
            "run `legpress calibrate` again and go a little deeper each rep"
        )
    pipeline = session.pipeline
    floors = list(pipeline.analyzer.floors) if pipeline is not None else []
    used = reps[: args.reps]
    shares = list(pipeline.analyzer.rep_shares)[-len(used) :] if pipeline is not None else []
    learned = learn_profile(
        args.person,
        used,
        margin_mm=args.margin_mm,
        floors=floors,
        shares=shares,
        bin_mm=config.reference_bin_mm,
    )
    record = CalibrationRecord.learned(
        learned, used, floors, machine=machine.name if machine is not None else ""
    )
    with SessionStore(args.db) as store:
        profile = store.add_calibration(record).profile
        history = len(store.calibrations(args.person))
    print(f"{args.person}: {calibration_result(profile)}", file=sys.stderr)
    if profile.lift_off_depth_mm is None:
        print(
            "  If a coach watching saw the lower back stay on the pad, a therapist may set a "
            f"deeper limit: legpress people set-limit {shlex.quote(args.person)} MM",
            file=sys.stderr,
        )
    if profile.lift_off_floor is not None:
        print(
            f"  their lower back keeps {profile.lift_off_floor:.0%} of its share of the load "
            "once off the pad (the detector's floor for them)",
            file=sys.stderr,
        )
    clean_mm = shares_depth_mm(profile.clean_share_by_depth, PROFILE_BIN_MM)
    if clean_mm is not None:
        print(
            "  their lower back's share of the load on clean movement learned down to "
            f"{clean_mm:.0f} mm (their first reps are compared with it)",
            file=sys.stderr,
        )
    if profile.rom_limit_mm is not None:
        print(
            f"  the therapist's limit of {profile.rom_limit_mm:.0f} mm stays in force",
            file=sys.stderr,
        )
    if history > 1:
        print(
            f"  calibration {history} of {args.person}; the earlier ones are kept",
            file=sys.stderr,
        )
    return 0
