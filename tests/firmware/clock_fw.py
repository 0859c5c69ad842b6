# DeviceClock under a tick counter of any width: stamps consecutive deadlines across wraps of
# the 30-bit clock and of the port's own counter, with the supervisor's now() in between, and
# returns the 32-bit t_us values it packed. Runs under MicroPython and CPython alike.

import struct

from legpress_fw.protocol import DeviceClock


def stamps(start, period_bits, step_us, n):
    mask = (1 << period_bits) - 1
    now = [start & mask]
    clock = DeviceClock(lambda: now[0])
    buf = bytearray(9)
    out = []
    for i in range(n):
        if i % 7 == 0:
            clock.now()  # the supervisor's read, once a second on the device
        clock.pack_time(buf, 5, now[0])
        out.append(struct.unpack_from("<I", buf, 5)[0])
        now[0] = (now[0] + step_us) & mask
    return out
