"""Kill loss: how much of a recording a real SIGKILL loses, on an idle and on a loaded machine.

    python tests/bench/bench_kill_loss.py [KILLS]

Kills ``legpress record sim:scenario=demo`` (real time) and a bare ``RecordingWriter`` writing
400 packets/s, KILLS times each (default 20), at random moments, first with the machine as it
is and then with two busy processes per run competing for the cores. The loss of one kill is
the time from the kill back to the last record in the file. The promise is
``KILL_LOSS_S`` (0.5 s). The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "host")]

from legpress.storage.recording import KILL_LOSS_S  # noqa: E402
from tests.host.storage.killing import (  # noqa: E402
    cpu_load,
    kill_loss,
    record_command,
    writer_command,
)


def _figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "kills": len(ordered),
        "p50_s": round(ordered[len(ordered) // 2], 3),
        "p95_s": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "max_s": round(ordered[-1], 3),
    }


def main() -> None:
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rng = random.Random(2026)
    out: dict[str, object] = {"promise_s": KILL_LOSS_S}
    with tempfile.TemporaryDirectory() as tmp:
        for load in ("idle", "loaded"):
            losses: dict[str, list[float]] = {"record": [], "writer": []}
            with cpu_load(2 if load == "loaded" else 0):
                for i in range(kills):
                    path = Path(tmp) / f"{load}-record-{i}.lprec"
                    losses["record"].append(kill_loss(record_command(path, i), path, rng))
                    path = Path(tmp) / f"{load}-writer-{i}.lprec"
                    losses["writer"].append(kill_loss(writer_command(path), path, rng))
            for what, values in losses.items():
                figures = _figures(values)
                print(f"{load:6} {what:6} {figures}", flush=True)
                out[f"{load}_{what}"] = figures
    print(json.dumps(out))


if __name__ == "__main__":
    main()
