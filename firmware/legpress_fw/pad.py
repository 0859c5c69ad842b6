# The back-pad pressure strip: K force cells read through ADC1, in order from the seat upward.
#
# Two wirings, one interface: `read_into(buf, offset)` writes K little-endian u16 readings
# (12-bit counts, 0-4095) into `buf` and returns a bit mask of cells reading at the top rail
# (4095: a shorted cell or a broken ground). An open or unloaded FSR reads near 0, which is also
# an honest "no contact", so dead open cells are found by the host, not here.
#
# ADC objects need only `read_u16()` (0-65535, the 12-bit reading scaled up); the multiplexer
# select lines need only `value(v)`. The ADC must be on ADC1: ADC2 cannot be read while the
# radio is on.

import struct

from .compat import const, sleep_us

_TOP = const(4095)


class DirectPad:
    """One ADC1 pin per cell."""

    def __init__(self, adcs, oversample=1):
        self._adcs = list(adcs)
        self.n_cells = len(self._adcs)
        self._oversample = oversample

    def read_into(self, buf, offset):
        rail = 0
        if self._oversample == 1:
            # Hot path (100-400 Hz x K cells): one line per cell, no allocation.
            for i, adc in enumerate(self._adcs):
                v = adc.read_u16() >> 4
                struct.pack_into("<H", buf, offset + 2 * i, v)
                if v >= _TOP:
                    rail |= 1 << i
            return rail
        n = self._oversample
        for i, adc in enumerate(self._adcs):
            s = 0
            for _ in range(n):
                s += adc.read_u16() >> 4
            v = (s + (n >> 1)) // n
            struct.pack_into("<H", buf, offset + 2 * i, v)
            if v >= _TOP:
                rail |= 1 << i
        return rail


class MuxPad:
    """Up to 16 cells through a CD74HC4067 multiplexer into one ADC1 pin."""

    # After switching channels the mux output and the ADC's sample capacitor need time to
    # settle through the cell's divider impedance; the first conversion after a switch is
    # discarded for the same reason.

    def __init__(self, adc, select_pins, n_cells, settle_us=20, oversample=1):
        if not 1 <= n_cells <= 16:
            raise ValueError("n_cells must be 1..16 with a CD74HC4067")
        self._adc = adc
        self._sel = list(select_pins)
        self.n_cells = n_cells
        self._settle_us = settle_us
        self._oversample = oversample

    def select(self, channel):
        s = self._sel
        s[0].value(channel & 1)
        s[1].value((channel >> 1) & 1)
        s[2].value((channel >> 2) & 1)
        s[3].value((channel >> 3) & 1)

    def read_into(self, buf, offset):
        rail = 0
        adc = self._adc
        n = self._oversample
        for i in range(self.n_cells):
            self.select(i)
            sleep_us(self._settle_us)
            adc.read_u16()  # discard: sample-and-hold still holds the previous channel
            s = 0
            for _ in range(n):
                s += adc.read_u16() >> 4
            v = (s + (n >> 1)) // n
            struct.pack_into("<H", buf, offset + 2 * i, v)
            if v >= _TOP:
                rail |= 1 << i
        return rail
