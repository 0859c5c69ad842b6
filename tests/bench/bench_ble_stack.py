"""The real firmware streaming over the real BLE host stack for a long session: packets lost
and sample values against what the firmware sampled.

    python tests/bench/bench_ble_stack.py              # 10 minutes at 100 Hz (device time)
    python tests/bench/bench_ble_stack.py --minutes 1

The unmodified firmware runs on the MicroPython unix port with NimBLE (tests/e2e, built by
./tools/test into .cache/micropython-ble), its HCI over a pty to a Bumble controller; the host
library streams from it through bleak on Bumble, as in the real-stack tests. The unix port
keeps real time, so the session takes as long on the wall clock as on the device: that is
why it is a benchmark and not a test (the tests in tests/e2e stream a few seconds each).
Every sample the host gets is compared with the fake sensors' reading for its sample number
(sensors.py).
Bumble has no air-time model, so the throughput is what the two stacks sustain, not a radio's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import legpress  # noqa: E402
from legpress import SampleBlock  # noqa: E402
from tests.e2e.firmware_stack import BOARD_NAME, FirmwareBoard, check_samples  # noqa: E402
from tests.host.transport.bumble_backend import VirtualAir  # noqa: E402


async def run(minutes: float) -> dict[str, object]:
    air = VirtualAir()
    await air.start()
    with tempfile.TemporaryDirectory(prefix="bench-ble-") as tmp:
        board = FirmwareBoard(air, Path(tmp) / "board", {"security": "open"})
        await board.boot()
        try:
            n_wanted = int(minutes * 60 * 100)
            blocks: list[SampleBlock] = []
            n = 0
            start = time.perf_counter()
            async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
                async for item in dev:
                    if isinstance(item, SampleBlock):
                        blocks.append(item)
                        n += len(item)
                        if n >= n_wanted:
                            break
                stats = dev.stats
                status = await dev.status()
            wall_s = time.perf_counter() - start
        finally:
            await board.power_off()
    block = SampleBlock.concat(blocks)
    check_samples(block)  # raises if a sample was lost, reordered or changed
    device_s = float(block.t_s[-1] - block.t_s[0]) + 0.01
    return {
        "device_minutes": round(device_s / 60, 2),
        "wall_s": round(wall_s, 1),
        "samples": len(block),
        "packets_lost": int(stats.decoder.lost_packets),
        "samples_identical": True,
        "notifications_per_s": round(stats.link.packets / wall_s, 1),
        "payload_bytes_per_s": round(stats.link.bytes / wall_s),
        "overruns": int(status.overruns),
        "notify_enomem": int(status.notify_enomem),
        "samples_dropped_on_device": int(status.samples_dropped),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="device minutes (10)")
    args = parser.parse_args()
    figures = asyncio.run(run(args.minutes))
    for key, value in figures.items():
        print(f"{key:28} {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
