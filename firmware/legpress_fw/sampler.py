# Fixed-rate sampler: reads the pad and the sled at a drift-free cadence straight into packet
# slots of the ring.
#
# The deadline advances by exactly one period per sample with ticks_add, never from "now", so
# lateness does not accumulate. If a whole period was missed, those slots are skipped and
# counted as overruns, and the next sample starts a new packet flagged OVERRUN, so the samples
# inside a packet are always evenly spaced. A packet's t_us is its first slot's deadline.
#
# Two ways to drive it:
#
# * poll(): a caller (the host simulator's clock; the app where there is no timer) calls it
#   whenever it likes; it takes the sample that is due, if any, commits full packets to the
#   ring and returns how many microseconds remain until the next one.
# * use_timer(): on the device a hardware machine.Timer fires every period, and its callback
#   (scheduled by the ISR, so it runs between two bytecodes of whatever Python code runs, or at
#   once while asyncio idles) calls take(). asyncio itself cannot wake on time: its idle wait
#   ends on 10 ms FreeRTOS ticks, and a flag set by a timer callback is seen only at the next
#   tick. So take() reads the pad and the sled in the callback, into a small pool of packet
#   buffers, and the sampler task moves finished packets into the ring with drain() whenever
#   it runs (their buffers are exchanged, not copied). The callback touches only the pool and
#   the sampler's own fields; the ring, the clock extension and the links stay in task context.
#   A callback runs to its end before the interrupted code resumes, and the task's multi-step
#   changes (start, stop, configure) happen while `running` is False, which take() checks
#   first: every shared field has one writer at a time.
#
# Cost per sample (measured by tests/bench/bench_firmware.py): no heap allocation, and a
# budget of 60 executed lines with 8 cells.

import struct

from .compat import const, ticks_add, ticks_diff
from .protocol import record_size

# The constants of protocol.py used here, as this module's own: imported, each would cost a
# dict entry and a lookup on the device; these are folded into the code
# (tests/firmware/test_consts.py checks them against their source).
_F_DROPPED = const(0x01)
_F_OVERRUN = const(0x02)
_F_RESTART = const(0x10)
_F_SENSOR_FAULT = const(0x04)
_HEADER_SIZE = const(9)
_T_SAMPLES = const(0x01)
_VERSION = const(1)

_COUNTER_MASK = const(0x3FFFFFFF)
_NO_LIMIT = const(0x3FFFFFFF)  # beyond every position (counts) a sled can reach


_pack_into = struct.pack_into


def _quiet(pattern):
    pass


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
        self.on_ready = None  # timer mode: called (in the callback) when a packet is finished
        self.arm_timer = None  # timer mode: arm_timer(period_us) (re)starts the timer (app)
        self.pool_dropped = 0  # timer mode: samples lost because the task did not drain
        self.collect_due = False  # timer mode: collect() after the sample that ends a packet
        self.collect = None
        self.on_limit = _quiet  # on_limit(pattern): the sled passed the SET_LIMIT depth
        self.limit_beeps = 0
        self.set_limit(0, 0, 0)
        # poll(): take the sample that is due and commit full packets (see the top); bound
        # once, so the caller's call is the whole cost.
        self.poll = self.take
        self._pool = None
        self._pool_slots = 0
        self._early = 0
        self._rail = 0
        self.reset_jitter()
        self.configure(period_us, batch)

    def use_timer(self, packets=4):
        # Timer mode (see the top): `packets` finished packets can wait for the sampler task
        # (160 ms at 100 Hz, 110 ms at 400 Hz), plus the one being filled.
        self._pool_slots = packets + 1
        self.resize_pool()
        self._early = self.period_us >> 1  # the timer, not a clock read, says a slot is due
        self.poll = self._poll_timed

    def resize_pool(self):
        # Timer mode: the pool's buffers, as large as the ring's slots (they change places with
        # them); made anew when the ring is (Device._fit_ring), while stopped and drained.
        n = self._pool_slots
        if not n:
            return
        size = self._ring.slot_size
        self._pool = [bytearray(size) for _ in range(n)]
        self._pool_view = [None] * n
        self._pool_len = [0] * n
        self._pool_n = [0] * n
        self._pw = 0  # the buffer take() fills; written by the callback only
        self._pr = 0  # the oldest finished one; written by drain() only
        self._view_pool()

    def _view_pool(self):
        if self._pool is not None:
            self._pool_view = [memoryview(b)[: self._end] for b in self._pool]

    def configure(self, period_us, batch):
        if batch < 1 or _HEADER_SIZE + batch * self._rec > self._ring.slot_size:
            raise ValueError("batch does not fit a ring slot")
        self.period_us = period_us
        self.batch = batch
        self._end = _HEADER_SIZE + batch * self._rec  # offset just past a full packet
        self._ring.configure(self._end)
        self._view_pool()
        if self._pool is not None:
            self._early = period_us >> 1

    def start(self, now=None):
        # The first sample is due at once; the first packet carries RESTART. In timer mode the
        # timer is (re)armed here, so its fires fall just after the deadlines, and the first
        # sample comes with the first fire, one period on.
        self.running = False
        self._off = _HEADER_SIZE
        self._flags = _F_RESTART
        self._rail = 0
        if self._pool is None:
            self._deadline = self._ticks_us() if now is None else now
            self._buf = self._ring.writable()
        else:
            self.drain()
            self._buf = self._pool[self._pw]
            t = self._ticks_us()
            if self.arm_timer is not None:
                self.arm_timer(self.period_us)
            self._deadline = ticks_add(t, self.period_us)
        self.running = True

    def stop(self):
        # Commit a partly filled packet so no sample taken is lost.
        was = self.running
        self.running = False  # first: from here on take() does nothing
        if was and self._off != _HEADER_SIZE:
            self._commit()
        self.drain()

    def set_limit(self, limit, rearm, pattern):
        # The device's own depth limit (SET_LIMIT): in the sample in which the position goes
        # past `limit` (counts, larger = deeper) on_limit(pattern) is called, once, until the
        # sled came back above limit - rearm. Checked in every sample and, while nothing
        # streams (a dropped link), from a position read each period. pattern 0: no limit.
        self._limit_at = limit
        self._rearm_at = limit - rearm
        self._limit_pattern = pattern
        self._limit = limit if pattern else _NO_LIMIT  # a sample past this beeps...
        self._rearm_below = -_NO_LIMIT  # ... and one above this re-arms

    def _check_limit(self, pos):
        if pos > self._limit:
            self._limit = _NO_LIMIT
            self._rearm_below = self._rearm_at
            self.limit_beeps = (self.limit_beeps + 1) & _COUNTER_MASK
            self.on_limit(self._limit_pattern)
        elif pos < self._rearm_below:
            self._limit = self._limit_at
            self._rearm_below = -_NO_LIMIT

    def reset_jitter(self):
        self.jitter_max_us = 0
        self._jitter_sum_us = 0
        self._jitter_from = self.samples_total

    def jitter_mean_us(self):
        n = (self.samples_total - self._jitter_from) & _COUNTER_MASK
        return self._jitter_sum_us // n if n else 0

    def _poll_timed(self):
        # poll() in timer mode (tests, the benchmark): take(), then drain() at once.
        wait = self.take()
        self.drain()
        return wait

    def take(self, _timer=None):
        # The per-sample path: no allocation and as few steps as possible (the budget is in
        # tests/bench/bench_firmware.py). Rails and counters are folded into the packet at
        # commit time. In timer mode this is the timer callback (its argument is the Timer).
        if not self.running:
            if self._limit_pattern:
                pos = self._pos.value()
                if pos > self._limit or pos < self._rearm_below:
                    self._check_limit(pos)
            return self.period_us
        late = ticks_diff(self._ticks_us(), self._deadline)
        if late < 0:
            if late < -self._early:
                return -late
            late = 0  # timer mode: a fire a hair before its deadline is on time
        if late >= self.period_us:
            late = self._overrun(late)
        off = self._off
        if off == _HEADER_SIZE:
            if self._pool is None:
                self._clock.pack_time(self._buf, 5, self._deadline)
            else:  # raw ticks: drain() extends them, in task context
                _pack_into("<I", self._buf, 5, self._deadline)
        self._rail |= self._pad.read_into(self._buf, off)
        pos = self._pos.value()
        _pack_into("<i", self._buf, off + self._pos_at, pos)
        if pos > self._limit or pos < self._rearm_below:
            self._check_limit(pos)
        if late > self.jitter_max_us:
            self.jitter_max_us = late
        self._jitter_sum_us = (self._jitter_sum_us + late) & _COUNTER_MASK
        self.samples_total = (self.samples_total + 1) & _COUNTER_MASK
        self._off = off + self._rec
        if self._off == self._end:
            self._commit()
        self._deadline = ticks_add(self._deadline, self.period_us)
        return self.period_us - late

    def drain(self):
        # Timer mode, task context: finished packets from the pool into the ring, exchanging
        # buffers (the ring's free slot becomes the pool's); the time field is extended to the
        # protocol's 32 bits here. Returns how many moved.
        if self._pool is None:
            return 0
        ring = self._ring
        pool = self._pool
        moved = 0
        r = self._pr
        while r != self._pw:
            buf = pool[r]
            t = buf[5] | (buf[6] << 8) | (buf[7] << 16) | (buf[8] << 24)
            self._clock.pack_time(buf, 5, t)
            if ring.dropped_pending:
                buf[2] |= _F_DROPPED
                ring.dropped_pending = False
            pool[r] = ring.exchange(buf, self._pool_view[r], self._pool_len[r], self._pool_n[r])
            self._pool_view[r] = ring.out_view
            r += 1
            if r == self._pool_slots:
                r = 0
            self._pr = r
            moved += 1
            if self.on_commit is not None:
                self.on_commit()
        return moved

    def _overrun(self, late):
        # Whole periods were missed: skip those slots, count them, and start a new packet
        # flagged OVERRUN so the samples inside a packet stay evenly spaced.
        period = self.period_us
        skipped = late // period
        self.overruns = (self.overruns + skipped) & _COUNTER_MASK
        self._deadline = ticks_add(self._deadline, skipped * period)
        if self._off != _HEADER_SIZE:
            self._commit()
        self._flags |= _F_OVERRUN
        return late - skipped * period

    def _commit(self):
        flags = self._flags
        if self._rail:
            flags |= _F_SENSOR_FAULT
            self.rail_cells |= self._rail
            self._rail = 0
        n = (self._off - _HEADER_SIZE) // self._rec
        if self._pool is not None:
            self._publish(flags, n)
            return
        ring = self._ring
        if ring.dropped_pending:
            flags |= _F_DROPPED
            ring.dropped_pending = False
        _pack_into("<BBBH", self._buf, 0, _VERSION, _T_SAMPLES, flags, self.seq)
        self.seq = (self.seq + 1) & 0xFFFF
        ring.commit(self._off, n)
        self._buf = ring.writable()
        self._off = _HEADER_SIZE
        self._flags = 0
        if self.on_commit is not None:
            self.on_commit()

    def _publish(self, flags, n):
        # Timer mode: the packet in pool[_pw] is finished; the next buffer is taken if the
        # sampler task has drained it, else this packet is given up (counted, and the next
        # one says OVERRUN: the task stalled for a whole pool).
        w = self._pw
        nxt = w + 1
        if nxt == self._pool_slots:
            nxt = 0
        self._off = _HEADER_SIZE
        if nxt == self._pr:
            self.pool_dropped = (self.pool_dropped + n) & _COUNTER_MASK
            self._flags = _F_OVERRUN
            return
        _pack_into("<BBBH", self._buf, 0, _VERSION, _T_SAMPLES, flags, self.seq)
        self.seq = (self.seq + 1) & 0xFFFF
        self._pool_len[w] = _HEADER_SIZE + n * self._rec
        self._pool_n[w] = n
        self._buf = self._pool[nxt]  # pyright: ignore[reportOptionalSubscript]
        self._flags = 0
        self._pw = nxt
        if self.on_ready is not None:
            self.on_ready()
        if self.collect_due:  # right after a sample: a whole period is left for the pause
            self.collect_due = False
            self.collect()  # pyright: ignore[reportOptionalCall]
