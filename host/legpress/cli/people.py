"""``legpress people``: the people who train and their ROM limits."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from legpress.cli.exitcodes import epilog as exit_codes_epilog
from legpress.cli.sessions import (
    fmt,
    leaf,
    local_time,
    open_store,
    print_json,
    text_table,
    wrap,
)
from legpress.detect.config import PROFILE_BIN_MM, shares_depth_mm
from legpress.errors import NotFoundError, UsageError

_EPILOG = """\
A person's ROM limit is the deepest sled travel (mm from the top) before legpress
warns. A limit set here by a therapist wins over one learned by `legpress calibrate`.

""" + exit_codes_epilog(0, 2, 7, 8, 9)


def add_person_options(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--person NAME`` and ``--new-person`` (the commands that store a person's data)."""
    parser.add_argument("--person", metavar="NAME", help=help_text)
    parser.add_argument(
        "--new-person",
        action="store_true",
        help="--person is somebody new: add them (without it, an unknown name is an error, "
        "or a question on a terminal, so a typo never makes a new patient)",
    )


def confirm(question: str, yes: bool, what: str) -> None:
    """Go on only when confirmed: ``--yes``, or "y" to ``question`` on a terminal.

    Raises:
        UsageError: not confirmed (``what`` says how to confirm without a terminal).
    """
    if yes:
        return
    if not _interactive():
        raise UsageError(f"{what}: add --yes to confirm")
    if not _ask(question):
        raise UsageError("nothing changed (not confirmed)")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _ask(question: str) -> bool:
    """A yes/no question on the terminal; anything but "y" is no."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def check_person(store: Any, name: str, new_person: bool) -> None:
    """Make sure ``--person NAME`` means who it says: a stored person, or somebody new the user
    confirmed (``--new-person``, or "y" on a terminal). The caller adds them once there is
    something to store.

    Raises:
        NotFoundError: an unknown name, not confirmed as new.
    """
    try:
        store.get_person(name)
        return
    except NotFoundError:
        pass
    if new_person:
        return
    close = store.similar_people(name)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    if _interactive() and _ask(f"Nobody named {name!r} yet{hint}. Add {name!r} as a new person?"):
        return
    raise NotFoundError(
        f"no person named {name!r}{hint}: add them with `legpress people add "
        f"{shlex.quote(name)}` or pass --new-person"
    )


def _limit(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", "clear"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a limit is a number of millimetres (or 'none'), got {text!r}"
        ) from None


def _add(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        p = store.add_person(
            args.name, rom_limit_mm=args.rom_limit_mm, notes=args.notes, margin_mm=args.margin_mm
        )
    limit = f"ROM limit {fmt(p.rom_limit_mm, 0, 'mm')}" if p.rom_limit_mm else "no ROM limit yet"
    print(f"Added {p.name} ({limit}).")
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        people = store.list_people()
    if args.json:
        print_json([p.to_dict() for p in people])
        return 0
    if not people:
        print("Nobody yet: add someone with `legpress people add NAME --rom-limit-mm MM`.")
        return 0
    rows = []
    for p in people:
        prof = p.profile
        source = "therapist" if p.rom_limit_mm is not None else "learned"
        limit = prof.effective_limit_mm
        rows.append(
            [
                p.name,
                fmt(limit, 0) + (f" ({source})" if limit is not None else ""),
                fmt(p.lift_off_depth_mm, 0),
                local_time(p.created),
                p.notes,
            ]
        )
    print(text_table(["Name", "Limit mm", "Lift-off mm", "Added", "Notes"], rows, right=set()))
    return 0


def _calibrations(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        history = store.calibrations(args.name)
    from legpress.storage.store import where_in_force

    in_force = where_in_force(history)
    if args.json:
        hidden = ("person", "detail", "id")
        print_json(
            [
                {
                    **{k: v for k, v in asdict(c).items() if k not in hidden},
                    "machine": c.detail.get("machine") or None,
                    "in_force": where or None,
                }
                for c, where in zip(history, in_force, strict=True)
            ]
        )
        return 0
    if not history:
        print(f"{args.name} has no calibration yet: run `legpress calibrate URL --person NAME`.")
        return 0
    rows = [
        [
            local_time(c.at),
            f"{c.lift_off_reps} of {c.reps}",
            fmt(c.lift_off_depth_mm, 0),
            fmt(c.lift_off_floor, 2),
            fmt(c.max_depth_mm, 0),
            fmt(c.margin_mm, 0),
            fmt(shares_depth_mm(c.clean_share_by_depth, PROFILE_BIN_MM), 0),
            str(c.detail.get("machine") or "-"),
            where or "-",
        ]
        for c, where in zip(history, in_force, strict=True)
    ]
    heads = [
        "When",
        "Lifted",
        "Lift-off mm",
        "Floor",
        "Deepest mm",
        "Margin mm",
        "Clean to mm",
        "Machine",
        "In force",
    ]
    print(text_table(heads, rows, right=set(range(1, 7))))
    print(
        "On each machine the newest calibration made on it is in force, elsewhere the newest "
        "of all (legpress people list shows the limit the newest gives)."
    )
    return 0


def _set_limit(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        p = store.set_limit(args.name, args.mm)
    if p.rom_limit_mm is None:
        learned = p.profile.effective_limit_mm
        print(
            f"Cleared {p.name}'s ROM limit"
            + (f"; the learned {fmt(learned, 0, 'mm')} applies." if learned else ".")
        )
    else:
        print(f"{p.name}'s ROM limit is now {fmt(p.rom_limit_mm, 0, 'mm')}.")
    return 0


def _rename(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        p = store.rename_person(args.name, args.new_name)
    print(f"{args.name} is now {p.name} (sessions and limits kept).")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        person = store.get_person(args.name)
        n = store.count_sessions(person.name)
        sessions = f"{n} session{'' if n == 1 else 's'}"
        confirm(
            f"Delete {person.name} and their {sessions} (reps, alerts, notes; recording files "
            "are kept)? This cannot be undone.",
            args.yes,
            f"deleting {person.name} deletes their {sessions} too and cannot be undone",
        )
        gone = store.delete_person(person.name)
    print(f"Deleted {person.name} and {gone} session{'' if gone == 1 else 's'}.")
    return 0


def _merge(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        source, target = store.get_person(args.name), store.get_person(args.into)
        n = store.count_sessions(source.name)
        confirm(
            f"Move {source.name}'s {n} session(s) to {target.name} and remove {source.name}?",
            args.yes,
            f"merging {source.name} into {target.name} removes {source.name}",
        )
        p = store.merge_people(source.name, target.name)
    print(f"Merged {source.name} into {p.name}: {n} session(s) moved.")
    return 0


def _positive_mm(text: str) -> float:
    value = _limit(text)
    if value is None:
        raise argparse.ArgumentTypeError("give a number of millimetres")
    return value


def register(subparsers: Any) -> None:
    """Add ``legpress people`` to the command line."""
    p = subparsers.add_parser(
        "people",
        help="add people and set their ROM limits",
        description=wrap("The people who train, with their per-person ROM limits."),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="people_command", metavar="COMMAND")
    # Bare `legpress people` lists them, as `legpress people list` does.
    p.set_defaults(func=_list, json=False, db=None)
    p.add_argument("--db", metavar="PATH", type=Path, default=None, help=argparse.SUPPRESS)

    add = leaf(
        sub,
        "add",
        _EPILOG,
        "add a person",
        "Add a person (names are unique, case-insensitive; a code works too).",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--rom-limit-mm",
        type=_positive_mm,
        metavar="MM",
        help="deepest sled travel allowed, mm from the top",
    )
    add.add_argument("--notes", default="", help="free text, e.g. the reason for the limit")
    add.add_argument(
        "--margin-mm",
        type=float,
        default=20.0,
        metavar="MM",
        help="a learned limit stops this far before the lift-off depth (default 20)",
    )
    add.set_defaults(func=_add)

    ls = leaf(
        sub,
        "list",
        _EPILOG,
        "everybody and their limits",
        "Everybody, with the limit in force and where it comes from.",
    )
    ls.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ls.set_defaults(func=_list)

    cal = leaf(
        sub,
        "calibrations",
        _EPILOG,
        "a person's calibration history, oldest first",
        "Every calibration of a person (legpress calibrate): when, how many reps lifted off, "
        "the lift-off depth and floor it learned, its deepest rep and margin. A "
        "recalibration adds a row; the newest is in force.",
    )
    cal.add_argument("name", metavar="NAME")
    cal.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    cal.set_defaults(func=_calibrations)

    sl = leaf(
        sub,
        "set-limit",
        _EPILOG,
        "set or clear a person's ROM limit",
        "Set a person's ROM limit in mm of sled travel from the top; 'none' "
        "clears it (a learned limit then applies, if any).",
    )
    sl.add_argument("name", metavar="NAME")
    sl.add_argument("mm", type=_limit, metavar="MM", help="millimetres, or 'none' to clear")
    sl.set_defaults(func=_set_limit)

    rn = leaf(
        sub,
        "rename",
        _EPILOG,
        "give a person another name (sessions and limits kept)",
        "Give a person another name; their sessions and limits stay theirs. To make two "
        "entries one person, use `legpress people merge`.",
    )
    rn.add_argument("name", metavar="NAME")
    rn.add_argument("new_name", metavar="NEW_NAME")
    rn.set_defaults(func=_rename)

    rm = leaf(
        sub,
        "delete",
        _EPILOG,
        "delete a person and all their sessions",
        "Delete a person with every session of theirs (reps, alerts, notes; the recording "
        "files are kept). Asks first on a terminal; elsewhere needs --yes.",
    )
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--yes", action="store_true", help="do not ask")
    rm.set_defaults(func=_delete)

    mg = leaf(
        sub,
        "merge",
        _EPILOG,
        "make two entries one person (e.g. a typo)",
        "Move NAME's sessions to INTO and remove NAME. INTO keeps its limits; a limit or "
        "calibration it lacks is taken from NAME, and different notes are joined. Asks "
        "first on a terminal; elsewhere needs --yes.",
    )
    mg.add_argument("name", metavar="NAME", help="the entry to remove")
    mg.add_argument("into", metavar="INTO", help="the person who keeps everything")
    mg.add_argument("--yes", action="store_true", help="do not ask")
    mg.set_defaults(func=_merge)
