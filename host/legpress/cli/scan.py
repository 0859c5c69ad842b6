"""``legpress scan``: leg presses advertising nearby (found by their service UUID)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from legpress.cli._common import ble_backend, run, table
from legpress.cli.exitcodes import epilog as exit_codes_epilog


def _run(args: argparse.Namespace) -> int:
    from legpress.transport.ble import scan

    found = run(scan(args.timeout, backend=ble_backend(args)))
    if args.json:
        print(
            json.dumps(
                [
                    {"name": r.name, "address": r.address, "rssi": r.rssi, "url": r.url}
                    for r in found
                ]
            )
        )
    elif found:
        print(
            table(
                ["NAME", "ADDRESS", "RSSI", "URL"],
                [(r.name or "?", r.address, f"{r.rssi} dBm", r.url) for r in found],
                right=frozenset({2}),
            )
        )
    if not found:
        print(
            f"legpress: no leg press found in {args.timeout:g} s: is it switched on, in range, "
            "and not connected to another phone or computer?",
            file=sys.stderr,
        )
        return 3
    return 0


def register(subparsers: Any) -> None:
    """Add ``legpress scan`` to the command line."""
    p = subparsers.add_parser(
        "scan",
        help="list leg presses advertising nearby (Bluetooth LE)",
        description="Listen for leg presses advertising the legpress service and list them, "
        "strongest signal first. Open one with `legpress record ble:NAME` (or ble:ADDRESS).",
        epilog="0: some found; 3: none found; 4: Bluetooth off or missing. "
        + exit_codes_epilog(0, 3, 4),
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds to listen (default 5)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    p.set_defaults(func=_run)
