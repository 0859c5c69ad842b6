# CPython stand-ins for the MicroPython builtins the firmware uses, so that the same modules
# run in the host simulator and the CPython tests (compat.py and app.py import them where
# MicroPython's are missing). Never imported on the device, so none of it takes its heap.

import asyncio
import time as _time

TICKS_PERIOD = 1 << 30  # the ESP32's tick period, emulated exactly
_TICKS_MASK = TICKS_PERIOD - 1
_TICKS_HALF = TICKS_PERIOD >> 1


def const(value):
    return value


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


async def async_sleep_ms(ms):
    # asyncio.sleep_ms
    await asyncio.sleep(ms / 1000)


class Flag:
    # asyncio.ThreadSafeFlag: wait() returns once set, clearing it.
    def __init__(self):
        self._event = asyncio.Event()

    def set(self):
        self._event.set()

    async def wait(self):
        await self._event.wait()
        self._event.clear()
