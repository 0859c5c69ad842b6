"""Detection speed: offline analysis (decode + calibrate + detect) and the live path per packet.

    python tests/bench/bench_detect_speed.py

A 10-minute simulated session (``demo`` scenario, 100 Hz, 8 cells) is decoded and analyzed in
one pass, on one core (samples/s), and the detector alone on the calibrated samples; then the
same packets go through the live path one by one (``Decoder.feed`` + ``Pipeline.feed``),
timing each packet (p50/p99/max in microseconds). Every figure is given twice: wall-clock time
and the CPU time of this process (``time.process_time``, per packet ``time.thread_time``),
which other jobs on a busy machine do not inflate. Best of 5 runs offline.
Targets: >= 2,000,000 samples/s offline, p99 <= 1 ms per live packet. Last line: JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import numpy as np

from legpress.detect import Analyzer, DetectorConfig, Pipeline
from legpress.dsp.calibration import Calibration
from legpress.protocol import Decoder, DeviceInfo, SampleBlock, decode_packets
from legpress.sim import make_scenario


def _best(run: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """The shortest wall and CPU time of ``repeat`` runs, in seconds."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> int:
    res = make_scenario("demo", 7, duration_s=600).run()
    info = DeviceInfo.from_bytes(res.info_packet)
    config = DetectorConfig(rom_limit_mm=res.truth.rom_limit_mm)
    packets = [p for _, p in res.packets]
    times = [t for t, _ in res.packets]

    pipe = Pipeline(info, config=config)

    def offline() -> None:
        nonlocal pipe
        block, _, _ = decode_packets(packets, times, info)
        pipe = Pipeline(info, config=config)
        pipe.feed(block)

    block, _, _ = decode_packets(packets, times, info)
    n = len(block)
    cal = Calibration.from_info(info).apply(block)
    period_s = info.period_us / 1e6
    pitch_mm = float(info.cell_pitch_mm or 40)

    def detect() -> None:
        Analyzer(config, period_s, info.n_cells, pitch_mm).update(cal)

    wall, cpu = _best(offline)
    d_wall, d_cpu = _best(detect)
    print(
        f"offline: {n} samples in {wall * 1000:.1f} ms = {n / wall:,.0f} samples/s "
        f"(CPU {n / cpu:,.0f}/s); detection alone {n / d_wall:,.0f}/s (CPU {n / d_cpu:,.0f}/s)"
    )

    dec = Decoder(info)
    live = Pipeline(info, config=config)
    lat = np.empty(len(packets))
    lat_cpu = np.empty(len(packets))
    events = 0
    for i, (t, p) in enumerate(zip(times, packets, strict=True)):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        for item in dec.feed(p, t):
            if isinstance(item, SampleBlock):
                events += len(live.feed(item)[1])
        lat[i] = (time.perf_counter_ns() - t0) / 1000
        lat_cpu[i] = (time.thread_time_ns() - c0) / 1000
    p50, p99, pmax = np.percentile(lat, [50, 99, 100])
    c50, c99, cmax = np.percentile(lat_cpu, [50, 99, 100])
    print(
        f"live: {len(packets)} packets, p50 {p50:.0f} us, p99 {p99:.0f} us, max {pmax:.0f} us "
        f"(CPU p50 {c50:.0f}, p99 {c99:.0f}, max {cmax:.0f} us)"
    )
    assert events == len(pipe.analyzer.reps) + len(pipe.analyzer.events)  # same results
    print(
        json.dumps(
            {
                "offline_samples_per_s": round(n / wall),
                "offline_samples_per_cpu_s": round(n / cpu),
                "detect_samples_per_s": round(n / d_wall),
                "detect_samples_per_cpu_s": round(n / d_cpu),
                "live_packet_us_p50": round(float(p50), 1),
                "live_packet_us_p99": round(float(p99), 1),
                "live_packet_us_max": round(float(pmax), 1),
                "live_packet_cpu_us_p50": round(float(c50), 1),
                "live_packet_cpu_us_p99": round(float(c99), 1),
                "live_packet_cpu_us_max": round(float(cmax), 1),
                "samples": n,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
