# The few MicroPython builtins the logic modules need, with CPython stand-ins so the same files
# run in the host simulator and the CPython tests.
#
# `const` is folded by the MicroPython compiler wherever it appears as `_X = const(n)`; importing
# it from here keeps the name defined at run time on both interpreters.

try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


try:
    from time import sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_ms, ticks_us
except ImportError:  # CPython: emulate the ESP32's 2**30 tick period exactly.
    import time as _time

    TICKS_PERIOD = 1 << 30
    _TICKS_MASK = TICKS_PERIOD - 1
    _TICKS_HALF = TICKS_PERIOD >> 1

    def ticks_add(ticks, delta):
        return (ticks + delta) & _TICKS_MASK

    def ticks_diff(ticks1, ticks2):
        return ((ticks1 - ticks2 + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF

    def ticks_us():
        return (_time.monotonic_ns() // 1000) & _TICKS_MASK

    def ticks_ms():
        return (_time.monotonic_ns() // 1000000) & _TICKS_MASK

    def sleep_ms(ms):
        _time.sleep(ms / 1000)

    def sleep_us(us):
        _time.sleep(us / 1000000)


# log2 of the tick period, reported in DEVICE_INFO. Every ESP32 build of MicroPython uses 2**30
# (MICROPY_PY_TIME_TICKS_PERIOD = MP_SMALL_INT_POSITIVE_MASK + 1 on a 32-bit port).
TICKS_PERIOD_LOG2 = const(30)
