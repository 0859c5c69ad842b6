"""Detection accuracy against the simulator's ground truth, scenario by scenario.

    python tests/bench/bench_detect_accuracy.py [SEEDS]

Seeds start at 1000: the detector's thresholds were tuned on seeds 0-3 only, so none of these
sessions was seen while tuning. Per rep: lift-off sensitivity and specificity (also over "clear"
reps, leaving out near misses whose sacral zone came within 2 mm of leaving the pad), alert
time minus true onset, depth error, ROM reps >= 10 mm past the limit alerted and >= 10 mm short
of it alerted. Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
import time

from legpress.detect import DetectorConfig
from legpress.detect.evaluate import Score, run_detection, score_session
from legpress.protocol import DeviceInfo
from legpress.sim import SCENARIOS, make_scenario

FIRST_SEED = 1000


def main(argv: list[str]) -> int:
    n_seeds = int(argv[0]) if argv else 5
    start = time.perf_counter()
    results: dict[str, dict[str, object]] = {}
    total = Score()
    for name in SCENARIOS:
        score = Score()
        seeds = n_seeds * 4 if name == "group" else n_seeds  # more people in the group
        for seed in range(FIRST_SEED, FIRST_SEED + seeds):
            res = make_scenario(name, seed).run()
            info = DeviceInfo.from_bytes(res.info_packet)
            config = DetectorConfig(rom_limit_mm=res.truth.rom_limit_mm)
            reps, events = run_detection(res.packets, info, config)
            margin = (res.signals.t_s, res.signals.sacral_margin_mm)
            score = score + score_session(res.truth, reps, events, margin=margin)
        results[name] = {"sessions": seeds, **score.summary()}
        total = total + score
        s = results[name]
        print(
            f"{name:14s} reps {s['reps_true']:4d}  lift-off reps {s['lift_off_reps']:4d}  "
            f"sens {s['lift_off_sensitivity']}  spec {s['lift_off_specificity']} "
            f"(clear {s['lift_off_specificity_clear_reps']})  "
            f"<=100ms {s['alerts_within_100ms']}  depth err p95 {s['depth_error_mm_p95']} mm  "
            f"ROM over alerted {s['rom_over_alerted']}  short alerted {s['rom_short_alerted']}",
            flush=True,
        )
    results["all"] = total.summary()
    results["elapsed_s"] = {"value": round(time.perf_counter() - start, 1)}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
