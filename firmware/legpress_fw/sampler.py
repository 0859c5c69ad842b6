# Fixed-rate sampler: reads the pad and the sled at a drift-free cadence straight into packet
# slots of the ring.
#
# The deadline advances by exactly one period per sample with ticks_add, never from "now", so
# lateness does not accumulate. A caller (the asyncio task on the device, the simulator's
# clock on the host) calls poll() whenever it likes; poll() takes the sample that is due, if
# any, and returns how many microseconds remain until the next one. If a whole period was
# missed, those slots are skipped and counted as overruns, and the next sample starts a new
# packet flagged OVERRUN, so the samples inside a packet are always evenly spaced.
#
# Cost per sample (measured by tests/bench/bench_firmware.py): no heap allocation, and a
# budget of 60 executed lines with 8 cells.

import struct

from .compat import const, ticks_add, ticks_diff
from .protocol import (
    F_DROPPED,
    F_OVERRUN,
    F_RESTART,
    F_SENSOR_FAULT,
    HEADER_SIZE,
    T_SAMPLES,
    VERSION,
    record_size,
)

_COUNTER_MASK = const(0x3FFFFFFF)


_pack_into = struct.pack_into


class Sampler:
    def __init__(self, pad, position, ticks_us, clock, ring, period_us=10000, batch=4):
        self._pad = pad
        self._pos = position
        self._ticks_us = ticks_us
        self._clock = clock
        self._ring = ring
        self.n_cells = pad.n_cells
        self._rec = record_size(pad.n_cells)
        self._pos_at = 2 * pad.n_cells  # offset of the position within a record
        self.running = False
        self.seq = 0
        self.samples_total = 0
        self.overruns = 0
        self.rail_cells = 0
        self.position_errors = 0
        self.on_commit = None  # called after each packet goes into the ring (app: wake the link)
        self._rail = 0
        self.reset_jitter()
        self.configure(period_us, batch)

    def configure(self, period_us, batch):
        if batch < 1 or HEADER_SIZE + batch * self._rec > self._ring.slot_size:
            raise ValueError("batch does not fit a ring slot")
        self.period_us = period_us
        self.batch = batch
        self._end = HEADER_SIZE + batch * self._rec  # offset just past a full packet
        self._ring.configure(self._end)

    def start(self, now=None):
        # The first sample is due at once; the first packet carries RESTART.
        self._deadline = self._ticks_us() if now is None else now
        self._off = HEADER_SIZE
        self._flags = F_RESTART
        self._rail = 0
        self._buf = self._ring.writable()
        self.running = True

    def stop(self):
        # Commit a partly filled packet so no sample taken is lost.
        if self.running and self._off != HEADER_SIZE:
            self._commit()
        self.running = False

    def reset_jitter(self):
        self.jitter_max_us = 0
        self._jitter_sum_us = 0
        self._jitter_from = self.samples_total

    def jitter_mean_us(self):
        n = (self.samples_total - self._jitter_from) & _COUNTER_MASK
        return self._jitter_sum_us // n if n else 0

    def poll(self):
        # The per-sample path: no allocation and as few steps as possible (the budget is in
        # tests/bench/bench_firmware.py). Rails and counters are folded into the packet at
        # commit time.
        if not self.running:
            return self.period_us
        late = ticks_diff(self._ticks_us(), self._deadline)
        if late < 0:
            return -late
        if late >= self.period_us:
            late = self._overrun(late)
        off = self._off
        if off == HEADER_SIZE:
            self._clock.pack_time(self._buf, 5, self._deadline)
        self._rail |= self._pad.read_into(self._buf, off)
        _pack_into("<i", self._buf, off + self._pos_at, self._pos.value())
        if late > self.jitter_max_us:
            self.jitter_max_us = late
        self._jitter_sum_us = (self._jitter_sum_us + late) & _COUNTER_MASK
        self.samples_total = (self.samples_total + 1) & _COUNTER_MASK
        self._off = off + self._rec
        if self._off == self._end:
            self._commit()
        self._deadline = ticks_add(self._deadline, self.period_us)
        return self.period_us - late

    def _overrun(self, late):
        # Whole periods were missed: skip those slots, count them, and start a new packet
        # flagged OVERRUN so the samples inside a packet stay evenly spaced.
        period = self.period_us
        skipped = late // period
        self.overruns = (self.overruns + skipped) & _COUNTER_MASK
        self._deadline = ticks_add(self._deadline, skipped * period)
        if self._off != HEADER_SIZE:
            self._commit()
        self._flags |= F_OVERRUN
        return late - skipped * period

    def _commit(self):
        ring = self._ring
        flags = self._flags
        if self._rail:
            flags |= F_SENSOR_FAULT
            self.rail_cells |= self._rail
            self._rail = 0
        if ring.dropped_pending:
            flags |= F_DROPPED
            ring.dropped_pending = False
        _pack_into("<BBBH", self._buf, 0, VERSION, T_SAMPLES, flags, self.seq)
        self.seq = (self.seq + 1) & 0xFFFF
        ring.commit(self._off, (self._off - HEADER_SIZE) // self._rec)
        self._buf = ring.writable()
        self._off = HEADER_SIZE
        self._flags = 0
        if self.on_commit is not None:
            self.on_commit()
