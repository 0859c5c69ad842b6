# Imported by ../prelude.py before every MicroPython run: bridges the gaps between the
# WebAssembly port and the ESP32 port that firmware relies on.
#
# * asyncio.ThreadSafeFlag: absent from the WebAssembly port's asyncio. Same contract as the
#   ESP32 one: set() may be called from an IRQ/callback, wait() returns once set and clears it.

import asyncio


class ThreadSafeFlag(asyncio.Event):
    async def wait(self):
        await asyncio.Event.wait(self)
        self.clear()


if not hasattr(asyncio, "ThreadSafeFlag"):
    asyncio.ThreadSafeFlag = ThreadSafeFlag
