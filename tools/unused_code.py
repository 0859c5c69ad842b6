"""Unused code in what ships (host/legpress, firmware), found by vulture.

    .venv/bin/python tools/unused_code.py      # exit 1 and one line per finding

Vulture reads the shipped code together with the tests, benchmarks and tools, so a counter or
field that only a test or a user reads counts as used; it reports findings in the shipped code
only. What nothing in the tree reads but is public on purpose is named in
tools/vulture_allowlist.py, each with the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

import vulture

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("host/legpress", "firmware")
READERS = ("tests", "tools")
# Stand-ins for modules the ESP32 lacks; they are not users of the firmware.
NOT_READERS = ("tests/mpy/esp32_absent",)
MIN_CONFIDENCE = 60


def find_unused() -> list[vulture.core.Item]:
    """Everything vulture finds unused in the shipped code, in file and line order."""
    v = vulture.Vulture(ignore_names=["_value_"])
    v.scavenge(
        [str(ROOT / p) for p in SHIPPED + READERS],
        exclude=[str(ROOT / p) for p in NOT_READERS],
    )
    shipped = tuple(str(ROOT / p) + "/" for p in SHIPPED)
    found = [
        item
        for item in v.get_unused_code(min_confidence=MIN_CONFIDENCE)
        if str(item.filename).startswith(shipped)
    ]
    return sorted(found, key=lambda item: (str(item.filename), item.first_lineno))


def main() -> int:
    found = find_unused()
    for item in found:
        print(item.get_report().replace(str(ROOT) + "/", ""))
    if found:
        print(
            f"{len(found)} unused in the shipped code: delete it, or, if it is public API that "
            "nothing here reads, name it in tools/vulture_allowlist.py with the reason",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
