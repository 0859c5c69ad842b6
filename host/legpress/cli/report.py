"""``legpress report``: an HTML report of one session, or of one person's progress."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from legpress.cli.exitcodes import epilog as exit_codes_epilog
from legpress.cli.sessions import db_parent, open_store, session_id, wrap
from legpress.dsp.calibration import CalibratedBlock
from legpress.errors import FileError, UsageError
from legpress.report.series import load_series

_EPILOG = """\
examples:
  legpress report 12                         # session 12 -> session-12.html
  legpress report 12 -o ana-week3.html
  legpress report --person Ana --progress    # -> progress-ana.html

The file is self-contained (styles and charts inside): e-mail it or print it.
Charts need matplotlib: pip install 'legpress[report]'.

""" + exit_codes_epilog(0, 2, 6, 7, 8, 10)


def _slug(name: str) -> str:
    """A person's name as part of a file name: letters and digits of any script, lower-cased,
    the rest one ``-`` (``Zoë Müller`` -> ``zoë-müller``, ``Мария`` -> ``мария``), so two
    people's default reports never share a file."""
    return re.sub(r"[\W_]+", "-", name.casefold()).strip("-") or "person"


def _run(args: argparse.Namespace) -> int:
    from legpress.report import (
        render_progress_report,
        render_session_report,
        require_matplotlib,
    )

    if args.progress and args.session is not None:
        raise UsageError("give a session ID or --person NAME --progress, not both")
    if args.progress and not args.person:
        raise UsageError("--progress needs --person NAME")
    if args.person and not args.progress:
        raise UsageError(
            "a person's report is a progress report: add --progress "
            "(or give a session ID; see `legpress sessions list --person NAME`)"
        )
    if args.session is None and not args.progress:
        raise UsageError(
            "give a session ID (see `legpress sessions list`) or --person NAME --progress"
        )
    require_matplotlib()
    with open_store(args, readonly=True) as store:
        if args.progress:
            person = store.get_person(args.person)
            rows = store.list_sessions(person.name)
            out = args.output or Path(f"progress-{_slug(person.name)}.html")
            written = render_progress_report(person, rows, out)
        else:
            session = store.get_session(args.session)
            series: CalibratedBlock | None = None
            problem = ""
            if not args.no_recording:
                series, why = load_series(session, args.recording)
                if series is None and args.recording is not None:
                    # The file asked for by name cannot be drawn: that is an error, not a
                    # report quietly without the time course that was asked for.
                    raise FileError(
                        f"--recording {args.recording}: {why[:1].lower() + why[1:]}; give this "
                        "session's recording, or leave --recording out"
                    )
                if series is None:
                    problem = why
                    if session.recording_path:
                        reason = why[:1].lower() + why[1:]
                        print(
                            f"legpress: {reason}; the report has no time course", file=sys.stderr
                        )
            else:
                problem = "The recording was left out of this report"
            out = args.output or Path(f"session-{session.id}.html")
            written = render_session_report(session, series, out, problem)
    print(written)
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress report`` to the command line."""
    p = subparsers.add_parser(
        "report",
        parents=[db_parent()],
        help="write an HTML report of a session or of a person's progress",
        description=wrap(
            "Write a self-contained HTML report: one session (summary, depth per rep "
            "against the limit, what the lift-off rule saw over time, tempo, every rep and "
            "alert, the settings used), or one person's progress across sessions."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("session", nargs="?", type=session_id, metavar="SESSION_ID", help="the session")
    p.add_argument("--person", metavar="NAME", help="with --progress: whose progress")
    p.add_argument(
        "--progress", action="store_true", help="a progress report across the person's sessions"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        help="the HTML file (default: session-ID.html or progress-NAME.html here)",
    )
    p.add_argument(
        "--recording",
        metavar="FILE",
        type=Path,
        help="read the samples from this recording (if it was moved)",
    )
    p.add_argument(
        "--no-recording",
        action="store_true",
        help="do not read the recording (no time course; faster)",
    )
    p.set_defaults(func=_run)
