"""``legpress machines``: the site's leg presses, each a name bound to its device.

``monitor``, ``record``, ``calibrate`` and ``serve`` take ``--machine NAME`` and find the
device (and the machine's default person) here; every session keeps the machine's name.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, Final

from legpress.cli.exitcodes import epilog as exit_codes_epilog
from legpress.cli.sessions import db_parent, fmt, open_store, print_json, text_table, wrap
from legpress.errors import UsageError
from legpress.protocol.messages import NAME_MAX
from legpress.session import MACHINE_KINDS, Machine

_EPILOG = """\
DEVICE is a device URL (ble:NAME-or-ADDRESS, serial:PORT, sim:OPTIONS, replay:FILE), or a
Bluetooth address (C4:DE:E2:11:3A:7F) or advertised name (LegPress-3A7F) on its own;
`legpress scan` lists the boards in range.

A session keeps the machine's name as it was when it was trained: renaming or removing a
machine changes no stored session (the recordings say the same).

""" + exit_codes_epilog(0, 2, 7, 8, 9)

_MAC: Final = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")
_UUID: Final = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")  # macOS
_SCHEMES: Final = ("ble", "serial", "sim", "replay")


def device_url(text: str) -> str:
    """The device URL a machine is bound to, from what a person typed: a URL, a Bluetooth
    address, or an advertised name. Checked as far as can be without the device: the scheme
    and its options, a ``replay:`` file that exists (made absolute, so the hub finds it from
    anywhere).

    Raises:
        UsageError: not a device, or one that cannot identify one machine (bare ``ble:``).
    """
    text = text.strip()
    if not text:
        raise UsageError("give the machine's device: a URL, a Bluetooth address or a name")
    if _MAC.match(text):
        return "ble:" + text.upper().replace("-", ":")
    if _UUID.match(text):
        return "ble:" + text.upper()
    scheme, colon, rest = text.partition(":")
    if colon and scheme.strip().lower() in _SCHEMES:
        return _checked_url(scheme.strip().lower(), rest, text)
    if text.startswith("/dev/") or re.fullmatch(r"(?i)COM\d+", text):
        raise UsageError(f"{text!r} looks like a serial port: use serial:{text}")
    if text.lower().endswith(".lprec"):
        raise UsageError(f"{text!r} looks like a recording: use replay:{text}")
    if colon or "/" in text or "\\" in text:
        raise UsageError(
            f"{text!r} is not a device: use ble:NAME-or-ADDRESS, serial:PORT, sim:OPTIONS or "
            "replay:FILE, a Bluetooth address (C4:DE:E2:11:3A:7F) or an advertised name"
        )
    return "ble:" + _advertised_name(text)


def _advertised_name(name: str) -> str:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise UsageError("an advertised name has no control characters")
    if "?" in name or "&" in name:
        raise UsageError(f"{name!r}: an advertised name cannot hold '?' or '&'")
    if len(name.encode()) > NAME_MAX:
        raise UsageError(
            f"{name!r} is longer than a leg press's advertised name ({NAME_MAX} bytes at most)"
        )
    return name


def _checked_url(scheme: str, rest: str, text: str) -> str:
    from legpress.transport import make_link

    if scheme == "ble":
        target = rest.partition("?")[0].strip()
        if not target:
            raise UsageError(
                "ble: alone connects to whichever leg press answers first: give its advertised "
                "name or address (`legpress scan` lists them)"
            )
        _advertised_name(target)
    url = f"{scheme}:{rest.strip()}"
    if scheme == "replay":
        path, q, query = rest.partition("?")
        file = Path(path.strip()).expanduser()
        if not path.strip() or not file.is_file():
            raise UsageError(f"{text}: no such recording")
        url = f"replay:{file.absolute()}{q}{query}"
    make_link(url)  # the scheme's own checks of its options (sim: scenario, seed, ...)
    return url


def _person(machine: Machine) -> str:
    return machine.person or "-"


def _add(args: argparse.Namespace) -> int:
    url = device_url(args.device)
    with open_store(args) as store:
        m = store.add_machine(
            args.name, args.kind, notes=args.notes, device_url=url, person=args.person
        )
    who = f", {m.person} by default" if m.person else ""
    print(f"Added {m.name}: {m.device_url}{who}.")
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        machines = store.list_machines()
        counts = {m.name: store.count_machine_sessions(m.name) for m in machines}
    if args.json:
        print_json([{**m.to_dict(), "sessions": counts[m.name]} for m in machines])
        return 0
    if not machines:
        print("No machines yet: add one with `legpress machines add NAME DEVICE`.")
        return 0
    rows = [
        [
            m.name,
            m.device_url or "- (none)",
            _person(m),
            m.kind,
            fmt(m.counts_per_mm, 2),
            str(counts[m.name]),
            m.notes,
        ]
        for m in machines
    ]
    print(
        text_table(
            ["Name", "Device", "Person", "Kind", "Counts/mm", "Sessions", "Notes"],
            rows,
            right={4, 5},
        )
    )
    return 0


def _rename(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        old = store.get_machine(args.old).name
        m = store.rename_machine(args.old, args.new)
    print(f"Renamed {old} to {m.name}; its stored sessions keep the name {old}.")
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Nobody can be asked here: add --yes to confirm")
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _remove(args: argparse.Namespace) -> int:
    with open_store(args, existing=True) as store:
        m = store.get_machine(args.name)
        n = store.count_machine_sessions(m.name)
        # Each session keeps the machine's name it was trained under (a rename since does
        # not change it), so the current name may not be theirs.
        kept = f" Its {n} session(s) stay, under the name each was trained on." if n else ""
        if not args.yes and not _confirm(
            f"Remove machine {m.name!r} ({m.device_url or 'no device'})?{kept}"
        ):
            print("Nothing removed.", file=sys.stderr)
            return 0
        store.remove_machine(m.name)
    print(f"Removed {m.name}.{kept}")
    return 0


def _set(args: argparse.Namespace) -> int:
    if args.device is None and args.person is None and not args.no_person and args.kind is None:
        raise UsageError("say what to change: --device, --person, --no-person or --kind")
    if args.person is not None and args.no_person:
        raise UsageError("--person and --no-person contradict each other")
    url = device_url(args.device) if args.device is not None else None
    with open_store(args, existing=True) as store:
        m = store.get_machine(args.name)
        if url is not None:
            m = store.set_machine_device(m.name, url)
        if args.person is not None or args.no_person:
            m = store.set_machine_person(m.name, None if args.no_person else args.person)
        if args.kind is not None and args.kind != m.kind:
            m = store.set_machine_kind(m.name, args.kind)
    print(f"{m.name}: {m.device_url or 'no device'}, person {_person(m)}, {m.kind}.")
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress machines`` to the command line."""
    db = db_parent()
    p = subparsers.add_parser(
        "machines",
        help="name the leg presses and bind each to its device",
        description=wrap(
            'The site\'s leg presses: a name ("Leg press 2") bound to a device, and who is on '
            "it by default. Then `monitor --machine NAME`, `record --machine NAME`, "
            "`calibrate --machine NAME` and `serve` find the device by name."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="machines_command", metavar="COMMAND", required=True)

    def leaf(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(  # type: ignore[no-any-return]
            name,
            parents=[db],
            help=help_text,
            description=wrap(description),
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    add = leaf(
        "add",
        "bind a name to a device",
        "Add a machine: its name (unique, case-insensitive) and its device.",
    )
    add.add_argument("name", metavar="NAME", help='what people call it, e.g. "Leg press 2"')
    add.add_argument("device", metavar="DEVICE", help="URL, Bluetooth address or advertised name")
    add.add_argument("--person", metavar="P", help="who is on it by default (must exist)")
    add.add_argument("--kind", choices=MACHINE_KINDS, default="incline45", help="leg press type")
    add.add_argument("--notes", default="", help="free text, e.g. where it stands")
    add.set_defaults(func=_add)

    ls = leaf("list", "every machine and its device", "Every machine, its device and person.")
    ls.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ls.set_defaults(func=_list)

    rn = leaf(
        "rename",
        "rename a machine",
        "Rename a machine. Stored sessions keep the name they were trained under.",
    )
    rn.add_argument("old", metavar="OLD")
    rn.add_argument("new", metavar="NEW")
    rn.set_defaults(func=_rename)

    rm = leaf(
        "remove",
        "remove a machine (its sessions stay)",
        "Remove a machine and its device binding. Its sessions stay, with its name.",
    )
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    rm.set_defaults(func=_remove)

    st = leaf(
        "set",
        "change a machine's device, default person or kind",
        "Change a machine's device (a new board), its default person, or its kind.",
    )
    st.add_argument("name", metavar="NAME")
    st.add_argument("--device", metavar="DEVICE", help="bind it to this device instead")
    st.add_argument("--person", metavar="P", help="who is on it by default (must exist)")
    st.add_argument("--no-person", action="store_true", help="nobody by default")
    st.add_argument("--kind", choices=MACHINE_KINDS, help="leg press type")
    st.set_defaults(func=_set)
