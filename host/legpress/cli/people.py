"""``legpress people``: the people who train and their ROM limits."""

from __future__ import annotations

import argparse
from typing import Any

from legpress.cli.sessions import (
    db_parent,
    fmt,
    local_time,
    open_store,
    print_json,
    text_table,
    wrap,
)

_EPILOG = """\
A person's ROM limit is the deepest sled travel (mm from the top) before legpress
warns. A limit set here by a therapist wins over one learned by `legpress calibrate`.

Exit codes: 0 ok, 2 usage or invalid value, 7 database unusable, 8 no such person,
9 already exists.
"""


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


def _set_limit(args: argparse.Namespace) -> int:
    with open_store(args) as store:
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


def _positive_mm(text: str) -> float:
    value = _limit(text)
    if value is None:
        raise argparse.ArgumentTypeError("give a number of millimetres")
    return value


def register(subparsers: Any) -> None:
    """Add ``legpress people`` to the command line."""
    db = db_parent()
    p = subparsers.add_parser(
        "people",
        help="add people and set their ROM limits",
        description=wrap("The people who train, with their per-person ROM limits."),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="people_command", metavar="COMMAND", required=True)

    add = sub.add_parser(
        "add",
        parents=[db],
        help="add a person",
        description=wrap("Add a person (names are unique, case-insensitive; a code works too)."),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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

    ls = sub.add_parser(
        "list",
        parents=[db],
        help="everybody and their limits",
        description=wrap("Everybody, with the limit in force and where it comes from."),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ls.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ls.set_defaults(func=_list)

    sl = sub.add_parser(
        "set-limit",
        parents=[db],
        help="set or clear a person's ROM limit",
        description=wrap(
            "Set a person's ROM limit in mm of sled travel from the top; 'none' "
            "clears it (a learned limit then applies, if any)."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sl.add_argument("name", metavar="NAME")
    sl.add_argument("mm", type=_limit, metavar="MM", help="millimetres, or 'none' to clear")
    sl.set_defaults(func=_set_limit)
