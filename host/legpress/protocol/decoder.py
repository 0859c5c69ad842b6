"""Sans-I/O stream decoder: device packets in, numpy sample blocks and events out.

The decoder owns no socket, thread or event loop. Feed it each packet (a BLE notification or a
deframed serial message) with the host time it arrived; it returns what the packet meant:

- :class:`SampleBlock`: samples with device-clock times (``t_s``, seconds since the stream's
  first sample) and host-clock times (``t_host_s``, from a fitted device-to-host clock model);
- :class:`Gap`: sample packets that never arrived (``seq`` jumped);
- :class:`~legpress.protocol.messages.DeviceInfo`, :class:`~legpress.protocol.messages.Status`,
  :class:`~legpress.protocol.messages.Reply`, :class:`~legpress.protocol.messages.Log`.

``DEVICE_INFO`` is decoded here and nowhere else: from a ``DEVICE_INFO`` packet, or from an OK
reply that changes it (``GET_INFO``, ``SET_RATE``, ``TARE``; see
:func:`~legpress.protocol.messages.apply_reply`), which the decoder returns as a new
:class:`~legpress.protocol.messages.DeviceInfo` just before the reply itself.

Corrupt, duplicated and late packets are counted in :attr:`Decoder.stats`, never raised.
:meth:`Decoder.decode_batch` decodes a whole recording at once and gives exactly the samples
that feeding the packets one by one gives.
"""

from __future__ import annotations

import bisect
import contextlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from legpress.errors import ProtocolError
from legpress.protocol.messages import DeviceInfo, Log, Reply, Status, apply_reply
from legpress.protocol.spec import (
    HEADER,
    HEADER_SIZE,
    SEQ_WRAP,
    TIME_WRAP_US,
    VERSION,
    Command,
    Flag,
    MsgType,
)

_HALF_WRAP_US: Final = TIME_WRAP_US // 2
_RECENT: Final = 512  # sequence numbers remembered for duplicate detection
_BIN_US: Final = 1_000_000  # clock-fit bin: one lower-envelope point per device second
_BINS: Final = 60  # clock fit over the last minute
_SEQ_MASK: Final = SEQ_WRAP - 1
_SEQ_HALF: Final = SEQ_WRAP // 2
_SAMPLES: Final = int(MsgType.SAMPLES)
_COMPACT: Final = int(MsgType.SAMPLES_COMPACT)
_RESTART: Final = int(Flag.RESTART)
_DROPPED: Final = int(Flag.DROPPED)
_OVERRUN: Final = int(Flag.OVERRUN)
_SENSOR_FAULT: Final = int(Flag.SENSOR_FAULT)
# HEADER as a numpy record, to read the headers of a whole batch at once.
_HEADER_DTYPE: Final = np.dtype(
    [("version", "u1"), ("type", "u1"), ("flags", "u1"), ("seq", "<u2"), ("t32", "<u4")]
)


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Consecutive samples, decoded.

    Attributes:
        t_s: device-clock time of each sample, seconds since the stream's first sample.
        t_host_s: the same instants on the host clock (seconds, the clock of the receive times
            given to the decoder), from the fitted clock model; equals ``t_s`` plus the first
            packet's arrival time when no receive times were given.
        cells: ADC counts, shape ``(n, K)``, cell 0 at the seat. Compact packets are scaled to
            12-bit counts.
        position: sled position in encoder counts, 0 at the zeroed top, deeper is larger.
        flags: the packet flags of each sample (:class:`~legpress.protocol.spec.Flag`).
        seq: the sequence number of each sample's packet.
    """

    t_s: npt.NDArray[np.float64]
    t_host_s: npt.NDArray[np.float64]
    cells: npt.NDArray[np.uint16]
    position: npt.NDArray[np.int32]
    flags: npt.NDArray[np.uint8]
    seq: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def n_cells(self) -> int:
        """Number of pad cells."""
        return int(self.cells.shape[1])

    @classmethod
    def empty(cls, n_cells: int) -> SampleBlock:
        """A block with no samples."""
        return cls(
            np.empty(0, np.float64),
            np.empty(0, np.float64),
            np.empty((0, n_cells), np.uint16),
            np.empty(0, np.int32),
            np.empty(0, np.uint8),
            np.empty(0, np.uint16),
        )

    @classmethod
    def concat(cls, blocks: Sequence[SampleBlock], n_cells: int | None = None) -> SampleBlock:
        """Join blocks in order."""
        if not blocks:
            if n_cells is None:
                raise ValueError("concat of no blocks needs n_cells")
            return cls.empty(n_cells)
        return cls(
            np.concatenate([b.t_s for b in blocks]),
            np.concatenate([b.t_host_s for b in blocks]),
            np.concatenate([b.cells for b in blocks]),
            np.concatenate([b.position for b in blocks]),
            np.concatenate([b.flags for b in blocks]),
            np.concatenate([b.seq for b in blocks]),
        )

    def slice(self, start: int, stop: int) -> SampleBlock:
        """Samples ``start:stop``."""
        return SampleBlock(
            self.t_s[start:stop],
            self.t_host_s[start:stop],
            self.cells[start:stop],
            self.position[start:stop],
            self.flags[start:stop],
            self.seq[start:stop],
        )


@dataclass(frozen=True, slots=True)
class Gap:
    """Sample packets that never arrived.

    Attributes:
        t_s: device time where the missing samples would have started.
        lost_packets: packets missing (from the sequence numbers).
        lost_samples: samples missing: from the device clock, or, across a stream the device
            restarted (after a lost link), the device's own count of the samples it dropped
            (``STATUS.samples_dropped`` since the last packet; 0 when no ``STATUS`` came
            before). Packets the device sent that were lost in the air before it noticed the
            lost link are in ``lost_packets`` only.
    """

    t_s: float
    lost_packets: int
    lost_samples: int


@dataclass(slots=True)
class DecoderStats:
    """Counters of everything the decoder saw. All only grow.

    Attributes:
        packets: packets fed.
        sample_packets: sample packets delivered.
        samples: samples delivered.
        lost_packets: sample packets missing from the sequence.
        gaps: times the sequence jumped.
        duplicates: sample packets seen twice (dropped).
        late: sample packets that arrived after later ones (dropped: detection only moves
            forward in time).
        corrupt: packets that could not be decoded (short, bad version, bad length).
        unknown: packets of a type the host does not know.
        undecodable: sample packets that came before any ``DEVICE_INFO`` (dropped).
        restarts: streams restarted by the device (``RESTART`` flag).
        device_dropped: packets whose ``DROPPED`` flag says the device ring overflowed.
        overruns: packets whose ``OVERRUN`` flag says the device missed a sampling deadline.
        sensor_faults: packets with the ``SENSOR_FAULT`` flag.
    """

    packets: int = 0
    sample_packets: int = 0
    samples: int = 0
    lost_packets: int = 0
    gaps: int = 0
    duplicates: int = 0
    late: int = 0
    corrupt: int = 0
    unknown: int = 0
    undecodable: int = 0
    restarts: int = 0
    device_dropped: int = 0
    overruns: int = 0
    sensor_faults: int = 0

    def loss_fraction(self) -> float:
        """Fraction of sample packets lost on the link."""
        total = self.sample_packets + self.lost_packets
        return self.lost_packets / total if total else 0.0


def sample_dtype(n_cells: int, compact: bool = False) -> np.dtype[np.void]:
    """The numpy record type of one sample."""
    if compact:
        return np.dtype([("cells", "u1", (n_cells,)), ("position", "<i2")])
    return np.dtype([("cells", "<u2", (n_cells,)), ("position", "<i4")])


@dataclass(slots=True)
class _ClockModel:
    """Device-to-host clock model: ``host = device + a + b * device`` (seconds).

    The model follows the lower envelope of ``host_arrival - device_time``: link latency only
    ever adds delay, so the smallest offset in each device second is the best estimate of the
    true offset at that second. A least-squares line through the last minute of such minima
    gives the offset and the drift. Updated once per device second; causal.
    """

    a: float = float("nan")
    b: float = 0.0
    bin_start_us: int = -1
    bin_min: float = float("inf")
    bin_t_us: int = 0
    points: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=_BINS))

    def update(self, dev_us: int, host_s: float) -> None:
        offset = host_s - dev_us / 1e6
        if self.bin_start_us < 0:
            self.bin_start_us = dev_us
            self.a = offset
        if dev_us - self.bin_start_us >= _BIN_US:
            self.points.append((self.bin_t_us / 1e6, self.bin_min))
            self._fit()
            self.bin_start_us = dev_us
            self.bin_min = float("inf")
        if offset < self.bin_min:
            self.bin_min = offset
            self.bin_t_us = dev_us
        if not self.points and offset < self.a:
            self.a = offset

    def _fit(self) -> None:
        self.a, self.b = _line_fit(self.points)

    def run(
        self, dev_us: npt.NDArray[np.int64], host_s: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """:meth:`update` with each pair in turn, vectorised: the model after each.

        Gives, to the bit, what calling :meth:`update` packet by packet gives (the same bins,
        the same minima, the same fits) and leaves the model in the same state.

        Args:
            dev_us: the device time of each packet's last sample, microseconds (not empty).
            host_s: its arrival time, host seconds.

        Returns:
            ``a`` and ``b`` after each packet.
        """
        m = len(dev_us)
        offset = host_s - dev_us / 1e6
        if self.bin_start_us < 0:
            self.bin_start_us = int(dev_us[0])
            self.a = float(offset[0])
        # Bin boundaries: the first packet a whole bin after the current bin's start.
        top = np.maximum.accumulate(dev_us).tolist()
        bounds: list[int] = []
        i = bisect.bisect_left(top, self.bin_start_us + _BIN_US)
        while i < m:
            bounds.append(i)
            i = bisect.bisect_left(top, top[i] + _BIN_US, i + 1)
        # Each stretch's lowest offset and where it first occurs; stretch 0 continues the
        # current bin (empty when the first packet starts a new one).
        joins = not bounds or bounds[0] > 0
        edges = np.asarray([0, *bounds] if joins else bounds, np.intp)
        lows = np.minimum.reduceat(offset, edges)
        sizes = np.diff(np.append(edges, m))
        where = np.where(offset == np.repeat(lows, sizes), np.arange(m), m)
        at = np.minimum.reduceat(where, edges)
        lows_l = lows.tolist()
        times_l = dev_us[at].tolist()
        if joins:
            if lows_l[0] < self.bin_min:
                self.bin_min, self.bin_t_us = lows_l[0], times_l[0]
            lows_l, times_l = lows_l[1:], times_l[1:]
        a = np.empty(m, np.float64)
        b = np.empty(m, np.float64)
        head = bounds[0] if bounds else m
        if head:
            if self.points:
                a[:head] = self.a
            else:
                a[:head] = np.minimum.accumulate(np.append(self.a, offset[:head]))[1:]
                self.a = float(a[head - 1])
            b[:head] = self.b
        if not bounds:
            return a, b
        # One new point per boundary (the bin it closes), then a fit over the last minute.
        new = [(self.bin_t_us / 1e6, self.bin_min)]
        new += [(t / 1e6, low) for t, low in zip(times_l[:-1], lows_l[:-1], strict=True)]
        pts = [*self.points, *new]
        # Fit k is over the points before ends[k]: the last minute of them, or all there are.
        ends = np.arange(len(self.points) + 1, len(pts) + 1)
        fa = np.empty(len(new), np.float64)
        fb = np.empty(len(new), np.float64)
        few = int(np.count_nonzero(ends < 3))  # at most the first two fits of a stream
        for k in range(few):
            fa[k], fb[k] = _line_fit(pts[: int(ends[k])])
        if few < len(new):
            xs = np.zeros(max(len(pts), _BINS), np.float64)
            ys = np.zeros(max(len(pts), _BINS), np.float64)
            xs[: len(pts)] = [p[0] for p in pts]
            ys[: len(pts)] = [p[1] for p in pts]
            win_x = np.lib.stride_tricks.sliding_window_view(xs, _BINS)
            win_y = np.lib.stride_tricks.sliding_window_view(ys, _BINS)
            full = max(few, int(np.searchsorted(ends, _BINS)))  # the first minute's fits
            if full > few:  # the first minute: fits over the first points only
                firsts = ends[few:full]
                fa[few:full], fb[few:full] = _line_fits(win_x[:1], win_y[:1], firsts)
            if full < len(new):
                rows = ends[full:] - _BINS
                fa[full:], fb[full:] = _line_fits(win_x[rows], win_y[rows], None)
        stops = [*bounds[1:], m]
        a[head:] = np.repeat(fa, np.diff(np.asarray([head, *stops])))
        b[head:] = np.repeat(fb, np.diff(np.asarray([head, *stops])))
        self.points.extend(new)
        self.a, self.b = float(fa[-1]), float(fb[-1])
        self.bin_start_us = int(dev_us[bounds[-1]])
        self.bin_min, self.bin_t_us = lows_l[-1], times_l[-1]
        return a, b

    def host_times(self, dev_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return _host_times(dev_s, self.a, self.b)


def _line_fit(
    points: Sequence[tuple[float, float]] | deque[tuple[float, float]],
) -> tuple[float, float]:
    """The clock model ``(a, b)`` through (device second, lowest offset) points.

    A least-squares line; fewer than three points give their lowest offset and no drift. The
    sums run left to right (not ``sum()``, which is compensated from Python 3.12), so
    :func:`_line_fits` can give the same bits.
    """
    n = len(points)
    if n < 3:
        return min(p[1] for p in points), 0.0
    sx = sy = 0.0
    for x, y in points:
        sx += x
        sy += y
    xm = sx / n
    ym = sy / n
    sxx = 0.0
    sxy = 0.0
    for x, y in points:
        dx = x - xm
        sxx += dx * dx
        sxy += dx * (y - ym)
    slope = sxy / sxx if sxx > 0.0 else 0.0
    # A crystal drifts by tens of ppm; a larger slope is latency noise, not drift.
    slope = max(-1e-3, min(1e-3, slope))
    return ym - slope * xm, slope


def _line_fits(
    xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64], n: npt.NDArray[np.int64] | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`_line_fit` of each row of ``xs``, ``ys`` (shape ``(fits, points)``), in the same
    operations in the same order: the same bits.

    Args:
        xs: the points' device seconds.
        ys: their offsets.
        n: None, or fits over the first ``n[k]`` points (at least three) of the one row given:
            the columns after them become zero terms, and as sums that start at +0.0 are never
            -0.0, adding those zeros leaves them as they are.
    """
    if n is not None:
        inside = np.arange(xs.shape[1]) < n[:, None]
        xs = np.where(inside, xs, 0.0)
        ys = np.where(inside, ys, 0.0)
        count: int | npt.NDArray[np.int64] = n
    else:
        count = xs.shape[1]
    xm = _sums(xs) / count
    ym = _sums(ys) / count
    dx = xs - xm[:, None]
    if n is not None:
        dx[~inside] = 0.0
    sxx = _sums(dx * dx)
    sxy = _sums(dx * (ys - ym[:, None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(sxx > 0.0, sxy / sxx, 0.0)
    slope = np.maximum(-1e-3, np.minimum(1e-3, slope))
    return ym - slope * xm, slope


def _sums(terms: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each row's sum from +0.0, left to right, column by column: the very bits of
    ``s = 0.0; for t in row: s += t`` (``np.sum`` adds pairwise)."""
    total = np.zeros(terms.shape[0])
    for j in range(terms.shape[1]):
        total += terms[:, j]
    return total


def _integers(values: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
    """``values`` as int64, or None when they are not all integers that fit (then each
    packet goes through the per-packet path, with the values as given)."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "u" and (not arr.size or int(arr.max()) <= np.iinfo(np.int64).max):
        return arr.astype(np.int64)
    return None


def _host_times(
    dev_s: npt.NDArray[np.float64],
    a: float | npt.NDArray[np.float64],
    b: float | npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Device seconds to host seconds under the clock model ``(a, b)`` (scalars or per sample)."""
    return dev_s + (a + b * dev_s)


def _records(
    body: bytes | memoryview | npt.NDArray[np.uint8], dtype: np.dtype[np.void], compact: bool
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.int32]]:
    """Cells (compact ones scaled to 12-bit counts) and positions of whole sample records."""
    rec = np.frombuffer(body, dtype)
    cells = rec["cells"].astype(np.uint16)
    if compact:
        cells <<= 4
    return cells, rec["position"].astype(np.int32)


class Decoder:
    """Decodes one device's packets, in arrival order.

    Args:
        info: the device's ``DEVICE_INFO``, if already known (a recording header). A
            ``DEVICE_INFO`` packet, or a reply that changes it, replaces it.
    """

    def __init__(self, info: DeviceInfo | None = None) -> None:
        self.info: DeviceInfo | None = None
        self.stats = DecoderStats()
        self._last_seq: int | None = None
        self._recent: deque[int] = deque()
        self._recent_count: dict[int, int] = {}
        self._last_t32 = 0
        self._last_dev_us = 0
        self._last_host_ns: int | None = None
        self._origin_us: int | None = None
        self._next_dev_us: int | None = None
        # The device's own count of samples it dropped (STATUS samples_dropped), from the
        # latest STATUS or GET_STATUS reply, and its value when the last sample packet came.
        self._dev_dropped: int | None = None
        self._dev_dropped_at_last: int | None = None
        self._clock = _ClockModel()
        self._dtype = sample_dtype(1)
        self._dtype_compact = sample_dtype(1, True)
        self._size = 6
        self._size_compact = 3
        self._period_us = 1
        if info is not None:
            self.set_info(info)

    def set_info(self, info: DeviceInfo) -> None:
        """Use ``info`` (cell count, sample period) for the packets that follow."""
        self.info = info
        self._dtype = sample_dtype(info.n_cells)
        self._dtype_compact = sample_dtype(info.n_cells, True)
        self._size = 2 * info.n_cells + 4
        self._size_compact = info.n_cells + 2
        self._period_us = info.period_us

    @property
    def t_s(self) -> float:
        """Device time of the newest decoded sample, seconds since the stream's first sample."""
        if self._origin_us is None or self._next_dev_us is None or self.info is None:
            return 0.0
        return (self._next_dev_us - self.info.period_us - self._origin_us) / 1e6

    def feed(
        self, packet: bytes | bytearray | memoryview, t_host_ns: int | None = None
    ) -> list[SampleBlock | Gap | DeviceInfo | Status | Reply | Log]:
        """Decode one packet.

        Args:
            packet: the message bytes (one BLE notification, or one deframed serial message).
            t_host_ns: when it arrived, on any host clock in nanoseconds (e.g.
                ``time.monotonic_ns()``); None if unknown.

        Returns:
            What the packet meant, in order: a :class:`Gap` may precede a :class:`SampleBlock`.
            Corrupt, duplicate and late packets give an empty list (and are counted).
        """
        self.stats.packets += 1
        parsed = self._parse(packet)
        if parsed is None:
            return []
        mtype, flags, seq, t32, body = parsed
        if mtype == MsgType.SAMPLES or mtype == MsgType.SAMPLES_COMPACT:
            return self._samples(mtype, flags, seq, t32, body, t_host_ns)
        return self._other(mtype, body, packet)

    # -- parsing ----------------------------------------------------------------------------

    def _parse(
        self, packet: bytes | bytearray | memoryview
    ) -> tuple[int, int, int, int, memoryview] | None:
        if len(packet) < HEADER_SIZE:
            self.stats.corrupt += 1
            return None
        version, mtype, flags, seq, t32 = HEADER.unpack_from(packet)
        if version != VERSION:
            self.stats.corrupt += 1
            return None
        return mtype, flags, seq, t32, memoryview(packet)[HEADER_SIZE:]

    def _other(
        self, mtype: int, body: memoryview, packet: bytes | bytearray | memoryview
    ) -> list[SampleBlock | Gap | DeviceInfo | Status | Reply | Log]:
        try:
            if mtype == MsgType.DEVICE_INFO:
                info = DeviceInfo.from_body(body)
                self.set_info(info)
                return [info]
            if mtype == MsgType.STATUS:
                status = Status.from_body(body)
                self._dev_dropped = status.samples_dropped
                return [status]
            if mtype == MsgType.REPLY:
                return self._reply(Reply.from_bytes(packet))
            if mtype == MsgType.LOG:
                return [Log.from_bytes(packet)]
        except ProtocolError:
            self.stats.corrupt += 1
            return []
        self.stats.unknown += 1
        return []

    def _reply(self, reply: Reply) -> list[SampleBlock | Gap | DeviceInfo | Status | Reply | Log]:
        """A reply, preceded by the new DEVICE_INFO when it changes it."""
        if reply.command == Command.GET_STATUS and reply.ok:
            with contextlib.suppress(ProtocolError):  # the pump reports a bad body
                self._dev_dropped = Status.from_body(reply.payload).samples_dropped
        try:
            info = apply_reply(self.info, reply)
        except ProtocolError:
            self.stats.corrupt += 1  # the reply itself still answers its command
            return [reply]
        if info is None:
            return [reply]
        self.set_info(info)
        return [info, reply]

    # -- samples ------------------------------------------------------------------------------

    def _accept(
        self, mtype: int, flags: int, seq: int, t32: int, body_len: int, t_host_ns: int | None
    ) -> tuple[int, int, Gap | None] | None:
        """Sequence, length and time bookkeeping shared by the live and batch paths.

        Returns (number of records, unwrapped device time of the first record, gap) or None
        when the packet is dropped. This runs once per packet on both paths: keep it lean.
        """
        stats = self.stats
        if self.info is None:
            stats.undecodable += 1
            return None
        n, rest = divmod(body_len, self._size_compact if mtype == _COMPACT else self._size)
        if rest or n == 0:
            stats.corrupt += 1
            return None
        restart = flags & _RESTART
        lost = 0
        last = self._last_seq
        if last is not None:
            d = (seq - last) & _SEQ_MASK
            if d == 0 or (d >= _SEQ_HALF and seq in self._recent_count):
                stats.duplicates += 1
                return None
            if d >= _SEQ_HALF:
                if not restart:
                    stats.late += 1
                    return None
                # A restarted stream whose numbers went back: the device rebooted (its sample
                # packets count from 0 again); a new sequence, nothing to count.
            elif not restart or seq:
                # Packets that never arrived. Across a RESTART (not a reboot, which starts at
                # seq 0): those the device numbered before it stopped, such as the packets a
                # lost link left unsent or undelivered.
                lost = d - 1
        self._last_seq = seq
        self._remember_one(seq)
        dev_us = self._unwrap(t32, t_host_ns, restart)
        gap = None
        period = self._period_us
        if lost and self._next_dev_us is not None and self._origin_us is not None:
            stats.lost_packets += lost
            stats.gaps += 1
            if restart:
                # The device stopped sampling in between, so time does not tell; its own
                # count of dropped samples does (what it dropped since the last packet came).
                # Packets it sent that were lost in the air are in lost_packets only.
                was, now = self._dev_dropped_at_last, self._dev_dropped
                lost_samples = now - was if was is not None and now is not None else 0
                lost_samples = max(0, lost_samples)
            else:
                lost_samples = max(0, round((dev_us - self._next_dev_us) / period))
            gap = Gap((self._next_dev_us - self._origin_us) / 1e6, lost, lost_samples)
        self._dev_dropped_at_last = self._dev_dropped
        if flags:
            if restart:
                stats.restarts += 1
            if flags & _DROPPED:
                stats.device_dropped += 1
            if flags & _OVERRUN:
                stats.overruns += 1
            if flags & _SENSOR_FAULT:
                stats.sensor_faults += 1
        self._next_dev_us = dev_us + n * period
        clock = self._clock
        if t_host_ns is not None:
            # Inline test of _ClockModel.update: most packets change nothing in the model.
            last_us = dev_us + (n - 1) * period
            host_s = t_host_ns / 1e9
            offset = host_s - last_us / 1e6
            if (
                offset < clock.bin_min
                or last_us - clock.bin_start_us >= _BIN_US
                or clock.bin_start_us < 0
                or (not clock.points and offset < clock.a)
            ):
                clock.update(last_us, host_s)
        elif clock.bin_start_us < 0:
            clock.a = 0.0
        stats.sample_packets += 1
        stats.samples += n
        return n, dev_us, gap

    def _unwrap(self, t32: int, t_host_ns: int | None, restart: int) -> int:
        if self._origin_us is None:
            self._origin_us = t32
            self._last_t32 = t32
            self._last_dev_us = t32
            self._last_host_ns = t_host_ns
            return t32
        delta = (t32 - self._last_t32) % TIME_WRAP_US
        if delta >= _HALF_WRAP_US:
            delta -= TIME_WRAP_US  # a little back in time (reordered stamps); never a wrap
        if t_host_ns is not None and self._last_host_ns is not None:
            host_us = (t_host_ns - self._last_host_ns) // 1000
            if restart and abs(host_us - delta) > 1_000_000:
                # The device clock jumped (a reboot): carry on along the host clock.
                delta = host_us
            elif host_us - delta > _HALF_WRAP_US:
                # Silent for more than half a wrap: add the whole wraps the host clock saw.
                delta += round((host_us - delta) / TIME_WRAP_US) * TIME_WRAP_US
        dev = self._last_dev_us + delta
        if delta > 0:
            self._last_t32 = t32
            self._last_dev_us = dev
            if t_host_ns is not None:
                self._last_host_ns = t_host_ns
        return dev

    def _stream_s(self, dev_us: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Unwrapped device microseconds to seconds since the stream's first sample."""
        return (dev_us - (self._origin_us or 0)) / 1e6

    def _samples(
        self,
        mtype: int,
        flags: int,
        seq: int,
        t32: int,
        body: memoryview,
        t_host_ns: int | None,
    ) -> list[SampleBlock | Gap | DeviceInfo | Status | Reply | Log]:
        accepted = self._accept(mtype, flags, seq, t32, len(body), t_host_ns)
        if accepted is None:
            return []
        n, dev_us, gap = accepted
        compact = mtype == _COMPACT
        cells, position = _records(body, self._dtype_compact if compact else self._dtype, compact)
        dev = dev_us + np.arange(n, dtype=np.int64) * self._period_us
        t_s = self._stream_s(dev)
        t_host = self._clock.host_times(dev / 1e6)
        block = SampleBlock(
            t_s,
            t_host,
            cells,
            position,
            np.full(n, flags, np.uint8),
            np.full(n, seq, np.uint16),
        )
        return [gap, block] if gap is not None else [block]

    # -- batches --------------------------------------------------------------------------

    def decode_batch(
        self,
        packets: Sequence[bytes],
        t_host_ns: Sequence[int] | npt.NDArray[np.int64] | None = None,
    ) -> tuple[SampleBlock, list[Gap]]:
        """Decode many packets at once (a recording): the samples feeding them one by one gives.

        Headers, sequence numbers, the device clock, the clock model and the sample bodies are
        all decoded in vectorised numpy passes over the whole batch. Only packets that change
        the decoder's course go through the per-packet bookkeeping of :meth:`feed`: the first
        sample packet after another message, duplicates, late packets, restarts and device
        clock jumps. Other messages are applied in order, as :meth:`feed` applies them: a
        ``DEVICE_INFO`` packet or a reply that changes the sample period takes effect for the
        packets after it. Calls may follow each other (and :meth:`feed`) on one decoder.

        Args:
            packets: the messages in arrival order.
            t_host_ns: arrival time of each, or None.

        Returns:
            All samples as one block, and the gaps.

        Raises:
            ProtocolError: the number of cells changed between sample packets.
            ValueError: ``t_host_ns`` does not give one time per packet.
        """
        if t_host_ns is not None and len(t_host_ns) != len(packets):
            raise ValueError(f"{len(packets)} packets but {len(t_host_ns)} receive times")
        stats = self.stats
        count = len(packets)
        stats.packets += count
        lengths = np.fromiter(map(len, packets), np.int64, count)
        # The header of a short packet is read from whatever follows it (it is never used).
        buf = np.frombuffer(b"".join([*packets, bytes(HEADER_SIZE)]), np.uint8)
        starts = np.zeros(count, np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        head = buf[starts[:, None] + np.arange(HEADER_SIZE)].reshape(-1).view(_HEADER_DTYPE)
        good = (lengths >= HEADER_SIZE) & (head["version"] == VERSION)
        stats.corrupt += count - int(np.count_nonzero(good))
        mtypes = head["type"].astype(np.int64)
        is_samples = good & ((mtypes == _SAMPLES) | (mtypes == _COMPACT))
        hosts = _integers(t_host_ns) if t_host_ns is not None else None
        run = _Run(
            packets,
            t_host_ns,
            hosts,
            mtypes,
            head["flags"].astype(np.int64),
            head["seq"].astype(np.int64),
            head["t32"].astype(np.int64),
            lengths - HEADER_SIZE,
            t_host_ns is None or hosts is not None,
        )
        # The block's cell count: from the first accepted packet (or the known info); a
        # DEVICE_INFO with another count before a later sample packet is an error.
        expect: int | None = self.info.n_cells if self.info else None
        mismatch = False
        others = np.flatnonzero(good & ~is_samples).tolist()
        samples = np.flatnonzero(is_samples)
        cuts = np.searchsorted(samples, others).tolist()
        done = 0
        for other, cut in zip([*others, count], [*cuts, len(samples)], strict=True):
            if cut > done and self._accept_all(run, samples[done:cut]):
                if mismatch:
                    raise ProtocolError("the number of cells changed inside one recording")
                if expect is None:
                    expect = self.info.n_cells if self.info else None
            done = cut
            if other < count:
                packet = packets[other]
                self._other(int(mtypes[other]), memoryview(packet)[HEADER_SIZE:], packet)
                current = self.info.n_cells if self.info else None
                mismatch = expect is not None and current != expect
        n_cells = expect if expect is not None else (self.info.n_cells if self.info else 1)
        run.flush()
        if not run.chunks:
            return SampleBlock.empty(n_cells), run.gaps
        return self._batch_block(buf, starts, run, n_cells), run.gaps

    def _accept_all(self, run: _Run, idx: npt.NDArray[np.intp]) -> bool:
        """Accept the sample packets ``idx`` (no other message between them); True if any was.

        Each packet whose sequence number follows the previous one's (lost packets between
        are a gap), whose device time moves forward by less than half a wrap and that is not
        a restart, is accepted in a vectorised stretch, once the decoder's state is the
        previous packet's; every other packet goes through :meth:`_accept`.
        """
        stats = self.stats
        if self.info is None:
            stats.undecodable += len(idx)
            return False
        types = run.mtypes[idx]
        size = np.where(types == _COMPACT, self._size_compact, self._size)
        n, rest = np.divmod(run.body_len[idx], size)
        whole = (rest == 0) & (n > 0)
        kept = int(np.count_nonzero(whole))
        stats.corrupt += len(idx) - kept
        if not kept:
            return False
        if kept < len(idx):
            idx, n, types = idx[whole], n[whole], types[whole]
        seg = _Segment(
            idx,
            n,
            types,
            run.seqs[idx],
            run.t32s[idx],
            run.flags[idx],
            run.hosts[idx] if run.hosts is not None else None,
        )
        seq, t32, flags, hosts = seg.seq, seg.t32, seg.flags, seg.hosts
        easy = np.zeros(len(idx), np.bool_)
        if run.vector and len(idx) > 1:
            d_seq, d_us = seg.d_seq, seg.d_us
            ok = (d_seq > 0) & (d_seq < _SEQ_HALF) & ((flags[1:] & _RESTART) == 0) & (d_us > 0)
            if hosts is not None:
                ok &= (hosts[1:] - hosts[:-1]) // 1000 - d_us <= _HALF_WRAP_US
            easy[1:] = ok
        hard = np.flatnonzero(~easy).tolist()
        hard.append(len(idx))
        before = stats.sample_packets
        pos = 0
        h = 0
        m = len(idx)
        while pos < m:
            if hard[h] == pos or not self._follows(seq, t32, hosts, pos):
                if hard[h] == pos:
                    h += 1
                i = int(idx[pos])
                mtype, fl, sq = int(types[pos]), int(flags[pos]), int(seq[pos])
                accepted = self._accept(
                    mtype, fl, sq, int(t32[pos]), int(run.body_len[i]), run.host_of(i)
                )
                if accepted is not None:
                    count, dev_us, gap = accepted
                    if gap is not None:
                        run.gaps.append(gap)
                    run.one(i, count, dev_us, mtype, self._clock, fl, sq, self._period_us)
                pos += 1
                continue
            stop = hard[h]
            self._accept_stretch(run, seg, pos, stop)
            pos = stop
        return stats.sample_packets > before

    def _follows(
        self,
        seq: npt.NDArray[np.int64],
        t32: npt.NDArray[np.int64],
        hosts: npt.NDArray[np.int64] | None,
        pos: int,
    ) -> bool:
        """Whether the decoder's state is the one accepting packet ``pos - 1`` left: what the
        vectorised stretch from ``pos`` assumes (it compares values, so a duplicate or a late
        packet rejected in between, which changed nothing, does not matter)."""
        return (
            pos > 0
            and self._origin_us is not None
            and self._next_dev_us is not None
            and self._last_seq == int(seq[pos - 1])
            and self._last_t32 == int(t32[pos - 1])
            and (hosts is None or self._last_host_ns == int(hosts[pos - 1]))
        )

    def _accept_stretch(self, run: _Run, seg: _Segment, start: int, stop: int) -> None:
        """:meth:`_accept` on packets ``start:stop``, each the next in order after the one
        before (``start - 1`` was the last accepted), in vectorised passes."""
        stats = self.stats
        period = self._period_us
        assert self._next_dev_us is not None and self._origin_us is not None
        cnt = seg.n[start:stop]
        dev = self._last_dev_us + np.cumsum(seg.d_us[start - 1 : stop - 1])
        lost = seg.d_seq[start - 1 : stop - 1] - 1
        where = np.flatnonzero(lost)
        if where.size:
            # Where each packet after a gap was expected: after the packet before it.
            after = np.maximum(where - 1, 0)
            expected_a = np.where(where > 0, dev[after] + cnt[after] * period, self._next_dev_us)
            origin = self._origin_us
            for expected, dev_us, n_lost in zip(
                expected_a.tolist(), dev[where].tolist(), lost[where].tolist(), strict=True
            ):
                missing = max(0, round((dev_us - expected) / period))
                run.gaps.append(Gap((expected - origin) / 1e6, n_lost, missing))
            stats.lost_packets += int(lost.sum())
            stats.gaps += where.size
        self._dev_dropped_at_last = self._dev_dropped
        fl = seg.flags[start:stop]
        if np.any(fl):
            stats.device_dropped += int(np.count_nonzero(fl & _DROPPED))
            stats.overruns += int(np.count_nonzero(fl & _OVERRUN))
            stats.sensor_faults += int(np.count_nonzero(fl & _SENSOR_FAULT))
        self._remember(seg.seq[start:stop])
        clock = self._clock
        if seg.hosts is not None:
            a, b = clock.run(dev + (cnt - 1) * period, seg.hosts[start:stop] / 1e9)
        else:
            if clock.bin_start_us < 0:
                clock.a = 0.0
            a = np.full(stop - start, clock.a)
            b = np.full(stop - start, clock.b)
        last = stop - 1
        self._last_seq = int(seg.seq[last])
        self._last_t32 = int(seg.t32[last])
        self._last_dev_us = int(dev[-1])
        if seg.hosts is not None:
            self._last_host_ns = int(seg.hosts[last])
        self._next_dev_us = int(dev[-1] + cnt[-1] * period)
        stats.sample_packets += stop - start
        stats.samples += int(cnt.sum())
        run.stretch(seg, start, stop, dev, a, b, period)

    def _remember(self, seqs: npt.NDArray[np.int64]) -> None:
        """Remember accepted sequence numbers for duplicate detection, as :meth:`_accept` does."""
        recent = self._recent
        counts = self._recent_count
        if len(seqs) >= _RECENT:
            recent.clear()
            recent.extend(seqs[-_RECENT:].tolist())
            counts.clear()
            for s in recent:
                counts[s] = counts.get(s, 0) + 1
            return
        for s in seqs.tolist():
            self._remember_one(s)

    def _remember_one(self, seq: int) -> None:
        """Remember one accepted sequence number (duplicate detection over the last
        ``_RECENT`` accepted packets)."""
        recent = self._recent
        counts = self._recent_count
        recent.append(seq)
        counts[seq] = counts.get(seq, 0) + 1
        if len(recent) > _RECENT:
            old = recent.popleft()
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]

    def _batch_block(
        self,
        buf: npt.NDArray[np.uint8],
        starts: npt.NDArray[np.int64],
        run: _Run,
        n_cells: int,
    ) -> SampleBlock:
        idx, counts_a, devs, types, clock_a, clock_b, flags_a, seqs, periods = (
            np.concatenate(parts) for parts in zip(*run.chunks, strict=True)
        )
        total = int(counts_a.sum())
        first = np.zeros(len(counts_a), np.int64)
        np.cumsum(counts_a[:-1], out=first[1:])

        def each(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
            """A value per packet as a value per sample."""
            return np.repeat(values, counts_a)

        # Per-sample arrays are computed in place, with as few temporaries as can be: a batch
        # is large, and fresh memory costs page faults as well as the passes over it.
        # Which record within its packet each output sample is.
        within = np.arange(total, dtype=np.int64)
        within -= each(first)
        period = int(periods[0]) if not np.any(periods != periods[0]) else None
        step = within * period if period is not None else within * each(periods)
        dev = each(devs)
        dev += step
        # _stream_s: the difference of integers below 2**53 is exact in float64, so
        # subtracting as floats gives the same bits.
        t_s = np.subtract(dev, self._origin_us or 0, dtype=np.float64)
        t_s /= 1e6
        # _host_times (IEEE addition and multiplication commute: the same bits).
        dev_s = dev / 1e6
        t_host = each(clock_b)
        t_host *= dev_s
        t_host += each(clock_a)
        t_host += dev_s
        body_at = each(starts[idx] + HEADER_SIZE)
        compact = types == _COMPACT
        kinds = (True,) if compact.all() else (False,) if not compact.any() else (False, True)
        cells = np.empty((total, n_cells), np.uint16)
        position = np.empty(total, np.int32)
        for is_compact in kinds:
            dtype = sample_dtype(n_cells, is_compact)
            windows = np.lib.stride_tricks.sliding_window_view(buf, dtype.itemsize)
            if len(kinds) == 1:
                np.multiply(within, dtype.itemsize, out=step)
                body_at += step
                cells, position = _records(windows[body_at].reshape(-1), dtype, is_compact)
                break
            out = np.flatnonzero(each(compact) == is_compact)
            rows = windows[body_at[out] + within[out] * dtype.itemsize].reshape(-1)
            cells[out], position[out] = _records(rows, dtype, is_compact)
        return SampleBlock(
            t_s,
            t_host,
            cells,
            position,
            each(flags_a.astype(np.uint8)),
            each(seqs.astype(np.uint16)),
        )


@dataclass(slots=True)
class _Segment:
    """Whole sample packets of a batch with no other message between them: their headers as
    arrays (``n``: records in each), and each one's step from the one before."""

    idx: npt.NDArray[np.intp]
    n: npt.NDArray[np.int64]
    types: npt.NDArray[np.int64]
    seq: npt.NDArray[np.int64]
    t32: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int64]
    hosts: npt.NDArray[np.int64] | None
    d_seq: npt.NDArray[np.int64] = field(init=False)
    d_us: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.d_seq = (self.seq[1:] - self.seq[:-1]) & _SEQ_MASK
        d_us = (self.t32[1:] - self.t32[:-1]) % TIME_WRAP_US
        d_us[d_us >= _HALF_WRAP_US] -= TIME_WRAP_US  # a little back in time: never a wrap
        self.d_us = d_us


@dataclass(slots=True)
class _Run:
    """One :meth:`Decoder.decode_batch` call's packets, their headers as arrays, and what it
    accepted so far: stretches of packets, in packet order, and gaps.

    Attributes:
        vector: whether stretches may be vectorised (False: receive times that are not all
            integers, which go packet by packet as given).
    """

    packets: Sequence[bytes]
    times: Sequence[int] | npt.NDArray[np.int64] | None
    hosts: npt.NDArray[np.int64] | None
    mtypes: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int64]
    seqs: npt.NDArray[np.int64]
    t32s: npt.NDArray[np.int64]
    body_len: npt.NDArray[np.int64]
    vector: bool
    gaps: list[Gap] = field(default_factory=list)
    chunks: list[tuple[npt.NDArray[np.generic], ...]] = field(default_factory=list)
    _ones: list[tuple[int, int, int, int, float, float, int, int, int]] = field(
        default_factory=list
    )

    def host_of(self, i: int) -> int | None:
        """Packet ``i``'s arrival time, as given."""
        if self.hosts is not None:
            return int(self.hosts[i])
        return None if self.times is None else self.times[i]

    def one(
        self,
        i: int,
        count: int,
        dev_us: int,
        mtype: int,
        clock: _ClockModel,
        flags: int,
        seq: int,
        period_us: int,
    ) -> None:
        """Packet ``i``, accepted by itself."""
        self._ones.append((i, count, dev_us, mtype, clock.a, clock.b, flags, seq, period_us))

    def stretch(
        self,
        seg: _Segment,
        start: int,
        stop: int,
        dev_us: npt.NDArray[np.int64],
        a: npt.NDArray[np.float64],
        b: npt.NDArray[np.float64],
        period_us: int,
    ) -> None:
        """Packets ``start:stop`` of ``seg``, accepted together: their first sample's device
        time, the clock model after each, the sample period."""
        self.flush()
        part = slice(start, stop)
        periods = np.full(stop - start, period_us, np.int64)
        self.chunks.append(
            (
                seg.idx[part],
                seg.n[part],
                dev_us,
                seg.types[part],
                a,
                b,
                seg.flags[part],
                seg.seq[part],
                periods,
            )
        )

    def flush(self) -> None:
        """Move the packets accepted by themselves into :attr:`chunks`."""
        if not self._ones:
            return
        columns = list(zip(*self._ones, strict=True))
        self._ones.clear()
        self.chunks.append(
            tuple(
                np.asarray(col, np.float64 if k in (4, 5) else np.int64)
                for k, col in enumerate(columns)
            )
        )


def decode_packets(
    packets: Sequence[bytes],
    t_host_ns: Sequence[int] | npt.NDArray[np.int64] | None = None,
    info: DeviceInfo | None = None,
    decoder: Decoder | None = None,
) -> tuple[SampleBlock, list[Gap], Decoder]:
    """:meth:`Decoder.decode_batch` on a new decoder (or ``decoder``), for one-off use.

    Args:
        packets: the messages in arrival order.
        t_host_ns: arrival time of each, or None.
        info: the device info from the recording header, if any.
        decoder: continue with this decoder's state instead of a new one.

    Returns:
        All samples as one block, the gaps, and the decoder (for its stats and state).
    """
    dec = decoder if decoder is not None else Decoder(info)
    if decoder is not None and info is not None:
        dec.set_info(info)
    block, gaps = dec.decode_batch(packets, t_host_ns)
    return block, gaps, dec
