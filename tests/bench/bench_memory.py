"""The firmware's heap after boot and while streaming over BLE, under MicroPython 1.29.

    python tests/bench/bench_memory.py

Builds the app as main() does on a board (config defaults, the Board on the fake `machine`,
the radio on the fake `bluetooth`, the USB serial link) from the firmware sources, then streams
8 cells at 100 Hz over BLE at MTU 247 for 12 s of device time, driving the app's own steps
(tests/firmware/memory_fw.py). gc.mem_alloc() is read after a collection once booted (boot),
after every step (peak: what the heap holds between the app's collections) and after a final
collection (steady), less what the rig itself holds. Target: <= 50 KB. The WebAssembly build
is a 32-bit port like the ESP32; modules loaded from .mpy on the board hold about the same
bytecode. Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.mpy.harness import run_micropython  # noqa: E402

CODE = """
import hostio, json, memory_fw
r = await memory_fw.boot_and_stream(12.0)
hostio.emit(json.dumps(r))
"""


def main() -> int:
    r = run_micropython(CODE, mounts={ROOT / "tests" / "firmware": "/tf"}, timeout=600).last
    kib = {
        k: round(r[k] / 1024, 1)
        for k in ("boot_bytes", "stream_peak_bytes", "stream_steady_bytes", "ring_bytes")
    }
    print(f"after boot          {kib['boot_bytes']:6.1f} KiB")
    print(f"streaming, peak     {kib['stream_peak_bytes']:6.1f} KiB")
    print(f"streaming, steady   {kib['stream_steady_bytes']:6.1f} KiB")
    print(f"  of which the ring {kib['ring_bytes']:6.1f} KiB")
    print(json.dumps({"target_kib": 50, **kib, "samples": r["samples"], "modules": r["modules"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
