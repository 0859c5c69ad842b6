"""Runs every benchmark in this folder and prints one JSON object with all their figures.

    python tests/bench/run_all.py            # all benchmarks
    python tests/bench/run_all.py decode sim # only bench_decode.py and bench_sim.py

Each ``bench_*.py`` is a standalone script that prints its figures and ends its output with one
line of JSON; this runner collects those lines under the benchmark's name. Benchmarks are not
tests: they print measurements and never fail on a number (targets are in the README).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    results: dict[str, object] = {}
    failed = False
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parents[1]
        )
        elapsed = time.perf_counter() - start
        print(f"[{name}] {elapsed:.1f} s", file=sys.stderr)
        sys.stderr.write(proc.stdout)
        lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
        try:
            figures = json.loads(lines[-1]) if lines else None
        except json.JSONDecodeError:
            figures = None
        if proc.returncode != 0 or figures is None:
            failed = True
            results[name] = {"error": (proc.stderr.strip().splitlines() or ["no JSON line"])[-1]}
        else:
            results[name] = figures
    print(json.dumps(results, indent=1, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
