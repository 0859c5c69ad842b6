# Runs the memory scenario (memory_fw.py) on MicroPython's unix port, for bench_memory.py:
#
#   micropython memory_main.py MODE SECONDS PATH[:PATH...] [ROMFS_IMAGE] [usb] [400hz]
#
# MODE says where legpress_fw comes from: "source" (.py files, compiled at import), "mpy"
# (.mpy files, as `legpress firmware deploy` installs them), "frozen" (built into the binary:
# tests/bench/frozen32.py), "romfs" (a ROMFS image, read into the heap and mounted at /rom as
# the board mounts its ROMFS partition; the image's bytes are the partition, flash on a chip,
# and are held before the rig's baseline). PATHs go in front of sys.path. Prints one JSON
# line: boot_and_stream's figures, and "imports" (import_costs) from a second pass. "usb": a
# USB host talks after boot (the serial link is opened); "400hz": config.json sets rate_hz 400
# (100 otherwise).
import sys

mode = sys.argv[1]
seconds = float(sys.argv[2])
sys.path[:0] = sys.argv[3].split(":")
image = None
if mode == "romfs":
    import vfs

    with open(sys.argv[4], "rb") as f:
        image = f.read()
    vfs.mount(vfs.VfsRom(image), "/rom")
    sys.path.insert(0, "/rom/lib")

import asyncio  # noqa: E402
import json  # noqa: E402

import memory_fw  # noqa: E402

MODULES = ["compat", "protocol", "config", "ring", "pad", "position", "buzzer", "sampler"]
MODULES += ["device", "control", "framing", "ble_link", "serial_link", "radio", "board", "app"]
MODULES += ["startup"]

if seconds > 0:
    usb_host = "usb" in sys.argv[4:]
    rate_hz = 400 if "400hz" in sys.argv[4:] else 100
    r = asyncio.run(memory_fw.boot_and_stream(seconds, rate_hz=rate_hz, usb_host=usb_host))
else:
    r = {"imports": memory_fw.import_costs(MODULES)}
r["mode"] = mode
r["image_bytes"] = len(image) if image is not None else 0
print(json.dumps(r))
