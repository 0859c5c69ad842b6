"""The streaming analyzer: reps, lumbar lift-off, range of motion and form checks.

One state machine per stream, fed :class:`~legpress.dsp.calibration.CalibratedBlock` s in
order. It is:

- causal: a decision at sample *i* uses samples up to *i* only, and every event carries the
  time of the sample that triggered it, which is when a live system would have raised it;
- chunk-invariant: the machine advances sample by sample in meaning, so one big block or many
  small ones give the same reps and events (``tests/host/detect`` proves it). It only *computes*
  in bulk. The phases of a rep depend on the sled alone, so a rep's phases are found first,
  with a few numpy passes over a window that grows while nothing happens; then each check runs
  once over the samples where it applies (lift-off over the whole rep, the tilt warning and ROM
  while lowering, knee lock while pushing), and the events are applied in sample order. No
  floating-point value is accumulated across blocks, so rounding cannot depend on chunking.

The phases of a rep: ``TOP`` (waiting at the top; the top reference is the lowest depth seen),
``DOWN`` (lowering; the bottom is the deepest depth seen), ``UP`` (pushing; ends near the top,
or returns to ``DOWN`` if the sled goes deeper again).

Lumbar lift-off is judged on how the load is spread along the strip, never on absolute
levels: the lower back's share of the pad load (each cell against its own baseline, taken at
the top just before the rep, so units, leg force, cell gains and slow drift cancel) is placed
between this person's floor (the share their lower back keeps once off the pad) and what their
clean reps showed at the same depth. Both are learned as the session goes (and can come from
calibration). A rep whose pad cannot be judged says so with a ``pad_unjudged`` event.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Final

import numpy as np
import numpy.typing as npt

from legpress.detect.config import DetectorConfig
from legpress.detect.events import Event, EventType, Rep, mm_text, mm_texts
from legpress.dsp.calibration import CalibratedBlock

_TOP: Final = 0
_DOWN: Final = 1
_UP: Final = 2
# Samples examined per step: start small after a state change (the next one is often near),
# double while nothing happens. Only the amount of work depends on it, never the result.
_SCAN_MIN: Final = 256
_SCAN_MAX: Final = 8192

F64 = npt.NDArray[np.float64]


def _first(mask: npt.NDArray[np.bool_]) -> int:
    """Index of the first True, or len(mask)."""
    if not mask.size:
        return 0
    i = int(mask.argmax())
    return i if mask[i] else mask.size


def _finite_min(a: F64) -> float:
    """The smallest finite value of ``a`` (inf if none), in one pass when it has no -inf."""
    m = float(np.fmin.reduce(a)) if a.size else math.inf
    if m == -math.inf:
        finite = a[np.isfinite(a)]
        return float(finite.min()) if finite.size else math.inf
    return math.inf if math.isnan(m) else m


def _finite_max(a: F64) -> float:
    """The largest finite value of ``a`` (-inf if none)."""
    return -_finite_min(-a)


def _cell_sum(cells: F64, which: Sequence[int] | None = None) -> F64:
    """Per sample, the sum of the cells ``which`` (in that order; all by default) of a
    cells-by-samples array, added cell by cell: unlike a numpy reduction or a matrix product,
    elementwise additions round the same way whatever the number of samples, which keeps
    results independent of how a stream was chunked (and each cell's row is contiguous)."""
    idx = range(cells.shape[0]) if which is None else which
    total: F64 = cells[idx[0]].copy()
    for k in idx[1:]:
        total += cells[k]
    return total


def _first_run(cond: npt.NDArray[np.bool_], carry: int, m: int) -> tuple[int, int]:
    """Where a run of True first reaches ``m`` samples (a run of ``carry`` continuing into
    index 0), or len(cond); and the length of the run at the last index."""
    size = cond.size
    if size and not cond[int(cond.argmax())]:  # nothing True: the common case, in one pass
        return size, 0
    false = (~cond).nonzero()[0]
    k0 = max(m - 1 - carry, 0)  # the carried run reaches m here if nothing breaks it
    if not false.size:
        return (k0 if k0 < size else size), carry + size
    tail = size - 1 - int(false[-1])
    if k0 < false[0]:
        return k0, tail
    gaps = false[1:] - false[:-1]
    g = _first(gaps > m)  # m Trues between two Falses
    if g < gaps.size:
        return int(false[g]) + m, tail
    if tail >= m:
        return int(false[-1]) + m, tail
    return size, tail


def _extend(stretches: list[tuple[int, int]], a: int, b: int) -> None:
    """Add samples a..b (inclusive) to a list of stretches, joining it to the last one when
    they touch."""
    if stretches and stretches[-1][1] + 1 == a:
        stretches[-1] = (stretches[-1][0], b)
    else:
        stretches.append((a, b))


class Analyzer:
    """Streaming rep analysis and safety checks for one leg-press stream.

    Args:
        config: thresholds (see :class:`DetectorConfig`).
        period_s: the sample period (windows in seconds become sample counts).
        n_cells: pad cells per sample.
        cell_pitch_mm: distance between cell centres (for the centre of pressure).

    Feed blocks with :meth:`update`; it returns the :class:`Rep` s completed and the
    :class:`Event` s raised by that block, in time order. :attr:`reps` and :attr:`events` keep
    everything so far.
    """

    def __init__(
        self,
        config: DetectorConfig,
        period_s: float,
        n_cells: int,
        cell_pitch_mm: float = 40.0,
        trace: bool = False,
    ) -> None:
        if not period_s > 0:
            raise ValueError("period_s must be positive")
        if not 0 < cell_pitch_mm < math.inf:
            raise ValueError(f"cell_pitch_mm must be a positive distance, got {cell_pitch_mm}")
        # What the lift-off rule decided on, sample by sample (see :meth:`decision_trace`).
        self._trace: list[tuple[int, F64, F64, F64]] | None = [] if trace else None
        self.config = config
        self.period_s = period_s
        self.n_cells = n_cells
        self.reps: list[Rep] = []
        self.events: list[Event] = []
        self.baseline: F64 | None = None  # per-cell load at the top before the last rep

        def samples(seconds: float) -> int:
            return max(1, round(seconds / period_s))

        self._w_vel = samples(config.velocity_window_s)
        self._n_base = samples(config.baseline_s)
        self._m_on = samples(config.liftoff_min_on_s)
        self._m_off = samples(config.liftoff_min_off_s)
        self._w_bounce = samples(config.bounce_window_s)
        # History long enough for every look-back: the baseline window, the velocity window,
        # and the bounce window behind a bottom at most bounce_reversal_s old.
        self._w_reversal = samples(config.bounce_reversal_s)
        self._w_trend = samples(config.tilt_warning_trend_s)
        self._hist_len = (
            max(self._n_base, self._w_vel, self._w_bounce + self._w_reversal, self._w_trend) + 2
        )
        self._m_warn = samples(config.tilt_warning_min_s)
        self.cell_pitch_mm = cell_pitch_mm
        self._cell_mm = np.arange(n_cells, dtype=np.float64) * cell_pitch_mm
        self._lower_n = max(1, round(config.lower_back_mm / cell_pitch_mm))
        # What the person's clean reps showed, per depth bin (NaN: no clean rep there yet),
        # and the floors seen (shares their lower back kept while off the pad).
        self._bin_mm = config.reference_bin_mm
        self._n_bins = int(2000.0 / self._bin_mm) + 2
        self.reference = np.full(self._n_bins, np.nan)
        if config.clean_share_by_depth:
            prior = config.clean_share_by_depth[: self._n_bins]
            self.reference[: len(prior)] = [np.nan if x is None else x for x in prior]
        self._nan_bins = self.reference.copy()  # templates for each rep's state
        self._inf_cells = np.full(n_cells, np.inf)
        self._filled: tuple[F64, npt.NDArray[np.bool_]] | None = None  # see _filled_reference
        self.floors: list[float] = []
        # The last judged reps: their lowest lower-back share per depth bin (NaN: not
        # reached), where the lower back lifted (None: it did not) and whether the rep was
        # learned as clean; what calibration learns this person's clean reference from.
        self.rep_shares: deque[tuple[F64, float | None, bool]] = deque(maxlen=16)
        self.lift_depths: list[float] = []  # sled depth at each lift-off seen
        # How far below usual each clean rep's position went while the load had moved up.
        self.clean_dips: list[float] = []
        self._load_ref = 0.0  # the largest baseline total seen in the session
        self._stuck = np.zeros(n_cells, bool)
        self._faulty: set[int] = set()  # cells a cell_fault has named (until they read again)

        # History of the last samples (for windows reaching back across blocks).
        self._h_t = np.empty(0, np.float64)
        self._h_d = np.empty(0, np.float64)
        self._h_load = np.empty((0, n_cells), np.float64)
        # Within a block: its load cells by samples and the centre of pressure, from context
        # sample _cells_lo on (see _cells), and the rep's sums (see _sums).
        self._cells_lo = -1
        self._cells_t = np.empty((n_cells, 0))
        self._cop_all: F64 | None = None
        self._sum_key: tuple[tuple[int, ...], ...] | None = None
        self._sum_lo = self._sum_hi = 0
        self._sum: tuple[F64, F64, F64] = (np.empty(0),) * 3
        self._seen = 0  # samples consumed before the current block

        self._state = _TOP
        self._top = np.inf
        self._near_top_t = 0.0  # time and depth of the last sample near the top
        self._near_top_d = 0.0
        self._near_top_seen = False
        self._lock_armed = True
        self._set_top = np.nan  # the top of the current set (NaN: no set yet)
        # A stream that begins in the middle of a rep (a trimmed file, a monitor started while
        # someone trains) has not seen that rep's top: its set's top is taken from the next
        # rep, and its lowering is not timed.
        self._t0 = math.nan  # the time of the first sample fed
        self._cut_in = False  # the current rep was under way when the stream began
        self._set_top_pending = False  # the set's top is to come from its next rep
        self._last_end_t = -np.inf
        self.set_starts: list[int] = []  # index of each set's first rep (a gap > set_gap_s)
        # Reps deep enough to count that lasted longer than max_rep_s: not counted, but said
        # (``legpress analyze`` notes them: a time column in the wrong unit looks like this).
        self.abandoned_reps = 0
        # Values that were not numbers (see update): samples left out, cell values read as 0.
        self.unreadable_samples = 0
        self.unreadable_cell_values = 0
        self._rep_index = 0
        self._rep_g0 = 0  # global index of the current rep's first sample
        self._rep_c0 = 0  # the same in the current context (negative: before it)
        self._bottoms: list[tuple[int, int, float]] = []  # bottoms confirmed in this pass
        self._new_rep_state(0.0, 0.0)

    # -- public -------------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        """``"top"``, ``"lowering"`` or ``"pushing"``."""
        return ("top", "lowering", "pushing")[self._state]

    @property
    def unjudged_reason(self) -> str | None:
        """Why the current (or last) rep's pad cannot be judged, or None."""
        return self._unjudged

    def decision_trace(self, n_samples: int) -> tuple[F64, F64, F64]:
        """The lift-off rule's signals at every sample so far, for reports that must show
        exactly what the detector decided on: the lower-back position, the position threshold
        in force at that sample (``liftoff_shift_position`` where the load had moved up, else
        ``liftoff_position``) and the front share (NaN where no rep was being judged). Only
        with ``trace=True``.

        Args:
            n_samples: the number of samples fed (the length of the arrays).
        """
        if self._trace is None:
            raise ValueError("this analyzer was made without trace=True")
        position = np.full(n_samples, np.nan)
        threshold = np.full(n_samples, np.nan)
        front = np.full(n_samples, np.nan)
        for g, pos, thr, fr in self._trace:
            end = min(g + pos.size, n_samples)
            if end > g >= 0:
                position[g:end] = pos[: end - g]
                threshold[g:end] = thr[: end - g]
                front[g:end] = fr[: end - g]
        return position, threshold, front

    def set_limit(self, rom_limit_mm: float | None) -> None:
        """Change the ROM limit; takes effect from the next sample."""
        self.config = self.config.with_limit(rom_limit_mm)

    def update(self, block: CalibratedBlock) -> list[Rep | Event]:
        """Consume the next samples; return the reps and events they completed or raised.

        Values that are not numbers (NaN, infinite: a caller's own data with holes) are not
        guessed at: a sample whose time or depth is one is left out, as a lost sample would be
        (counted in :attr:`unreadable_samples`), and a cell value that is one reads as no load
        (counted in :attr:`unreadable_cell_values`): a cell that never reads is left out of
        the pad's judgement like a dead one. Both are decided sample by sample, so the events
        do not depend on how the samples are cut into blocks."""
        out: list[Rep | Event] = []
        if block.n_cells != self.n_cells:
            raise ValueError(f"block has {block.n_cells} cells, analyzer expects {self.n_cells}")
        block = self._readable(block)
        n = len(block)
        if n == 0:
            return out
        if math.isnan(self._t0):
            self._t0 = float(block.t_s[0])
        h = self._h_t.size
        if h:
            self._t = np.concatenate([self._h_t, block.t_s])
            self._d = np.concatenate([self._h_d, block.depth_mm])
            self._load = np.concatenate([self._h_load, block.load])
        else:  # nothing to prepend: the block's own arrays, which are only read
            self._t, self._d, self._load = block.t_s, block.depth_mm, block.load
        self._base_g = self._seen - h  # global index of context index 0
        self._v = self._velocity()
        self._cells_lo = -1  # the previous block's caches no longer apply
        self._cop_all = None
        self._sum_key = None
        self._out = out
        i = h
        end = h + n
        scan = _SCAN_MIN
        # Ratios of loads meet zeros and NaNs (a cell out of contact, a dead strip): they give
        # NaN or inf, which every rule compares as "cannot be judged".
        with np.errstate(divide="ignore", invalid="ignore"):
            while i < end:
                if self._state == _TOP:
                    stop = min(end, i + scan)
                    i = self._step_top(i, stop)
                    scan = min(scan * 2, _SCAN_MAX) if i == stop else _SCAN_MIN
                else:
                    i = self._rep_pass(i, end)
                    scan = _SCAN_MIN
        keep = min(self._hist_len, self._t.size)
        self._h_t = self._t[-keep:].copy()
        self._h_d = self._d[-keep:].copy()
        self._h_load = self._load[-keep:].copy()
        self._seen += n
        return out

    def _readable(self, block: CalibratedBlock) -> CalibratedBlock:
        """The block without samples whose time or depth is not a number, and with cell values
        that are not numbers read as 0 (see :meth:`update`)."""
        timed = np.isfinite(block.t_s) & np.isfinite(block.depth_mm)
        if not timed.all():
            self.unreadable_samples += int(timed.size - np.count_nonzero(timed))
            block = CalibratedBlock(
                block.t_s[timed],
                block.depth_mm[timed],
                block.load[timed],
                block.valid[timed],
                block.cell_pitch_mm,
            )
        read = np.isfinite(block.load)
        if not read.all():
            self.unreadable_cell_values += int(read.size - np.count_nonzero(read))
            block = CalibratedBlock(
                block.t_s,
                block.depth_mm,
                np.where(read, block.load, 0.0),
                block.valid,
                block.cell_pitch_mm,
            )
        return block

    # -- per-block signals --------------------------------------------------------------------

    def _velocity(self) -> F64:
        """Sled velocity (mm/s, positive = lowering) over a window ending at each sample.

        The window never reaches back across a gap (lost packets): after one it starts at the
        first sample after the gap, and the first sample after a gap has no velocity (0).
        Across a gap the mean speed of a decelerating sled is far above its speed now, which
        made ROM warnings fire early on lossy links.
        """
        w = self._w_vel
        d, t = self._d, self._t
        v = np.zeros(d.size, np.float64)
        if d.size > 1:
            idx = np.arange(d.size)
            gap = np.zeros(d.size, bool)
            gap[1:] = np.diff(t) > 1.5 * self.period_s
            seg = np.maximum.accumulate(np.where(gap, idx, 0))
            j = np.maximum(idx - w, seg)
            ok = (idx >= w) & (j < idx)
            dt = t - t[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(ok & (dt > 0), (d - d[j]) / dt, 0.0)
        return v

    def _signals(self, lo: int, hi: int) -> None:
        """The lift-off rule's signals for context samples lo..hi-1 of the current rep (kept
        for the pass: ``_p_lo`` is the context index of their first element): the position of
        the lower-back share between the floor (0) and this person's clean reps at the same
        depth (1), the share itself, the front share (NaN: cannot be judged), whether the load
        has moved up the back (the whole pad loaded ``liftoff_shift_total`` times its load at
        the top or more) and the lift-off and warning levels in force at each sample."""
        cfg = self.config
        self._p_lo = lo
        size = hi - lo
        if self._group is None:
            nan = np.full(size, np.nan)
            self._p_ratio = self._p_share = self._p_front = self._p_total = nan
            self._p_thr = self._p_warn = nan
            self._p_moved = self._p_up = self._p_past = np.zeros(size, bool)
            return
        load = self._load[lo:hi]
        lower_raw, upper, rest = self._sums(lo, hi)
        lower = lower_raw * self._group_scale
        share = np.where(upper > 0, lower / upper, np.nan)
        self._p_total = (lower_raw + upper) / self._base_total
        moved = self._p_total >= cfg.liftoff_shift_total
        self._p_moved = moved  # the load moved up, whether or not the depth gate lets it count
        shift = moved.copy()
        deep = self.lift_off_depth_mm
        if deep is not None:
            # Once this person's lift-off depth is known, a share that falls well short of it
            # is their usual way of loading the pad, not a lift-off: the same reach as the
            # tilt warning's (within tilt_warning_lead_s of it at the sled's speed).
            v = np.maximum(self._v[lo:hi], 0.0)
            d = self._d[lo:hi]
            shift &= d >= deep - v * cfg.tilt_warning_lead_s
            # Past the depth where their back has lifted, the same level holds whatever the
            # pad carries: there the share falling halfway to the floor is a lift-off, whether
            # the load moved up the back or went into the seat.
            past = d >= deep
            self._p_up = shift  # the load moved up, near enough to count
            shift = shift | past
        else:
            past = np.zeros(size, bool)
            self._p_up = shift
        self._p_past = past
        self._p_thr = np.where(shift, self._shift_thr, cfg.liftoff_position)
        self._p_warn = np.where(shift, self._shift_warn, cfg.tilt_warning_position)
        bins = (self._d[lo:hi] / self._bin_mm).astype(np.int64)
        np.maximum(bins, 0, out=bins)
        np.minimum(bins, self._n_bins - 1, out=bins)
        self._p_bins = bins
        self._p_share = share
        self._p_ratio = (share - self._floor) / self._span[bins]
        if self._next_cell >= 0:
            front = np.where(rest > 0, load[:, self._next_cell] * self._front_scale / rest, np.nan)
        else:
            front = np.full(size, np.nan)
        if len(self._group) >= 2:
            # The highest lower-back cell, empty: the contact front has passed the lower back
            # even where the cells below it keep load (seat corner, foam, a strip fitted above
            # the junction). On the front's scale: below the front threshold when it is below
            # liftoff_top_empty of its share.
            top = load[:, self._group[-1]] * self._top_scale / upper
            front = np.fmin(front, top * self._top_to_front)
        self._p_front = front

    def _sums(self, lo: int, hi: int) -> tuple[F64, F64, F64]:
        """The load of this rep's lower back, of the cells above it and of those above the
        front cell (empty without one), for context samples lo..hi-1. Sums are elementwise, so
        they are computed ahead, up to eight times as far as asked (within the block), and
        kept while the cells stay the same: the next reps of a block mostly reuse them."""
        assert self._group is not None
        key = (self._group, self._upper, self._rest)
        if key != self._sum_key or lo < self._sum_lo or hi > self._sum_hi:
            b = min(self._t.size, max(hi, lo + 8 * (hi - lo)))
            cells = self._cells(lo, b)
            rest = _cell_sum(cells, self._rest) if self._rest else np.empty(b - lo)
            self._sum = (_cell_sum(cells, self._group), _cell_sum(cells, self._upper), rest)
            self._sum_key, self._sum_lo, self._sum_hi = key, lo, b
        a, z = lo - self._sum_lo, hi - self._sum_lo
        lower, upper, rest = self._sum
        return lower[a:z], upper[a:z], rest[a:z]

    def _trend(self, a: int, b: int) -> F64:
        """How fast the position falls (per second, positive: falling) over the last
        ``tilt_warning_trend_s``, for context samples a..b-1 of this pass (0 where that reaches
        back before the rep, or where the position is not known)."""
        w = self._w_trend
        out = np.zeros(b - a)
        k0 = max(a, self._rep_c0 + w, w)  # the first sample whose look-back is in the rep
        if k0 < b:
            r = self._p_ratio
            p = self._p_lo
            back = r[k0 - w - p : b - w - p]
            now = r[k0 - p : b - p]
            dt = self._t[k0:b] - self._t[k0 - w : b - w]
            out[k0 - a :] = np.where(dt > 0, (back - now) / dt, 0.0)
            np.copyto(out, 0.0, where=np.isnan(out))
        return out

    def _trend_at(self, c: int) -> float:
        """:meth:`_trend` at one sample."""
        w = self._w_trend
        if c - w < max(self._rep_c0, 0):
            return 0.0
        r = self._p_ratio
        dt = self._t[c] - self._t[c - w]
        x = (r[c - w - self._p_lo] - r[c - self._p_lo]) / dt if dt > 0 else 0.0
        return 0.0 if math.isnan(x) else float(x)

    @property
    def lift_off_depth_mm(self) -> float | None:
        """The shallowest sled depth at which this person's lower back lifted in their last 5
        lift-offs (with the calibrated one, if any), or None before any."""
        depths = self.lift_depths[-5:]
        if self.config.lift_off_depth_mm is not None:
            depths = [*depths, self.config.lift_off_depth_mm]
        return min(depths) if depths else None

    @property
    def shift_levels(self) -> tuple[float, float]:
        """The shift path's lift-off and warning levels for the next rep: the lift-off level
        is ``1 - liftoff_shift_dip_factor`` times the deepest dip of this person's last 5 clean
        reps (how far below usual their position went while the load had moved up), within
        ``liftoff_shift_position`` .. ``liftoff_shift_max_position`` (the former before any);
        the warning level lies as far above it as ``tilt_warning_shift_position`` lies above
        ``liftoff_shift_position``."""
        cfg = self.config
        level = cfg.liftoff_shift_position
        if self.clean_dips:
            level = 1.0 - cfg.liftoff_shift_dip_factor * max(self.clean_dips[-5:])
            level = min(max(level, cfg.liftoff_shift_position), cfg.liftoff_shift_max_position)
        warn = level + cfg.tilt_warning_shift_position - cfg.liftoff_shift_position
        return level, min(warn, 1.0)

    @property
    def floor(self) -> float:
        """The share this person's lower back keeps once off the pad, as learned so far (the
        median of the floors seen, else the calibrated one, else 0; at most ``floor_max``)."""
        cap = self.config.floor_max
        if self.floors:
            return min(float(statistics.median(self.floors[-5:])), cap)
        prior = self.config.lift_off_floor
        return min(prior, cap) if prior is not None else 0.0

    def _cells(self, lo: int, hi: int) -> F64:
        """The load of context samples lo..hi-1, cells by samples (each cell's samples
        contiguous, for fast sums): transposed once per block, from the first sample a rep
        asks for to the block's end (the passes of a block only move forward)."""
        if self._cells_lo < 0 or lo < self._cells_lo:
            self._cells_lo = lo
            self._cells_t = np.ascontiguousarray(self._load[lo:].T)
            self._cop_all = None
        return self._cells_t[:, lo - self._cells_lo : hi - self._cells_lo]

    def _cop(self, lo: int, hi: int) -> F64:
        """The centre of pressure (mm from the lowest cell) at context samples lo..hi-1."""
        self._cells(lo, hi)  # the block's cells from lo on (kept, with the centre, if they are)
        if self._cop_all is None:  # elementwise: once for the rest of the block
            cells = self._cells_t
            total = _cell_sum(cells)
            moment = _cell_sum(cells * self._cell_mm[:, None])
            self._cop_all = np.where(total > 0, moment / total, np.nan)
        return self._cop_all[lo - self._cells_lo : hi - self._cells_lo]

    def _new_rep_state(self, t_start: float, d_start: float) -> None:
        self._bottom = -np.inf
        self._bottom_g = -1
        self._up_min = np.inf
        self._t_start = t_start
        self._d_start = d_start
        self._t_bottom = t_start
        self._vmax_down = 0.0
        self._vmax_up = 0.0
        self._warn_armed = True
        self._rom_armed = True
        self._rom_exceeded = False
        self._lo_on = False
        self._lo_run = 0
        self._lo_fired = False
        self._lo_depth: float | None = None
        self._lo_t_on = 0.0
        self._lo_total_s = 0.0
        self._ratio_min = np.inf
        self._cop_max = -np.inf
        self._cop_base = np.nan
        self._group: tuple[int, ...] | None = None  # this rep's lower-back cells
        self._upper: tuple[int, ...] = ()  # and the cells above them
        self._group_scale = 1.0
        self._floor = 0.0
        self._span = np.ones(self._n_bins)
        self._group_evidence: dict[str, object] = {}
        self._rep_events: list[EventType] = []
        self._warned = False
        self._warn_run = 0
        self._share_min = np.inf
        self._rep_bins = self._nan_bins.copy()  # lowest share per depth bin, this rep
        self._cell_lo = self._inf_cells.copy()
        self._cell_hi = -self._inf_cells
        self._unjudged: str | None = None
        self.last_position = float("nan")  # the rule's signals at the last sample judged
        self.last_front = float("nan")
        self.last_threshold = float("nan")  # the lift-off and warning levels in force there
        self.last_warn_below = float("nan")
        self._base_total = 1.0  # the pad's load at the top (lower back and the rest)
        self._shift_min = np.inf  # the lowest position while the load had moved up
        self._shift_thr = self.config.liftoff_shift_position  # this rep's shift levels
        self._shift_warn = self.config.tilt_warning_shift_position
        self._next_cell = -1
        self._rest: tuple[int, ...] = ()
        self._front_scale = 1.0
        self._top_scale = 1.0
        self._top_to_front = 1.0
        # The signals of the current pass (see _signals), from context sample _p_lo.
        self._p_lo = 0
        self._p_ratio = self._p_share = self._p_front = self._p_total = np.empty(0)
        self._p_thr = self._p_warn = np.empty(0)
        self._p_moved = self._p_up = self._p_past = np.empty(0, bool)
        self._p_bins = np.empty(0, np.int64)

    def _emit(self, etype: str, c: int, message: str, **evidence: object) -> None:
        ev = Event(EventType(etype), float(self._t[c]), self._rep_index, message, dict(evidence))
        self.events.append(ev)
        self._out.append(ev)
        self._rep_events.append(ev.type)

    def _step_top(self, i: int, stop: int) -> int:
        cfg = self.config
        d = self._d[i:stop]
        top = np.minimum(np.minimum.accumulate(d), self._top)
        start = d > top + cfg.rep_start_mm
        if self._lock_armed:
            # Within a set only: after a long pause the next set's top is not known yet.
            t = self._t[i:stop]
            lock = (d < self._set_top + cfg.lockout_depth_mm) & (
                t - self._last_end_t <= cfg.set_gap_s
            )
        else:
            lock = np.zeros(d.size, bool)
        j = min(_first(start), _first(lock))
        upto = min(j + 1, d.size)  # samples consumed by this step
        near = d[upto - 1 :: -1] <= top[upto - 1 :: -1] + cfg.near_top_mm  # last sample first
        back = int(near.argmax())
        if near[back]:
            self._set_near_top(i + upto - 1 - back)
        self._top = float(top[upto - 1])
        if j == d.size:
            return stop
        c = i + j
        if lock[j]:
            self._fire_lock(c)
        if start[j]:
            self._begin_rep(c)
        return c + 1

    def _set_near_top(self, c: int) -> None:
        self._near_top_t = float(self._t[c])
        self._near_top_d = float(self._d[c])
        self._near_top_seen = True

    def _fire_lock(self, c: int) -> None:
        cfg = self.config
        self._lock_armed = False
        self._emit(
            "knee_lock",
            c,
            f"knees locked: sled {mm_text(self._d[c])} mm, {mm_text(-cfg.lockout_depth_mm)} mm "
            f"or more past this set's top ({mm_text(self._set_top)} mm); keep a slight bend at "
            "the top",
            set_top_mm=self._set_top,
            depth_mm=float(self._d[c]),
            lockout_depth_mm=cfg.lockout_depth_mm,
        )

    def _begin_rep(self, c: int) -> None:
        cfg = self.config
        if self._near_top_seen:
            t_start, d_start = self._near_top_t, self._near_top_d
        else:
            t_start, d_start = float(self._t[c]), float(self._d[c])
        self._new_rep_state(t_start, d_start)
        self._rep_g0 = self._base_g + c
        first = not np.isfinite(self._set_top) and not self._set_top_pending
        if first or cfg.starts_new_set(self._last_end_t, t_start):
            self._set_top = self._top  # a new set: its own top, where its first rep began
            self._set_top_pending = False
            self.set_starts.append(self._rep_index)
        elif self._set_top_pending:
            self._set_top = self._top  # the first rep of the set whose top was seen
            self._set_top_pending = False
        # Under way when the stream began: less than the baseline's length of samples at the
        # top came before it (nothing had ended yet).
        self._cut_in = (
            self._last_end_t == -np.inf and float(self._t[c]) - self._t0 < cfg.baseline_s
        )
        if self._cut_in:
            self._set_top = np.nan
            self._set_top_pending = True
        self._state = _DOWN
        self._lock_armed = not self._cut_in
        # Baseline: mean load over the samples just before the rep started.
        lo = max(0, c - self._n_base)
        window = self._load[lo:c] if c > lo else self._load[c : c + 1]
        base = np.add.reduce(window, axis=0) / window.shape[0]  # the mean, without its overhead
        self.baseline = base
        self._judge_pad(c, base)
        self._bottom = float(self._d[c])
        self._bottom_g = self._base_g + c
        self._t_bottom = float(self._t[c])

    def _judge_pad(self, c: int, base: F64) -> None:
        """Choose this rep's lower back and the rest of the back from the baseline, or say why
        the pad cannot be judged (a ``pad_unjudged`` event). Everything is relative to the
        data: the most loaded cell, and the largest total seen in the session."""
        cfg = self.config
        # Eight-odd cells: plain Python is cheaper than numpy calls here. Sums stay numpy's
        # (its order of addition), so results do not depend on which is used.
        values = base.tolist()
        finite = all(math.isfinite(x) for x in values)
        total = float(np.add.reduce(base)) if finite else 0.0
        peak = max(values) if finite and values else 0.0
        level_c = cfg.contact_fraction * peak
        in_contact = [
            x >= level_c and x > 0 and not stuck
            for x, stuck in zip(values, self._stuck.tolist(), strict=True)
        ]
        cells = [k for k, ok in enumerate(in_contact) if ok]
        reason: str | None = None
        detail = ""
        if not finite or peak <= 0:
            reason = "no_load"
            detail = (
                f"no cell reads a positive load (the highest reads {peak:g}): loads must rise "
                "with pressure from 0 unloaded; negate the cells if your system counts pressure "
                "as negative, and tare with nobody on the pad"
                if finite and min(values) < 0
                else "every cell reads 0: nobody on the pad, or the strip is unplugged"
            )
        elif total < cfg.min_load_fraction * self._load_ref:
            reason = "load_low"
            detail = (
                f"the pad carries {total / self._load_ref:.0%} of this session's usual load at "
                "the top: nobody is leaning on it"
            )
        elif len(cells) < 2:
            reason = "too_few_cells"
            detail = (
                f"only {len(cells)} cell in contact; at least 2 are needed (one low, one above)"
            )
        if reason is None:
            # The lower back: the strip's lowest positions (lower_back_mm of it), minus those
            # not in contact (dead, or below the seat junction); if none is left, the lowest
            # cell in contact stands in.
            low = [k for k in cells if k < self._lower_n] or cells[:1]
            upper = [k for k in cells if k > low[-1]]
            if not upper:
                low = low[:-1]
                upper = [k for k in cells if k > low[-1]] if low else upper
            if not low or not upper:
                reason = "too_few_cells"
                detail = "no cell in contact above the lower back to compare it with"
            else:
                self._group = tuple(low)
                self._upper = tuple(upper)
                gb = float(np.add.reduce(base[low]))
                ub = float(np.add.reduce(base[upper]))
                self._group_scale = ub / gb
                self._base_total = gb + ub
                # The shift path compares with this person's clean reps; before one (and
                # without calibration) only with the rep's own top, at the stricter first
                # level: clean reps of some people halve their share at depth under a hard
                # leg press.
                self._shift_thr, self._shift_warn = self.shift_levels
                ref, reached = self._filled_reference()
                if not (
                    reached[0]
                    or cfg.lift_off_floor is not None
                    or cfg.lift_off_depth_mm is not None
                ):
                    level = cfg.liftoff_shift_first_position
                    self._shift_thr = level
                    self._shift_warn = min(
                        level + cfg.tilt_warning_shift_position - cfg.liftoff_shift_position, 1.0
                    )
                # The front cell is the one right above the lower back: a cell further up
                # (the one between is dead) lies under the lordosis and does not empty.
                if len(upper) >= 2 and upper[0] == low[-1] + 1:
                    self._next_cell = upper[0]
                    self._rest = tuple(upper[1:])
                    self._front_scale = float(np.add.reduce(base[upper[1:]])) / values[upper[0]]
                self._top_scale = ub / values[low[-1]]
                self._top_to_front = cfg.liftoff_front_share / cfg.liftoff_top_empty
                self._floor = self.floor
                self._span = np.maximum(ref - self._floor, 0.1)
                self._cop_base = float((base @ self._cell_mm) / total)
                self._group_evidence = {
                    "cells": low,
                    "upper_cells": upper,
                    "front_cell": self._next_cell,
                    "left_out": [k for k, ok in enumerate(in_contact) if not ok],
                    "floor": self._floor,
                }
        self._load_ref = max(self._load_ref, total)
        if reason is not None:
            self._unjudged = reason
            self._emit(
                "pad_unjudged",
                c,
                f"lift-off cannot be judged in this rep: {detail}",
                reason=reason,
                baseline=values if finite else [],
                cells_in_contact=cells,
                stuck_cells=[int(x) for x in np.flatnonzero(self._stuck)],
            )

    def _filled_reference(self) -> tuple[F64, npt.NDArray[np.bool_]]:
        """The clean-rep share per depth bin, carried deeper from the deepest bin seen (a
        person going deeper than ever is compared with their deepest clean rep); 1 (the share
        at the top) before any clean rep. And per bin, whether a clean rep reached that deep
        (the first bin: whether any clean rep is known). Kept until the reference changes
        (:meth:`_learn`)."""
        if self._filled is None:
            ref = self.reference
            finite = np.isfinite(ref)
            idx = np.where(finite, np.arange(ref.size), 0)
            np.maximum.accumulate(idx, out=idx)
            known = finite[idx]
            seen = np.flatnonzero(finite)
            reached = np.arange(ref.size) <= (seen[-1] if seen.size else -1)
            self._filled = (np.where(known, ref[idx], 1.0), reached)
        return self._filled

    @property
    def deepest_clean_mm(self) -> float | None:
        """How deep this person's clean reps (or calibration) have been, to the depth bin
        (``reference_bin_mm``): the lower edge of the deepest bin with a clean share; None
        before any."""
        reached = int(np.count_nonzero(self._filled_reference()[1]))
        return float((reached - 1) * self._bin_mm) if reached else None

    def _rep_pass(self, i: int, end: int) -> int:
        """Advance a rep from context sample i to its end (or the block's): returns the next
        sample to consume.

        The phases (lowering, pushing, lowering again, done or abandoned) depend on the sled
        alone, so they are found first; then each check runs once over the samples of the
        phases where it applies (lift-off over the whole rep, the tilt warning and ROM while
        lowering, knee lock while pushing), and the events are applied in sample order, as a
        machine advancing sample by sample would raise them."""
        cfg = self.config
        self._rep_c0 = self._rep_g0 - self._base_g  # the rep's start (may be before 0)
        fired_before = self._lo_fired
        down, up, trans = self._segment(i, end)
        last = trans[0] if trans is not None else end - 1  # the last sample of this pass
        hi = last + 1
        # (sample, order within a sample, action): the events of this pass, applied in the
        # order a machine advancing sample by sample raises them.
        todo: list[tuple[int, int, Callable[[], None]]] = [
            (c, 5, partial(self._confirm_bottom, c, g, t_b)) for c, g, t_b in self._bottoms
        ]

        if self._group is not None:
            lo = max(i - self._w_trend, self._rep_c0, 0)
            self._signals(lo, hi)
            ratio = self._p_ratio[i - lo :]
            front = self._p_front[i - lo :]
            thr = self._p_thr[i - lo :]
            warn = self._p_warn[i - lo :]
            fire = self._lift_off_machine(i, ratio, thr, front, todo)
            if not self._warned and not fired_before:
                self._tilt_machine(i, last, down, fire, ratio, thr, warn, todo)
            else:
                self._warn_run = 0
            self.last_position = float(ratio[-1])
            self.last_front = float(front[-1])
            self.last_threshold = float(thr[-1])
            self.last_warn_below = float(warn[-1])
            if self._trace is not None:
                self._trace.append((self._base_g + i, ratio.copy(), thr.copy(), front.copy()))
            self._ratio_min = min(self._ratio_min, _finite_min(ratio))
            moved = np.where(self._p_moved[i - lo :], ratio, np.nan)
            self._shift_min = min(self._shift_min, _finite_min(moved))
            share = self._p_share[i - lo :]
            np.fmin.at(self._rep_bins, self._p_bins[i - lo :], share)
            self._share_min = min(self._share_min, _finite_min(share))
        else:
            self._warn_run = 0
        if cfg.rom_limit_mm is not None and down:
            self._rom_machine(down, cfg.rom_limit_mm, todo)
        if self._lock_armed and up:
            for a, b in up:
                hit = _first(self._d[a : b + 1] < self._set_top + cfg.lockout_depth_mm)
                if a + hit <= b:
                    todo.append((a + hit, 4, partial(self._fire_lock, a + hit)))
                    break
        seg = self._cells(i, hi)
        np.minimum(self._cell_lo, seg.min(axis=1), out=self._cell_lo)
        np.maximum(self._cell_hi, seg.max(axis=1), out=self._cell_hi)
        cop = self._cop(i, hi)
        self._cop_max = max(self._cop_max, _finite_max(cop))
        v = self._v
        for a, b in down:
            self._vmax_down = max(self._vmax_down, float(v[a : b + 1].max()))
        for a, b in up:
            self._vmax_up = max(self._vmax_up, float(-v[a : b + 1].min()))
        if self._lo_on:
            self._lo_total_s = float(self._t[last]) - self._lo_t_on

        todo.sort(key=lambda x: (x[0], x[1]))
        for _, _, act in todo:
            act()
        if trans is None:
            return end
        c, kind = trans
        if kind == "timeout":
            if self._bottom - self._top >= cfg.min_rep_mm:
                self.abandoned_reps += 1
                self._emit(
                    "rep_not_counted",
                    c,
                    f"not counted as a rep: {cfg.max_rep_s:g} s have passed since it left the "
                    f"top and the sled ({self._d[c]:.0f} mm, deepest {self._bottom:.0f} mm) has "
                    "not come back up; the next rep starts from here",
                    max_rep_s=cfg.max_rep_s,
                    depth_mm=float(self._d[c]),
                    deepest_mm=self._bottom,
                    top_mm=self._top,
                )
            self._last_end_t = float(self._t[c])
            self._state = _TOP
            self._top = float(self._d[c])
            self._set_near_top(c)
        else:
            self._finish_rep(c)
        return c + 1

    def _segment(
        self, i: int, end: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]], tuple[int, str] | None]:
        """The phases of the rep from sample i: the lowering and the pushing stretches (first
        and last sample of each, in order) up to the rep's end or abandonment (returned, with
        its sample) or the block's end (None). Bottom confirmations are queued on
        ``self._bottoms`` for :meth:`_rep_pass` to apply in order."""
        cfg = self.config
        down: list[tuple[int, int]] = []
        up: list[tuple[int, int]] = []
        self._bottoms = []
        pos = i
        scan = _SCAN_MIN
        t_limit = self._t_start + cfg.max_rep_s
        while pos < end:
            stop = min(end, pos + scan)
            d = self._d[pos:stop]
            timeout = self._t[pos:stop] > t_limit
            if self._state == _DOWN:
                bottom = np.maximum(np.maximum.accumulate(d), self._bottom)
                phase = d < bottom - cfg.reverse_mm
                j = _first(phase | timeout)
                upto = min(j + 1, d.size)
                if bottom[upto - 1] > self._bottom:
                    k = int(d[:upto].argmax())
                    self._bottom = float(d[k])
                    self._bottom_g = self._base_g + pos + k
                    self._t_bottom = float(self._t[pos + k])
                _extend(down, pos, pos + upto - 1)
            else:
                up_min = np.minimum(np.minimum.accumulate(d), self._up_min)
                travel = self._bottom - self._top
                end_at = self._top + max(cfg.rep_end_min_mm, cfg.rep_end_fraction * travel)
                ended = d < end_at
                phase = ended | (d > up_min + cfg.reverse_mm)
                j = _first(phase | timeout)
                upto = min(j + 1, d.size)
                self._up_min = float(up_min[upto - 1])
                _extend(up, pos, pos + upto - 1)
            if j == d.size:
                pos = stop
                scan = min(scan * 2, _SCAN_MAX)
                continue
            c = pos + j
            if timeout[j]:
                return down, up, (c, "timeout")
            if self._state == _DOWN:
                self._bottoms.append((c, self._bottom_g, self._t_bottom))
                self._state = _UP
                self._up_min = float(self._d[c])
            elif ended[j]:
                return down, up, (c, "finish")
            else:
                self._state = _DOWN  # deeper again: same rep, bottom search continues
            pos = c + 1
            scan = _SCAN_MIN
        return down, up, None

    def _lift_off_machine(
        self,
        i: int,
        ratio: F64,
        thr: F64,
        front: F64,
        todo: list[tuple[int, int, Callable[[], None]]],
    ) -> int | None:
        """The lift-off episodes over this pass (samples i.. of the rep): on after a run of
        low samples, off after a run of recovered ones. Returns the sample where ``lift_off``
        fired in this pass, if it did."""
        cfg = self.config
        recovered = ratio > cfg.liftoff_recover_position
        # NaN (no front cell) compares False: then the lower back decides alone.
        low = (ratio < thr) | (front < cfg.liftoff_front_share)
        fire = None
        pos = 0
        while pos < ratio.size:
            cond = recovered[pos:] if self._lo_on else low[pos:]
            k, run = _first_run(cond, self._lo_run, self._m_off if self._lo_on else self._m_on)
            if k == cond.size:
                self._lo_run = run
                break
            c = i + pos + k
            self._lo_run = 0
            if self._lo_on:
                self._lo_on = False
                self._lo_total_s = float(self._t[c]) - self._lo_t_on
            else:
                self._lo_on = True
                self._lo_t_on = float(self._t[c])
                if not self._lo_fired:  # once per rep
                    self._lo_fired = True
                    self._lo_depth = float(self._d[c])
                    fire = c
                    todo.append((c, 1, partial(self._emit_lift_off, c, float(ratio[pos + k]))))
            pos += k + 1
        return fire

    def _tilt_machine(
        self,
        i: int,
        last: int,
        down: list[tuple[int, int]],
        fire: int | None,
        ratio: F64,
        thr: F64,
        warn: F64,
        todo: list[tuple[int, int, Callable[[], None]]],
    ) -> None:
        """The earlier warning: while lowering, once per rep, up to the sample where the
        lift-off fired (a run of samples below the warning level, or falling fast toward
        lift-off, long enough)."""
        cfg = self.config
        run = 0
        for a, b in down:
            if fire is not None and a > fire:
                break
            bb = b if fire is None else min(b, fire)
            r = ratio[a - i : bb + 1 - i]
            falling = self._trend(a, bb + 1)
            ahead = (r < cfg.tilt_warning_start) & (
                r - thr[a - i : bb + 1 - i] < falling * cfg.tilt_warning_lead_s
            )
            level = r < warn[a - i : bb + 1 - i]
            deep = self.lift_off_depth_mm
            if deep is None:
                # A trend is extrapolated only toward a lift-off this person has shown.
                ahead[:] = False
                reach = ahead
            else:
                # Not before the sled is within reach of the depth where this person's back
                # has lifted: at this speed, within tilt_warning_lead_s of it.
                v = np.maximum(self._v[a : bb + 1], 0.0)
                d = self._d[a : bb + 1]
                near = d >= deep - v * cfg.tilt_warning_lead_s
                level &= near
                ahead &= near
                # And, whatever the pad shows, within tilt_warning_depth_lead_s of it.
                reach = (d >= deep - v * cfg.tilt_warning_depth_lead_s) & (
                    cfg.tilt_warning_depth_lead_s > 0
                )
            k, run = _first_run(
                level | ahead | reach,
                self._warn_run if a == i else 0,
                self._m_warn,
            )
            if k < r.size:
                self._warned = True
                self._warn_run = 0
                todo.append((a + k, 0, partial(self._emit_tilt_warning, a + k, float(r[k]))))
                return
        # Carried into the next block only while still lowering, and still armed.
        self._warn_run = run if down and down[-1][1] == last and fire is None else 0

    def _rom_machine(
        self,
        down: list[tuple[int, int]],
        limit: float,
        todo: list[tuple[int, int, Callable[[], None]]],
    ) -> None:
        """ROM warning and alert while lowering, once per rep each."""
        cfg = self.config
        for a, b in down:
            if not (self._rom_armed or self._warn_armed):
                return
            d = self._d[a : b + 1]
            r = _first(d >= limit) if self._rom_armed else d.size
            if self._warn_armed:
                v = np.maximum(self._v[a : b + 1], 0.0)
                lead = np.maximum(cfg.rom_warning_min_mm, v * cfg.rom_warning_lead_s)
                w = _first((d >= limit - lead) & (d < limit))
                if w < r:
                    self._warn_armed = False
                    todo.append((a + w, 2, partial(self._emit_rom_warning, a + w, limit)))
            if r < d.size:
                self._rom_armed = False
                self._warn_armed = False
                self._rom_exceeded = True
                todo.append((a + r, 3, partial(self._emit_rom_exceeded, a + r, limit)))

    def _emit_rom_warning(self, c: int, limit: float) -> None:
        d, v = float(self._d[c]), float(self._v[c])
        self._emit(
            "rom_warning",
            c,
            f"approaching the limit: sled {d:.0f} mm, limit {limit:.0f} mm, "
            f"moving {max(v, 0.0):.0f} mm/s",
            depth_mm=d,
            limit_mm=limit,
            velocity_mm_s=v,
            lead_s=self.config.rom_warning_lead_s,
        )

    def _emit_rom_exceeded(self, c: int, limit: float) -> None:
        d, v = float(self._d[c]), float(self._v[c])
        depth_text, limit_text = mm_texts(d, limit)
        self._emit(
            "rom_exceeded",
            c,
            f"too deep: sled {depth_text} mm is past the limit of {limit_text} mm",
            depth_mm=d,
            limit_mm=limit,
            velocity_mm_s=v,
        )

    def _decision_evidence(self, c: int, position: float) -> dict[str, object]:
        share = float(self._p_share[c - self._p_lo])
        bin_ = min(max(int(self._d[c] / self._bin_mm), 0), self._n_bins - 1)
        clean = float(self._span[bin_]) + self._floor
        k = c - self._p_lo
        ev = dict(self._group_evidence)
        ev.update(
            position=position,
            share=share,
            front_share=float(self._p_front[k]),
            front_threshold=self.config.liftoff_front_share,
            pad_total=float(self._p_total[k]),
            load_moved_up=bool(self._p_up[k]),
            shift_total=self.config.liftoff_shift_total,
            past_lift_off_depth=bool(self._p_past[k]),
            lift_off_depth_mm=self.lift_off_depth_mm,
            clean_share=clean,
            clean_reps_at_depth=bool(self._filled_reference()[1][bin_]),
            deepest_clean_mm=self.deepest_clean_mm,
            depth_mm=float(self._d[c]),
            load=self._load[c].tolist(),
        )
        return ev

    def _emit_tilt_warning(self, c: int, position: float) -> None:
        cfg = self.config
        ev = self._decision_evidence(c, position)
        falling = self._trend_at(c)
        k = c - self._p_lo
        lift_at = float(self._p_thr[k])
        level = float(self._p_warn[k])
        to_go = position - lift_at
        eta = to_go / falling if falling > 0 else None  # None: not falling
        deep = self.lift_off_depth_mm
        d = float(self._d[c])
        v = max(float(self._v[c]), 0.0)
        near = deep is None or d >= deep - v * cfg.tilt_warning_lead_s
        # The same scale as the lift-off alert's: 0 is this person's floor, 1 a usual rep.
        share_text = (
            f"its share of the pad load is {position:.0%} of the way from this person's floor "
            f"to a usual rep at this depth (lift-off below {lift_at:.0%})"
        )
        if position < level and near:
            path = "level"
            why = f"below the warning level of {level:.0%}"
            if ev["load_moved_up"]:
                why += (
                    f" (the pad carries {ev['pad_total']:.2f} times its load at the top: the "
                    "load is moving up the back)"
                )
            message = f"lower back starting to lift: {share_text}, {why}"
        elif (
            deep is not None
            and near
            and position < cfg.tilt_warning_start
            and eta is not None
            and eta <= cfg.tilt_warning_lead_s
        ):
            path = "trend"
            why = (
                f"falling fast enough to reach lift-off in {eta * 1000:.0f} ms (warning within "
                f"{cfg.tilt_warning_lead_s * 1000:.0f} ms, below {cfg.tilt_warning_start:.0%})"
            )
            message = f"lower back starting to lift: {share_text}, {why}"
        else:
            path = "depth"
            ahead_ms = (deep - d) / v * 1000 if deep is not None and v > 0 and d < deep else 0.0
            message = (
                f"nearing lift-off depth: the sled, moving {v:.0f} mm/s, is {ahead_ms:.0f} ms "
                f"from {deep:.0f} mm, where this person's lower back lifted before (warning "
                f"within {cfg.tilt_warning_depth_lead_s * 1000:.0f} ms of it); {share_text}"
            )
        self._emit(
            "tilt_warning",
            c,
            f"{message}; stop going deeper, sled at {d:.0f} mm",
            path=path,
            threshold=level,
            liftoff_threshold=lift_at,
            falling_per_s=falling,
            time_to_lift_off_s=eta,
            lead_s=cfg.tilt_warning_lead_s,
            start=cfg.tilt_warning_start,
            min_duration_s=cfg.tilt_warning_min_s,
            depth_lead_s=cfg.tilt_warning_depth_lead_s,
            velocity_mm_s=v,
            **ev,
        )

    def _emit_lift_off(self, c: int, position: float) -> None:
        cfg = self.config
        ev = self._decision_evidence(c, position)
        threshold = float(self._p_thr[c - self._p_lo])
        front = float(self._p_front[c - self._p_lo])
        cells = ev.get("cells")
        share_text = (
            f"cells {cells} carry {ev['share']:.0%} of their share of the load at the top, "
            f"{position:.0%} of the way from this person's floor ({self._floor:.0%}) to a usual "
            f"rep at this depth ({ev['clean_share']:.0%})"
        )
        if position < cfg.liftoff_position:
            path = "collapse"
            why = f"{share_text}: below {cfg.liftoff_position:.0%}"
        elif position < threshold and ev["load_moved_up"]:
            path = "shift"
            why = (
                f"{share_text}, while the pad carries {ev['pad_total']:.2f} times its load at "
                f"the top (at least {cfg.liftoff_shift_total:.2f}: the legs press the back in, "
                f"yet the load has moved up off the lower back): below {threshold:.0%}"
            )
        elif position < threshold:
            path = "depth"
            why = (
                f"{share_text}, with the sled past {ev['lift_off_depth_mm']:.0f} mm, where this "
                f"person's lower back lifted before: below {threshold:.0%}"
            )
        else:
            path = "front"
            why = (
                f"the contact front has passed the lower back: {front:.0%} on the front's scale "
                f"(cell {self._next_cell} above them against the cells above it, or the highest "
                f"lower-back cell, empty), below {cfg.liftoff_front_share:.0%}; {share_text}"
            )
        self._emit(
            "lift_off",
            c,
            f"lower back off the pad: {why}, for {cfg.liftoff_min_on_s * 1000:.0f} ms; sled at "
            f"{self._d[c]:.0f} mm",
            threshold=threshold,
            path=path,
            min_duration_s=cfg.liftoff_min_on_s,
            **ev,
        )

    def _confirm_bottom(self, c: int, bottom_g: int, t_bottom: float) -> None:
        """The sled came back up from the bottom (at global sample ``bottom_g``, time
        ``t_bottom``): judge the lowering and the turn."""
        cfg = self.config
        cb = bottom_g - self._base_g
        lowering_s = t_bottom - self._t_start
        timed = not self._cut_in  # a lowering that began before the stream is not timed
        if (
            timed
            and 0 < lowering_s < cfg.fast_lowering_s
            and "fast_lowering" not in self._rep_events
        ):
            self._emit(
                "fast_lowering",
                c,
                f"lowering too fast: {lowering_s:.1f} s (aim for at least "
                f"{cfg.fast_lowering_s:.1f} s)",
                lowering_s=lowering_s,
                threshold_s=cfg.fast_lowering_s,
            )
        wb = cb - self._w_bounce
        reversal = float(self._t[c]) - t_bottom
        # A slow reversal is no bounce, whatever the speed: checking it first keeps the
        # look-back inside the history, so chunking cannot matter.
        if reversal < self.config.bounce_reversal_s and wb >= 0:
            dt = float(self._t[cb] - self._t[wb])
            arrive = float(self._d[cb] - self._d[wb]) / dt if dt > 0 else 0.0
            if arrive > cfg.bounce_velocity_mm_s and "bounce" not in self._rep_events:
                self._emit(
                    "bounce",
                    c,
                    f"bounced out of the bottom: arrived at {arrive:.0f} mm/s and reversed in "
                    f"{reversal * 1000:.0f} ms; pause briefly at the bottom",
                    arrive_mm_s=arrive,
                    reversal_s=reversal,
                    threshold_mm_s=cfg.bounce_velocity_mm_s,
                )

    def _learn(self, c: int) -> None:
        """After a rep (ending at context sample c): this person's floor (if the rep showed
        one), their clean share per depth (if the rep was clean), and cells that did not move
        at all (stuck), said once with a ``cell_fault`` event."""
        cfg = self.config
        varied = self._cell_hi > self._cell_lo
        if varied.any():
            self._stuck = ~varied & np.isfinite(self._cell_lo)
            self._report_cells(c, varied)
        if self._group is None or not np.isfinite(self._share_min):
            return
        bins = self._rep_bins
        deepest = min(max(int(self._bottom / self._bin_mm), 0), self._n_bins - 1)
        kept = bins[: deepest + 1].copy()  # the rep reached no deeper bin
        clean = not self._lo_fired and not self._shift_min < cfg.tilt_warning_shift_position
        self.rep_shares.append((kept, self._lo_depth if self._lo_fired else None, clean))
        if self._lo_fired:
            # This person's floor: what their lower back kept while off the pad.
            self.floors.append(max(self._share_min, 0.0))
            if self._lo_depth is not None:
                self.lift_depths.append(self._lo_depth)
            return
        if self._shift_min < cfg.tilt_warning_shift_position:
            # The load moved up the back and the lower back's share fell to the warning level:
            # a lift-off in the making, or one the front did not confirm. Not a clean rep to
            # compare the next ones with.
            return
        if np.isfinite(self._shift_min):
            self.clean_dips.append(max(1.0 - self._shift_min, 0.0))
        seen = np.isfinite(bins)
        old = self.reference[seen]
        w = cfg.reference_weight
        self._filled = None
        self.reference[seen] = np.where(
            np.isfinite(old), (1 - w) * old + w * bins[seen], bins[seen]
        )

    def _report_cells(self, c: int, varied: npt.NDArray[np.bool_]) -> None:
        """A ``cell_fault`` for each cell that read one non-zero value through the whole rep
        while others moved: stuck (or shorted). Once per cell, until it reads again. A cell
        reading 0 all rep says nothing: nobody presses there (below the seat junction, above
        the shoulders, under the lumbar arch), or its wire is open, which the device reports
        itself (the ``cell`` fault in STATUS)."""
        for k in range(self.n_cells):
            value = float(self._cell_lo[k])
            if varied[k] or not math.isfinite(value) or value == 0.0:
                self._faulty.discard(k)
                continue
            if k in self._faulty:
                continue
            self._faulty.add(k)
            self._emit(
                "cell_fault",
                c,
                f"pad cell {k} read {value:g} through the whole rep while the other cells "
                "moved: stuck, or shorted; lift-off is judged without it from the next rep. "
                "Check its connector and the cover over it (hardware/README.md, "
                "troubleshooting)",
                cell=k,
                fault="stuck",
                reading=value,
            )

    def _finish_rep(self, c: int) -> None:
        cfg = self.config
        self._state = _TOP
        t_end = float(self._t[c])
        d_end = float(self._d[c])
        rom = self._bottom - self._top
        if self._lo_on:
            self._lo_total_s = t_end - self._lo_t_on
        if rom >= cfg.min_rep_mm:
            self._learn(c)
            lowering_s = self._t_bottom - self._t_start
            pushing_s = t_end - self._t_bottom
            rep = Rep(
                index=self._rep_index,
                t_start_s=self._t_start,
                t_bottom_s=self._t_bottom,
                t_end_s=t_end,
                depth_mm=self._bottom,
                rom_mm=rom,
                lowering_s=lowering_s,
                pushing_s=pushing_s,
                lowering_mean_mm_s=(self._bottom - self._d_start) / lowering_s
                if lowering_s > 0
                else 0.0,
                lowering_peak_mm_s=self._vmax_down,
                pushing_mean_mm_s=(self._bottom - d_end) / pushing_s if pushing_s > 0 else 0.0,
                pushing_peak_mm_s=self._vmax_up,
                tut_s=t_end - self._t_start,
                lumbar_contact_min=self._ratio_min if np.isfinite(self._ratio_min) else None,
                cop_shift_mm=self._cop_max - self._cop_base
                if np.isfinite(self._cop_base) and np.isfinite(self._cop_max)
                else None,
                lift_off=self._lo_fired,
                lift_off_depth_mm=self._lo_depth,
                lift_off_s=self._lo_total_s,
                rom_exceeded=self._rom_exceeded,
                events=tuple(self._rep_events),
            )
            self.reps.append(rep)
            self._out.append(rep)
            self._rep_index += 1
        self._top = d_end
        self._last_end_t = t_end
        self._set_near_top(c)
