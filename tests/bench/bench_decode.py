"""Decoder speed: batch samples per second, and per-packet latency on the live path.

    python tests/bench/bench_decode.py

A synthetic session of 10 minutes at 100 Hz with 8 pad cells (60 000 samples in 15 000
``SAMPLES`` packets of 4 records, 1 % of packets lost) is decoded

- in batch, from memory with ``decode_packets`` and from a recording file with
  ``read_recording`` + ``decode_recording`` (what ``legpress analyze``/``export`` do);
- live, one packet at a time with ``Decoder.feed`` (what a BLE/serial session does per
  notification), timing every call;
- through the whole device API (``replay:`` URL, ``async for``), for reference.

Targets: batch >= 1 000 000 samples/s, live p99 <= 100 µs per packet. The last line of output
is one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "host"))

from legpress import SampleBlock, open_device  # noqa: E402
from legpress.protocol.decoder import Decoder, decode_packets  # noqa: E402
from legpress.protocol.messages import DeviceInfo  # noqa: E402
from legpress.storage.recording import (  # noqa: E402
    RecordingWriter,
    decode_recording,
    make_header,
    read_recording,
)

RATE_HZ = 100
MINUTES = 10
K = 8
PER_PACKET = 4
TARGET_BATCH = 1_000_000
TARGET_P99_US = 100.0


def session() -> tuple[DeviceInfo, list[bytes], list[int]]:
    """Packets and host receive times of a synthetic session."""
    info = DeviceInfo((1, 0, 0), 1_000_000 // RATE_HZ, K, name="LegPress-BENCH")
    n_packets = RATE_HZ * 60 * MINUTES // PER_PACKET
    rng = np.random.default_rng(1)
    rec = np.zeros((n_packets, PER_PACKET), dtype=[("cells", "<u2", (K,)), ("position", "<i4")])
    rec["cells"] = rng.integers(0, 4096, size=(n_packets, PER_PACKET, K))
    rec["position"] = rng.integers(-1000, 30_000, size=(n_packets, PER_PACKET))
    head = struct.Struct("<BBBHI")
    lost = set(rng.choice(n_packets, n_packets // 100, replace=False).tolist())
    packets: list[bytes] = [info.to_bytes()]
    times: list[int] = [0]
    t_host = 5_000_000_000
    for i in range(n_packets):
        t_us = (i * PER_PACKET * info.period_us) & 0xFFFFFFFF
        if i in lost:
            continue
        flags = 0x10 if i == 0 else 0
        packets.append(head.pack(1, 1, flags, i & 0xFFFF, t_us) + rec[i].tobytes())
        times.append(t_host + i * 40_000_000 + int(rng.integers(2_000_000, 9_000_000)))
    return info, packets, times


def best_of(n: int, fn, *args):  # type: ignore[no-untyped-def]
    best = float("inf")
    result = None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, result


async def device_replay(path: Path) -> int:
    n = 0
    async with open_device(f"replay:{path}", autostart=False) as dev:
        async for item in dev:
            if isinstance(item, SampleBlock):
                n += len(item)
    return n


def main() -> int:
    info, packets, times = session()
    n_samples = (len(packets) - 1) * PER_PACKET
    print(
        f"session: {MINUTES} min at {RATE_HZ} Hz, {K} cells, {len(packets) - 1} packets, "
        f"{n_samples} samples"
    )

    secs, (block, gaps, _) = best_of(5, decode_packets, packets, times)
    assert len(block) == n_samples and gaps
    batch_rate = n_samples / secs
    print(f"batch decode_packets:            {batch_rate:12,.0f} samples/s  ({secs * 1e3:.1f} ms)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.lprec"
        with RecordingWriter(path, make_header(info)) as w:
            for p, t in zip(packets, times, strict=True):
                w.write_packet(t, p)
        size_mb = path.stat().st_size / 1e6
        secs_read, _ = best_of(5, read_recording, path)
        secs_file, decoded = best_of(5, decode_recording, path)
        assert len(decoded.samples) == n_samples
        file_rate = n_samples / secs_file
        print(
            f"recording read + decode:         {file_rate:12,.0f} samples/s  "
            f"({secs_file * 1e3:.1f} ms, of which reading {secs_read * 1e3:.1f} ms; "
            f"{size_mb:.1f} MB)"
        )
        t0 = time.perf_counter()
        got = asyncio.run(device_replay(path))
        secs_dev = time.perf_counter() - t0
        assert got == n_samples
        device_rate = n_samples / secs_dev
        print(f"replay: through the Device API:  {device_rate:12,.0f} samples/s")

    # live path: one packet per call, timed individually (after a warm-up pass)
    for _ in range(2):
        dec = Decoder()
        lat = np.empty(len(packets), np.int64)
        clock = time.perf_counter_ns
        feed = dec.feed
        for i, (p, t) in enumerate(zip(packets, times, strict=True)):
            t0 = clock()
            feed(p, t)
            lat[i] = clock() - t0
    us = lat[1:] / 1000.0
    p50, p99, p999 = (float(np.percentile(us, q)) for q in (50, 99, 99.9))
    print(
        f"live Decoder.feed per packet:    p50 {p50:.1f} µs, p99 {p99:.1f} µs, "
        f"p99.9 {p999:.1f} µs, max {us.max():.1f} µs"
    )
    ok = batch_rate >= TARGET_BATCH and p99 <= TARGET_P99_US
    print(
        f"targets: batch >= {TARGET_BATCH:,} samples/s, live p99 <= {TARGET_P99_US:g} µs: "
        f"{'met' if ok else 'MISSED'}"
    )
    print(
        json.dumps(
            {
                "samples": n_samples,
                "batch_samples_per_s": round(batch_rate),
                "recording_samples_per_s": round(file_rate),
                "device_replay_samples_per_s": round(device_rate),
                "live_p50_us": round(p50, 2),
                "live_p99_us": round(p99, 2),
                "live_p999_us": round(p999, 2),
                "live_max_us": round(float(us.max()), 2),
                "target_batch_samples_per_s": TARGET_BATCH,
                "target_live_p99_us": TARGET_P99_US,
                "targets_met": ok,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
