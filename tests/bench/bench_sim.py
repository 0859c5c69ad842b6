"""Simulator throughput: simulated samples generated per second, as fast as possible.

    python tests/bench/bench_sim.py

Runs a 10-minute session at 100 Hz with 8 cells (the ``demo`` scenario; physics, sensors, the
real firmware sampler and packet encoder, the link) and reports the whole-run rate and its
parts. The last line of stdout is one JSON object. Target: > 20,000 samples/s.
"""

from __future__ import annotations

import json
import time

from legpress.sim import make_scenario
from legpress.sim.firmware import FirmwareStats

DURATION_S = 600.0
REPEATS = 3


def main() -> None:
    sc = make_scenario("demo", seed=0, duration_s=DURATION_S)
    best_total = best_physics = best_firmware = float("inf")
    samples = packets = 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = sc.run()
        best_total = min(best_total, time.perf_counter() - start)
        samples = len(result.signals)
        packets = len(result.packets)
        start = time.perf_counter()
        phys = sc._physics(None)  # the vectorised part alone
        best_physics = min(best_physics, time.perf_counter() - start)
        start = time.perf_counter()
        for _ in sc._sends(phys, FirmwareStats()):  # the per-sample firmware loop alone
            pass
        best_firmware = min(best_firmware, time.perf_counter() - start)
    figures = {
        "scenario": "demo",
        "duration_s": DURATION_S,
        "rate_hz": sc.config.rate_hz,
        "n_cells": sc.config.n_cells,
        "samples": samples,
        "packets": packets,
        "run_s": round(best_total, 3),
        "samples_per_s": round(samples / best_total),
        "physics_samples_per_s": round(samples / best_physics),
        "firmware_samples_per_s": round(samples / best_firmware),
        "realtime_factor": round(DURATION_S / best_total, 1),
    }
    rate = sc.config.rate_hz
    print(f"{samples} samples ({DURATION_S:.0f} s at {rate} Hz) in {best_total:.2f} s")
    print(f"  whole run:         {figures['samples_per_s']:>9,} samples/s")
    print(f"  physics (numpy):   {figures['physics_samples_per_s']:>9,} samples/s")
    print(f"  firmware loop:     {figures['firmware_samples_per_s']:>9,} samples/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
