#!/usr/bin/env python3
"""Read hardware/bom.csv and print the cost per category (stdlib only)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

BOM = Path(__file__).resolve().parent.parent / "bom.csv"
COLUMNS = (
    "ref",
    "category",
    "part",
    "example_part_numbers",
    "qty",
    "unit_cost_usd",
    "cost_usd",
    "alternatives",
    "notes",
)
CATEGORIES = ("electronics", "mechanical", "optional")


def read_bom(path: Path = BOM) -> list[dict[str, str]]:
    """Rows of the BOM as dicts keyed by :data:`COLUMNS`."""
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def totals(rows: list[dict[str, str]]) -> dict[str, float]:
    """Sum of ``cost_usd`` per category, rounded to cents."""
    out = dict.fromkeys(CATEGORIES, 0.0)
    for row in rows:
        out[row["category"]] = out.get(row["category"], 0.0) + float(row["cost_usd"])
    return {k: round(v, 2) for k, v in out.items()}


def main() -> int:
    t = totals(read_bom())
    for k, v in t.items():
        print(f"{k:12s} {v:7.2f} USD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
