# Hand-written fakes of the hardware objects the firmware's logic modules take (an ADC, an
# encoder, a tick counter), shared by the scenarios (*_fw.py, fw_rigs.py). Runs under MicroPython
# (this directory mounted at /tf) and CPython alike: only builtins both interpreters have.

TICKS_MASK = (1 << 30) - 1


class Clock:
    """A ticks_us() that only moves when told to (wraps at 2**30 like the ESP32's)."""

    def __init__(self, t=0):
        self.t = t & TICKS_MASK

    def __call__(self):
        return self.t

    def advance(self, us):
        self.t = (self.t + us) & TICKS_MASK


class ADC:
    def __init__(self, v=0):
        self.v = v  # 12-bit reading

    def read_u16(self):
        return self.v << 4  # the ESP32 port scales the 12-bit reading to 16 bits


class Encoder:
    def __init__(self):
        self.v = 0

    def value(self, *set_to):
        if set_to:
            self.v = set_to[0]
            return None
        return self.v
