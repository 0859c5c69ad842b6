"""``legpress sessions``: list, show, export, import and delete stored sessions.

Also the helpers the other session-store commands share (``--db``, opening the store, plain
text tables).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from legpress.cli.exitcodes import epilog as exit_codes_epilog
from legpress.errors import ConfigError, FileError, UsageError
from legpress.session import clock, counts_text, summary_figures
from legpress.storage.store import SessionStore

_EPILOG = """\
The database is one SQLite file: --db PATH, else $LEGPRESS_DB, else
$XDG_DATA_HOME/legpress/legpress.db (~/.local/share/legpress/legpress.db).

""" + exit_codes_epilog(0, 2, 6, 7, 8, 9)


# -- shared helpers ----------------------------------------------------------------------------


def wrap(text: str) -> str:
    """A description paragraph wrapped for the terminal (the help keeps our line breaks)."""
    return textwrap.fill(" ".join(text.split()), 79)


def db_parent() -> argparse.ArgumentParser:
    """A parent parser with the ``--db`` option (add it to every leaf command)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        default=None,
        help="the session database (default: $LEGPRESS_DB, else "
        "$XDG_DATA_HOME/legpress/legpress.db or ~/.local/share/legpress/legpress.db)",
    )
    return p


def open_store(
    args: argparse.Namespace, *, readonly: bool = False, existing: bool = False
) -> SessionStore:
    """The store named by ``--db`` (or the default); ``readonly`` for the commands that only
    read, so they never create a database and work on a read-only one; ``existing`` for those
    that change what it holds (a missing database is an error, not a new empty one)."""
    return SessionStore(getattr(args, "db", None), readonly=readonly, create=not existing)


def leaf(
    sub: Any, name: str, epilog: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    """A store command: ``--db``, the help line, the description (wrapped) and the exit-code
    epilog."""
    return sub.add_parser(  # type: ignore[no-any-return]
        name,
        parents=[db_parent()],
        help=help_text,
        description=wrap(description),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def session_id(text: str) -> int:
    """An argparse ``type`` for a session ID (a whole number, 1 or more)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a session ID is a number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a session ID is 1 or more, got {value}")
    return value


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns aligned with two spaces between them; ``right`` columns right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def fmt(value: Any, digits: int = 0, unit: str = "") -> str:
    """A number for a terminal table (``-`` when unknown)."""
    if value is None or isinstance(value, bool):
        return "-"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "-"
    if f != f:
        return "-"
    return f"{f:.{digits}f}{' ' + unit if unit else ''}"


def local_time(iso: str | None) -> str:
    """``2025-03-03 10:30`` in local time."""
    from datetime import datetime

    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# -- commands ----------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        rows = store.list_sessions(args.person)
    if args.json:
        print_json([r.to_dict() for r in rows])
        return 0
    if not rows:
        who = f" for {args.person}" if args.person else ""
        print(f"No sessions{who} yet.")
        return 0
    table = [
        [
            str(r.id),
            local_time(r.started_at),
            r.person or "-",
            r.machine or "-",
            str(r.reps),
            str(r.sets),
            fmt(r.max_depth_mm, 0),
            fmt(r.rom_limit_mm, 0),
            str(r.lift_offs),
            str(r.rom_exceeded),
            str(r.form_events),
            "" if r.status == "ended" else r.status,
        ]
        for r in rows
    ]
    print(
        text_table(
            [
                "ID",
                "Started",
                "Person",
                "Machine",
                "Reps",
                "Sets",
                "Deepest mm",
                "Limit mm",
                "Back lifted",
                "Past limit",
                "Form",
                "Status",
            ],
            table,
            right={0, 4, 5, 6, 7, 8, 9, 10},
        )
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        s = store.get_session(args.id)
    if args.json:
        print_json(s.to_dict())
        return 0
    st = s.stats
    limit = s.rom_limit_mm
    status = {
        "ended": "",
        "running": " (running: not ended yet)",
        "interrupted": " (interrupted: the program recording it stopped before it ended)",
    }[s.status]
    out = [
        f"Session {s.id}: {s.person.name if s.person else 'anonymous'}, "
        f"{local_time(s.started_at)}{status}",
    ]
    if s.machine:
        out.append(f"Machine:   {s.machine.name} ({s.machine.kind})")
    if s.device_name or s.device_url:
        out.append(f"Device:    {' '.join(x for x in (s.device_name, s.device_url) if x)}")
    if s.notes.strip():
        lines = s.notes.strip().splitlines()
        out.append(f"Notes:     {lines[0]}")
        out.extend(f"           {line}" for line in lines[1:])
    if s.recording_path:
        exists = Path(s.recording_path).exists()
        out.append(f"Recording: {s.recording_path}{'' if exists else '  (missing)'}")
    out.append(f"ROM limit: {fmt(limit, 0, 'mm') if limit is not None else 'none'}")
    out.append(f"Reps:      {counts_text(s)}")
    if st.reps:
        out.append(
            f"Deepest {fmt(st.max_depth_mm, 0, 'mm')}; mean lowering "
            f"{fmt(st.mean_lowering_s, 1, 's')}, pushing {fmt(st.mean_pushing_s, 1, 's')}"
        )
    kept = summary_figures(s.summary)
    if kept:
        pairs = (f"{k.replace('_', ' ').replace('.', ' ')} {_value(v)}" for k, v in kept)
        out.append("Summary:   " + "; ".join(pairs))
    if s.reps:
        rows = []
        for r in s.reps:
            flags = [e.phrase for e in dict.fromkeys(r.events) if e.marks_rep]
            contact = r.lumbar_contact_min
            rows.append(
                [
                    str(r.set + 1),
                    str(r.index + 1),
                    fmt(r.depth_mm, 0),
                    fmt(r.lowering_s, 2),
                    fmt(r.pushing_s, 2),
                    fmt(None if contact is None else contact * 100),
                    ", ".join(flags),
                ]
            )
        out.append("")
        out.append(
            text_table(
                ["Set", "Rep", "Depth mm", "Lowering s", "Pushing s", "Low back %", "Flags"],
                rows,
                right={0, 1, 2, 3, 4, 5},
            )
        )
        out.append(
            "Low back %: the lowest lower-back position of each rep, the quantity lift-off is "
            "decided on. " + s.detector_config.lift_off_rule()
        )
    if s.events:
        out.append("")
        out.append("Alerts:")
        partial = s.partial_rep
        for e in s.events:
            which = f"rep {e.rep + 1}" + (
                " (partial)" if partial is not None and e.rep == partial.index else ""
            )
            out.append(f"  {clock(e.t_s, 1)}  {which:<7} {e.message}")
    print("\n".join(out))
    return 0


def _value(value: Any) -> str:
    """A summary value as plain text (numbers as they are, lists comma-separated)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "none"
    return "-" if value is None else str(value)


def _export(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        if args.output is None or str(args.output) == "-":
            store.export_session(args.id, args.format, sys.stdout)
        else:
            store.export_session(args.id, args.format, args.output)
            print(args.output)
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if str(args.file) == "-" else Path(args.file).read_text("utf-8")
        data = json.loads(text)
    # A file that cannot be read as an export is exit 6, as a recording or a CSV (README).
    except FileNotFoundError:
        raise FileError(f"no such file: {args.file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"cannot read {args.file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FileError(
            f"{args.file} is not JSON ({exc.msg} at line {exc.lineno}), or was cut short; "
            "export sessions with `legpress sessions export ID --format json`"
        ) from None
    if not isinstance(data, dict):
        raise FileError(f"{args.file} is not a legpress session export")
    with open_store(args) as store:
        try:
            sid = store.import_session(data)
        except ConfigError as exc:  # the file, not an option, is wrong: exit 6, as above
            raise FileError(f"{args.file} cannot be imported: {exc}") from None
    print(sid)
    return 0


def _note(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        now = store.get_session(args.id).notes
        text = args.text
        if args.append and now.strip():
            text = f"{now.rstrip()}\n{text}"
        store.set_session_notes(args.id, text)
    print(f"Session {args.id}: " + ("notes cleared." if not text.strip() else "notes saved."))
    return 0


def _delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError(
            f"deleting session {args.id} cannot be undone: add --yes to confirm "
            "(its recording file is kept)"
        )
    with open_store(args, existing=True) as store:
        store.delete_session(args.id)
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress sessions`` to the command line."""
    p = subparsers.add_parser(
        "sessions",
        help="list, show and export recorded sessions",
        description=wrap(
            "Sessions stored in the session database: what was done, by whom, with "
            "every rep and alert."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="sessions_command", metavar="COMMAND")
    # Bare `legpress sessions` lists them, as `legpress sessions list` does.
    p.set_defaults(func=_list, person=None, json=False, db=None)
    p.add_argument("--db", metavar="PATH", type=Path, default=None, help=argparse.SUPPRESS)

    ls = leaf(
        sub,
        "list",
        _EPILOG,
        "one line per session, oldest first",
        "One line per session, oldest first, with its totals.",
    )
    ls.add_argument("--person", metavar="NAME", help="only this person's sessions")
    ls.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ls.set_defaults(func=_list)

    show = leaf(
        sub,
        "show",
        _EPILOG,
        "one session: settings, totals, reps and alerts",
        "One session: its settings, totals, every rep and every alert.",
    )
    show.add_argument("id", type=session_id, metavar="ID", help="the session (see `list`)")
    show.add_argument("--json", action="store_true", help="print everything as one JSON object")
    show.set_defaults(func=_show)

    ex = leaf(
        sub,
        "export",
        _EPILOG,
        "write a session as CSV (one row per rep) or JSON (everything)",
        "Write a session as CSV (one row per rep, for spreadsheets) or JSON "
        "(everything, readable by `legpress sessions import`).",
    )
    ex.add_argument("id", type=session_id, metavar="ID", help="the session (see `list`)")
    ex.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    ex.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write here (default: standard output)"
    )
    ex.set_defaults(func=_export)

    im = leaf(
        sub,
        "import",
        _EPILOG,
        "add a session exported as JSON (e.g. from another computer)",
        "Add a session exported with `legpress sessions export ID --format json`. "
        "The person and machine are matched by name and added if missing. Prints the new ID. "
        "A session already there (the same export imported before) is refused (exit 9).",
    )
    im.add_argument("file", metavar="FILE", help="the JSON export (- for standard input)")
    im.set_defaults(func=_import)

    nt = leaf(
        sub,
        "note",
        _EPILOG,
        "keep notes with a session (shown by `show` and in its report)",
        "Keep free-text notes with a session, e.g. what the therapist observed; they are "
        "shown by `legpress sessions show` and in the session report. TEXT replaces the "
        'notes ("" clears them); --append adds a line.',
    )
    nt.add_argument("id", type=session_id, metavar="ID", help="the session (see `list`)")
    nt.add_argument("text", metavar="TEXT", help="the notes")
    nt.add_argument("--append", action="store_true", help="add TEXT as a new line")
    nt.set_defaults(func=_note)

    rm = leaf(
        sub,
        "delete",
        _EPILOG,
        "delete a session and its reps and alerts",
        "Delete a session with its reps and alerts. Its recording file is kept.",
    )
    rm.add_argument("id", type=session_id, metavar="ID", help="the session (see `list`)")
    rm.add_argument("--yes", action="store_true", help="really delete it")
    rm.set_defaults(func=_delete)
