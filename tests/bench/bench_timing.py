"""Samples lost and timestamp error of the real app, on the model of the ESP32's timing.

    python tests/bench/bench_timing.py            # 3 s of device time per case
    python tests/bench/bench_timing.py --seconds 10

Runs the firmware's App (its four tasks under the supervisor, streaming over BLE at MTU 247)
under MicroPython 1.29 with tests/mpy/support/chipmodel.py: virtual time that passes 4 us per
executed firmware line, 35 us per ADC conversion, 150 us per notification and 4 ms per
gc.collect, hardware timer callbacks run between bytecodes, and asyncio's idle wait ending on
10 ms FreeRTOS ticks as on the ESP32 port. Halfway through each run the app's 10-second
collection check falls due, as housekeeping makes it: while the timer samples it collects only
once 4 KiB were allocated since the last collection, and the firmware allocates about 1 B/s
while streaming (bench_memory.py), so it finds nothing to collect; the "gc" cases give it
8 KiB of garbage, and the collection (4 ms on the model) runs right after a sample.
8 cells at 100, 200 and 400 Hz, on 8 ADC1 pins and through the CD74HC4067, with the sampler
on the hardware timer (the firmware) and, for comparison, on asyncio sleeps (the firmware
before the timer). A second pass doubles the cost per line (a slower chip than the estimate).

Per case: samples lost (grid slots between the first and the last record received, minus the
records received) and the timestamp error (a record's time, its packet's t_us + i x period,
minus the instant its first conversion started): max, 99th percentile, mean. Targets: 0 lost
at 100 and 200 Hz, error <= 1 ms. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.mpy.harness import run_micropython  # noqa: E402

RATES = (100, 200, 400)
PADS = ("direct", "mux")
KEYS = ("lost", "slots", "err_max_us", "err_p99_us", "err_mean_us", "overruns", "jitter_max_us")


def measure(
    rate_hz: int, pad: str, timer: bool, seconds: float, line_us: int, garbage: int = 0
) -> dict[str, object]:
    code = f"""
import hostio, json, chipmodel, timing_fw
chip = chipmodel.Chip(line_us={line_us})
r = timing_fw.run_app({rate_hz}, {pad!r}, {timer}, {seconds}, chip=chip,
                      collect_at_ms={int(seconds * 500)}, garbage_bytes={garbage})
hostio.emit(json.dumps(r))
"""
    mounts = {ROOT / "tests" / "firmware": "/tf"}
    r: dict[str, object] = run_micropython(code, settrace=True, mounts=mounts, timeout=600).last
    return {k: r[k] for k in (*KEYS, "gc_collects", "pool_dropped")}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="device time per case")
    args = parser.parse_args(argv)
    results: dict[str, object] = {}
    print(f"{'case':28s} {'lost':>10s} {'err max':>9s} {'p99':>7s} {'mean':>6s}  (us)")
    passes = [(4, True, 0), (4, False, 0), (8, True, 0), (4, True, 8192)]
    for line_us, timer, garbage in passes:
        for rate in RATES:
            for pad in PADS:
                name = f"{'timer' if timer else 'sleep'}_{rate}hz_{pad}"
                if line_us != 4:
                    name += f"_{line_us}us_line"
                if garbage:
                    name += "_gc"
                r = measure(rate, pad, timer, args.seconds, line_us, garbage)
                results[name] = r
                print(
                    f"{name:28s} {r['lost']:>4}/{r['slots']:<5} {r['err_max_us']:>9} "
                    f"{r['err_p99_us']:>7} {r['err_mean_us']:>6}  gc {r['gc_collects']}"
                )
    figures = {
        "seconds": args.seconds,
        "cells": 8,
        "targets": {"lost_at_100_200hz": 0, "err_max_us": 1000},
        **results,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
