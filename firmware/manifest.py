# ruff: noqa: F821
# Freezes the legpress_fw package into a MicroPython firmware image, so its bytecode stays in
# flash instead of the heap (firmware/README.md, "Memory"). Include it from a board manifest,
# next to the board's own modules:
#
#   include("$(PORT_DIR)/boards/manifest.py")
#   include("/path/to/legpress/firmware/manifest.py")
#
# then build the ESP32 port with FROZEN_MANIFEST=/path/to/that/manifest.py.
# tests/bench/frozen32.py builds MicroPython's unix port with it (bench_memory.py).
package("legpress_fw")
