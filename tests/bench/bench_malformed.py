"""Malformed inputs: more than a thousand broken CSV files, databases, recordings and session
exports through the ``legpress`` command, counting exit codes (none may be 70, an internal
error); and the CSV import's speed and memory per row.

    python tests/bench/bench_malformed.py [SCALE]

SCALE (default 1) multiplies the counts: 500 CSV files (analyze), 300 recordings (analyze,
replay, export), 300 databases (sessions list/show, people list, report) and 300 session
exports (sessions import), generated from good ones by tests/host/cli/malformed.py. The last
line of output is one JSON object.
"""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "host")]

from tests.host.cli.malformed import IMPORT_PEAK_SCRIPT, run_all, write_long_csv  # noqa: E402


def csv_import_figures(folder: Path, rows: int) -> dict[str, float]:
    path = write_long_csv(folder / "big.csv", rows)
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PEAK_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "host")},
    ).stdout.split()
    n, grown, elapsed = int(out[0]), int(out[1]), float(out[2])
    return {
        "rows": n,
        "bytes_per_row": round(grown / n, 1),
        "rows_per_s": round(n / elapsed),
    }


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    counts = {
        "csv": int(500 * scale),
        "recording": int(300 * scale),
        "database": int(300 * scale),
        "export": int(300 * scale),
    }
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        tally = run_all(Path(tmp), counts)
        elapsed = time.perf_counter() - start
        for argv, code, text in tally.bad[:10]:
            print(f"BAD exit {code}: legpress {' '.join(argv[:2])}: {text}")
        figures: dict[str, object] = {
            "inputs": sum(tally.inputs.values()),
            "inputs_by_kind": dict(tally.inputs),
            "runs": tally.runs,
            "exit_codes": {str(k): v for k, v in sorted(tally.codes.items())},
            "internal_errors": tally.internal_errors,
            "misbehaved": len(tally.bad),
            "seconds": round(elapsed, 1),
        }
        print(f"{figures['inputs']} malformed inputs, {tally.runs} runs: {figures['exit_codes']}")
        figures["csv_import_1M_rows"] = csv_import_figures(Path(tmp), 1_000_000)
        print(f"CSV import: {figures['csv_import_1M_rows']}")
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
