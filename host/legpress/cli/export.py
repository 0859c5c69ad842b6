"""``legpress export``: a recording's decoded samples as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from legpress.cli._common import add_calibration_argument, load_calibration


def _run(args: argparse.Namespace) -> int:
    from legpress.storage.csvio import export_recording_csv
    from legpress.storage.recording import read_recording

    rec = read_recording(args.recording)
    rows = export_recording_csv(rec.path, args.csv, load_calibration(args))
    if rec.stats.damaged:
        print(f"legpress: note: {args.recording}: {rec.stats.describe()}", file=sys.stderr)
    where = "standard output" if args.csv == "-" else args.csv
    print(f"wrote {rows} samples to {where}", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress export`` to the command line."""
    p = subparsers.add_parser(
        "export",
        help="write a recording's samples as CSV",
        description="Decode a recording and write one CSV row per sample: t_s, t_host_s, "
        "position_counts, depth_mm, cell0..cellK-1 (raw ADC counts, seat upward), flags. "
        "depth_mm uses --calibration, else the recording's calibration, else the device's.",
    )
    p.add_argument("recording", metavar="FILE", type=Path, help="the recording (.lprec)")
    p.add_argument(
        "--csv", metavar="OUT", required=True, help="the CSV file to write ('-' for stdout)"
    )
    add_calibration_argument(p)
    p.set_defaults(func=_run)
