"""Detection speed: offline analysis (decode + calibrate + detect) and the live path per packet.

    python tests/bench/bench_detect_speed.py

A 10-minute simulated session (``demo`` scenario, 100 Hz, 8 cells) is decoded and analyzed in
one pass, on one core (samples/s); then the same packets go through the live path one by one
(``Decoder.feed`` + ``Pipeline.feed``), timing each packet (p50/p99/max in microseconds).
Targets: >= 1,000,000 samples/s offline, p99 <= 1 ms per live packet. Last line: JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from legpress.detect import DetectorConfig, Pipeline
from legpress.protocol import Decoder, DeviceInfo, SampleBlock, decode_packets
from legpress.sim import make_scenario


def main() -> int:
    res = make_scenario("demo", 7, duration_s=600).run()
    info = DeviceInfo.from_bytes(res.info_packet)
    config = DetectorConfig(rom_limit_mm=res.truth.rom_limit_mm)
    packets = [p for _, p in res.packets]
    times = [t for t, _ in res.packets]

    best = float("inf")
    n = 0
    for _ in range(5):
        t0 = time.perf_counter()
        block, _, _ = decode_packets(packets, times, info)
        pipe = Pipeline(info, config=config)
        pipe.feed(block)
        best = min(best, time.perf_counter() - t0)
        n = len(block)
    offline = n / best
    print(f"offline: {n} samples in {best * 1000:.1f} ms = {offline:,.0f} samples/s")

    dec = Decoder(info)
    live = Pipeline(info, config=config)
    lat = np.empty(len(packets))
    events = 0
    for i, (t, p) in enumerate(zip(times, packets, strict=True)):
        t0 = time.perf_counter_ns()
        for item in dec.feed(p, t):
            if isinstance(item, SampleBlock):
                events += len(live.feed(item)[1])
        lat[i] = (time.perf_counter_ns() - t0) / 1000
    p50, p99, pmax = np.percentile(lat, [50, 99, 100])
    print(f"live: {len(packets)} packets, p50 {p50:.0f} us, p99 {p99:.0f} us, max {pmax:.0f} us")
    assert events == len(pipe.analyzer.reps) + len(pipe.analyzer.events)  # same results
    print(
        json.dumps(
            {
                "offline_samples_per_s": round(offline),
                "live_packet_us_p50": round(float(p50), 1),
                "live_packet_us_p99": round(float(p99), 1),
                "live_packet_us_max": round(float(pmax), 1),
                "samples": n,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
