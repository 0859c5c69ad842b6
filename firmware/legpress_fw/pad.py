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
# 4095 as a little-endian u16. A 12-bit reading's high byte is at most 0x0F, so these two
# bytes can only occur in a row of u16 cells as one whole cell at the top rail.
_RAIL = b"\xff\x0f"
_pack_into = struct.pack_into


def rail_mask(cells, n):
    # Bit c set where cell c of the packed u16 cells reads 4095 (the rare slow path).
    mask = 0
    for c in range(n):
        if cells[2 * c] == 0xFF and cells[2 * c + 1] == 0x0F:
            mask |= 1 << c
    return mask


class DirectPad:
    """One ADC1 pin per cell."""

    def __init__(self, adcs, oversample=1):
        self._adcs = list(adcs)
        self.n_cells = len(self._adcs)
        self._oversample = oversample
        # Bound once: binding a method allocates, and this runs for every cell of every sample.
        self._reads = [adc.read_u16 for adc in self._adcs]
        self._cells = bytearray(2 * self.n_cells)
        self.read_into = self._read_one if oversample == 1 else self._read_averaged

    def _read_one(self, buf, offset):
        # Hot path (100-400 Hz x K cells): the cells go into a scratch row, then into the
        # packet with one copy (a slice on the stack since MicroPython 1.26: no allocation),
        # and one C-level search finds a rail instead of a comparison per cell.
        cells = self._cells
        reads = self._reads
        for c in range(self.n_cells):
            _pack_into("<H", cells, 2 * c, reads[c]() >> 4)
        buf[offset : offset + 2 * self.n_cells] = cells
        if _RAIL in cells:
            return rail_mask(cells, self.n_cells)
        return 0

    def _read_averaged(self, buf, offset):
        n = self._oversample
        reads = self._reads
        rail = 0
        for c in range(self.n_cells):
            s = 0
            for _ in range(n):
                s += reads[c]() >> 4
            v = (s + (n >> 1)) // n
            _pack_into("<H", buf, offset + 2 * c, v)
            if v >= _TOP:
                rail |= 1 << c
        return rail


class MuxPad:
    """Up to 16 cells through a CD74HC4067 multiplexer into one ADC1 pin."""

    # After switching channels the mux output and the ADC's sample capacitor need time to
    # settle through the cell's divider impedance; the first conversion after a switch is
    # discarded for the same reason.
    #
    # The channels are visited in Gray-code order (0, 1, 3, 2, 6, 7, 5, 4, ...), so from one
    # channel to the next, and from the last back to the first, one select line changes (for
    # 2, 4, 8 or 16 cells; other counts need an extra write here and there).

    def __init__(self, adc, select_pins, n_cells, settle_us=20, oversample=1):
        if not 1 <= n_cells <= 16:
            raise ValueError("n_cells must be 1..16 with a CD74HC4067")
        self._adc = adc
        self._read = adc.read_u16
        self._sel = list(select_pins)
        self.n_cells = n_cells
        self._settle_us = settle_us
        self._oversample = oversample
        self._cells = bytearray(2 * n_cells)
        sets = [p.value for p in self._sel]
        order = [g for g in [c ^ (c >> 1) for c in range(16)] if g < n_cells]
        steps = []
        prev = order[-1]
        for ch in order:
            diff = ch ^ prev
            writes = tuple((sets[b], (ch >> b) & 1) for b in range(4) if (diff >> b) & 1)
            steps.append((ch, writes))
            prev = ch
        self._steps = steps
        self.select(prev)  # where each sample's first step starts from
        self.read_into = self._read_one if oversample == 1 else self._read_averaged

    def select(self, channel):
        s = self._sel
        s[0].value(channel & 1)
        s[1].value((channel >> 1) & 1)
        s[2].value((channel >> 2) & 1)
        s[3].value((channel >> 3) & 1)

    def _read_one(self, buf, offset):
        cells = self._cells
        read = self._read
        settle_us = self._settle_us
        for ch, writes in self._steps:
            for set_line, level in writes:
                set_line(level)
            sleep_us(settle_us)
            read()  # discard: the sample-and-hold still holds the previous channel
            _pack_into("<H", cells, 2 * ch, read() >> 4)
        buf[offset : offset + 2 * self.n_cells] = cells
        if _RAIL in cells:
            return rail_mask(cells, self.n_cells)
        return 0

    def _read_averaged(self, buf, offset):
        read = self._read
        n = self._oversample
        rail = 0
        for ch, writes in self._steps:
            for set_line, level in writes:
                set_line(level)
            sleep_us(self._settle_us)
            read()
            s = 0
            for _ in range(n):
                s += read() >> 4
            v = (s + (n >> 1)) // n
            _pack_into("<H", buf, offset + 2 * ch, v)
            if v >= _TOP:
                rail |= 1 << ch
        return rail
