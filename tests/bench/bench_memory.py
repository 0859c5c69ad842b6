"""The firmware's heap after boot and while streaming over BLE, under MicroPython 1.29.

    python tests/bench/bench_memory.py              # 12 s of device time per case
    python tests/bench/bench_memory.py --seconds 30

Builds the app as main() does on a board (config defaults, the Board on the fake `machine`,
the radio on the fake `bluetooth`, the USB serial link), pairs a central, then streams 8 cells
at 100 Hz over BLE at MTU 247, driving the app's own steps (tests/firmware/memory_fw.py).
gc.mem_alloc(), less what the rig itself holds, is read after a collection once booted (boot)
and at the end (steady); the peak is the heap after the app's last collection plus what the
firmware's steps allocated since (its 10-second gc.collect() bounds it).

On MicroPython's unix port built 32-bit like the ESP32 (tests/bench/frozen32.py builds it),
the firmware is loaded four ways: from `.py` sources, from `.mpy` files on the filesystem
(what `legpress firmware deploy` installs on a stock image: their bytecode is copied into the
heap), from a ROMFS image (bytecode executed in place; the image is flash on a chip), all
three on an image that, like a stock one, has only asyncio frozen in; and frozen into the
image (a custom build with firmware/manifest.py). The USB serial link, which the app opens
when a host first sends a byte there, is not loaded in these runs (streaming goes over BLE);
one more run, from `.mpy` files, has a USB host talk right after boot, another streams at
400 Hz (the ring, which holds 0.5 s of the stream, is larger), and another loads `.mpy` files
compiled with line numbers (`legpress firmware deploy --line-numbers`). Then the
heap each module's import holds, per way. For comparison, the WebAssembly port (the tests'
interpreter) from sources. Target: <= 50 KB (48.8 KiB) after boot and at the peak. Last line:
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from legpress.firmware_deploy import mpy_cross_command  # noqa: E402
from tests.bench import frozen32  # noqa: E402
from tests.mpy.harness import run_micropython  # noqa: E402

TARGET_BYTES = 50_000
FW = ROOT / "firmware"
RIG = [ROOT / "tests" / "mpy" / "fakes", ROOT / "tests" / "mpy" / "support"]
RIG.append(ROOT / "tests" / "firmware")
VENV_BIN = Path(sys.executable).parent
MODES = ("source", "mpy", "romfs", "frozen")

WASM_CODE = """
import hostio, json, memory_fw
r = await memory_fw.boot_and_stream(%r)
hostio.emit(json.dumps(r))
"""


def _tool(name: str) -> str:
    found = VENV_BIN / name
    if found.is_file():
        return str(found)
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found: pip install 'legpress[firmware]'")
    return path


def _prepare(tmp: Path) -> dict[str, tuple[list[str], str | None]]:
    # sys.path entries (and the ROMFS image) per mode; ".frozen" stays after the firmware's
    # own folder so that the frozen asyncio is found but not the frozen legpress_fw.
    pkg = FW / "legpress_fw"
    mpy = tmp / "mpy" / "legpress_fw"
    mpy.mkdir(parents=True)
    lines = tmp / "mpy-lines" / "legpress_fw"  # `legpress firmware deploy --line-numbers`
    lines.mkdir(parents=True)
    for src in sorted(pkg.glob("*.py")):
        for folder, line_numbers in ((mpy, False), (lines, True)):
            out = folder / (src.stem + ".mpy")  # compiled as `legpress firmware deploy` does
            tool = _tool("mpy-cross")
            subprocess.run(mpy_cross_command(tool, src, out, str(out), line_numbers), check=True)
    romsrc = tmp / "romsrc" / "lib"
    shutil.copytree(pkg, romsrc / "legpress_fw", ignore=shutil.ignore_patterns("__pycache__"))
    image = tmp / "fw.romfs"
    subprocess.run(
        [_tool("mpremote"), "romfs", "-o", str(image), "build", str(tmp / "romsrc")],
        check=True,
        capture_output=True,
    )
    rig = [str(p) for p in RIG]
    return {
        "source": ([str(FW), ".frozen", *rig], None),
        "mpy": ([str(tmp / "mpy"), ".frozen", *rig], None),
        "mpy_lines": ([str(tmp / "mpy-lines"), ".frozen", *rig], None),
        "romfs": ([".frozen", *rig], str(image)),
        "frozen": ([".frozen", *rig], None),
    }


def _run_unix(binary: Path, mode: str, seconds: float, paths: list[str], image: str | None,
              cwd: Path, usb_host: bool = False, rate_hz: int = 100,
              ) -> dict[str, Any]:  # fmt: skip
    cmd = [str(binary), str(ROOT / "tests" / "firmware" / "memory_main.py"), mode, str(seconds)]
    cmd.append(":".join(paths))
    if image is not None:
        cmd.append(image)
    if usb_host:
        cmd.append("usb")
    if rate_hz == 400:
        cmd.append("400hz")
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    # stdin: a pipe that stays open and silent, as a USB port no host talks on (at end of file
    # it would poll readable, and the app would open its serial link).
    quiet_in, keep_open = os.pipe()
    try:
        proc = subprocess.run(
            cmd, stdin=quiet_in, capture_output=True, text=True, cwd=cwd, env=env, timeout=600
        )
    finally:
        os.close(quiet_in)
        os.close(keep_open)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode}: MicroPython failed:\n{proc.stdout[-2000:]}{proc.stderr}")
    r: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if seconds > 0 and not r.get("samples"):
        raise RuntimeError(f"{mode}: the scenario streamed no samples: {r}")
    return r


def _kib(n: float) -> float:
    return round(n / 1024, 1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="device time streamed")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"target_bytes": TARGET_BYTES, "seconds": args.seconds}
    keys = ("boot_bytes", "stream_peak_bytes", "stream_steady_bytes")
    print(f"{'where the firmware is loaded from':40s} {'boot':>8s} {'peak':>8s} {'steady':>8s}")
    try:
        binaries = {m: frozen32.binary(frozen=m == "frozen") for m in MODES}
    except frozen32.BuildUnavailable as e:
        print(f"unix 32-bit build unavailable, skipped: {e}")
        figures["unix32"] = str(e)
    else:
        unix: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            prepared = _prepare(Path(tmp))
            for mode in MODES:
                paths, image = prepared[mode]
                binary = binaries[mode]
                r = _run_unix(binary, mode, args.seconds, paths, image, Path(tmp))
                imp = _run_unix(binary, mode, 0, paths, image, Path(tmp))["imports"]
                rate = r["stream_alloc_bytes"] / args.seconds
                row = {k: r[k] for k in keys}
                row.update(
                    samples=r["samples"],
                    ring_bytes=r["ring_bytes"],
                    image_bytes=r["image_bytes"],
                    alloc_bytes_per_s=round(rate),
                    imports_bytes=dict(imp),
                )
                unix[mode] = row
                print(
                    f"unix 32-bit, {mode:28s} {_kib(r['boot_bytes']):6.1f} K "
                    f"{_kib(r['stream_peak_bytes']):6.1f} K "
                    f"{_kib(r['stream_steady_bytes']):6.1f} K"
                    f"   ({rate:.0f} B/s allocated while streaming)"
                )
            # Deployed with --line-numbers: what the line-number tables cost.
            paths, image = prepared["mpy_lines"]
            r = _run_unix(binaries["mpy"], "mpy", args.seconds, paths, image, Path(tmp))
            unix["mpy_line_numbers"] = {k: r[k] for k in keys}
            print(
                f"unix 32-bit, {'mpy, with line numbers':28s} "
                f"{_kib(r['boot_bytes']):6.1f} K {_kib(r['stream_peak_bytes']):6.1f} K "
                f"{_kib(r['stream_steady_bytes']):6.1f} K"
            )
            # At 400 Hz (rate_hz in config.json; SET_RATE grows the ring to the same): the
            # ring holds 0.5 s of it, in larger packets.
            paths, image = prepared["mpy"]
            r = _run_unix(
                binaries["mpy"], "mpy", args.seconds, paths, image, Path(tmp), rate_hz=400
            )
            unix["mpy_400hz"] = {k: r[k] for k in keys}
            unix["mpy_400hz"]["ring_bytes"] = r["ring_bytes"]
            print(
                f"unix 32-bit, {'mpy, streaming at 400 Hz':28s} "
                f"{_kib(r['boot_bytes']):6.1f} K {_kib(r['stream_peak_bytes']):6.1f} K "
                f"{_kib(r['stream_steady_bytes']):6.1f} K"
            )
            # The serial link is opened when a USB host first sends a byte: its cost.
            paths, image = prepared["mpy"]
            r = _run_unix(binaries["mpy"], "mpy", args.seconds, paths, image, Path(tmp), True)
            if not r.get("serial_link"):
                raise RuntimeError(f"mpy, USB host: the serial link did not open: {r}")
            unix["mpy_usb_host"] = {k: r[k] for k in keys}
            print(
                f"unix 32-bit, {'mpy, a USB host talking too':28s} "
                f"{_kib(r['boot_bytes']):6.1f} K {_kib(r['stream_peak_bytes']):6.1f} K "
                f"{_kib(r['stream_steady_bytes']):6.1f} K"
            )
        figures["unix32"] = unix
        print("\nheap held by each module's import (bytes), in dependency order:")
        print(f"{'module':12s}" + "".join(f"{m:>8s}" for m in MODES))
        for name in unix["source"]["imports_bytes"]:
            print(f"{name:12s}" + "".join(f"{unix[m]['imports_bytes'][name]:8d}" for m in MODES))
        print(f"{'total':12s}" + "".join(
            f"{sum(unix[m]['imports_bytes'].values()):8d}" for m in MODES))  # fmt: skip
    r = run_micropython(
        WASM_CODE % args.seconds, mounts={ROOT / "tests" / "firmware": "/tf"}, timeout=600
    ).last
    if not r["samples"]:
        raise RuntimeError(f"wasm: the scenario streamed no samples: {r}")
    figures["wasm_source"] = {k: r[k] for k in keys}
    print(
        f"{'WebAssembly (the tests), source':40s} {_kib(r['boot_bytes']):6.1f} K "
        f"{_kib(r['stream_peak_bytes']):6.1f} K {_kib(r['stream_steady_bytes']):6.1f} K"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
