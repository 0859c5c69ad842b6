# The few MicroPython builtins the logic modules need, with CPython stand-ins so the same files
# run in the host simulator and the CPython tests (cpython.py, never loaded on the device).
#
# `const` is folded by the MicroPython compiler wherever it appears as `_X = const(n)`; importing
# it from here keeps the name defined at run time on both interpreters.

try:
    from micropython import const
except ImportError:  # CPython
    from .cpython import const

try:
    from time import sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_ms, ticks_us
except ImportError:  # CPython: the ESP32's 2**30 tick period, emulated exactly
    from .cpython import sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_ms, ticks_us  # noqa: F401


# log2 of the tick period, reported in DEVICE_INFO. Every ESP32 build of MicroPython uses 2**30
# (MICROPY_PY_TIME_TICKS_PERIOD = MP_SMALL_INT_POSITIVE_MASK + 1 on a 32-bit port).
TICKS_PERIOD_LOG2 = const(30)
