"""The streaming analyzer: reps, lumbar lift-off, range of motion and form checks.

One state machine per stream, fed :class:`~legpress.dsp.calibration.CalibratedBlock` s in
order. It is:

- causal: a decision at sample *i* uses samples up to *i* only, and every event carries the
  time of the sample that triggered it, which is when a live system would have raised it;
- chunk-invariant: the machine advances sample by sample in meaning, so one big block or many
  small ones give the same reps and events (``tests/host/detect`` proves it). It only *computes*
  in bulk: between two state changes nothing can fire, so each step finds the next sample where
  any condition holds with a few numpy passes over a window of the block (the window grows
  while nothing happens), jumps there, applies the change and carries on. No floating-point
  value is accumulated across blocks, so rounding cannot depend on chunking either.

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

from typing import Final

import numpy as np
import numpy.typing as npt

from legpress.detect.config import DetectorConfig
from legpress.detect.events import Event, EventType, Rep
from legpress.dsp.calibration import CalibratedBlock

_TOP: Final = 0
_DOWN: Final = 1
_UP: Final = 2
# Samples examined per step: start small after a state change (the next one is often near),
# double while nothing happens. Only the amount of work depends on it, never the result.
_SCAN_MIN: Final = 256
_SCAN_MAX: Final = 8192
_CACHE: Final = 2048  # samples of a rep's lower-back ratio computed at a time

F64 = npt.NDArray[np.float64]


def _first(mask: npt.NDArray[np.bool_]) -> int:
    """Index of the first True, or len(mask)."""
    i = int(mask.argmax())
    return i if mask.size and mask[i] else mask.size


def _row_sum(a: F64) -> F64:
    """Sum over the columns, added column by column: unlike a numpy reduction or a matrix
    product, elementwise additions round the same way whatever the number of rows, which
    keeps results independent of how a stream was chunked."""
    total = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        total += a[:, k]
    return total


def _runs(cond: npt.NDArray[np.bool_], carry: int) -> npt.NDArray[np.int64]:
    """Length of the run of True ending at each index, continuing a run of ``carry``."""
    idx = np.arange(cond.size, dtype=np.int64)
    last_false = np.maximum.accumulate(np.where(cond, -1, idx))
    return np.where(cond, np.where(last_false >= 0, idx - last_false, idx + 1 + carry), 0).astype(
        np.int64
    )


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
        # What the lift-off rule decided on, sample by sample (see :meth:`decision_trace`).
        self._trace: list[tuple[int, F64, F64]] | None = [] if trace else None
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
        self.floors: list[float] = []
        self.floor_prior: float | None = None
        self._load_ref = 0.0  # the largest baseline total seen in the session
        self._stuck = np.zeros(n_cells, bool)

        # History of the last samples (for windows reaching back across blocks).
        self._h_t = np.empty(0, np.float64)
        self._h_d = np.empty(0, np.float64)
        self._h_load = np.empty((0, n_cells), np.float64)
        self._seen = 0  # samples consumed before the current block

        self._state = _TOP
        self._top = np.inf
        self._near_top_t = 0.0  # time and depth of the last sample near the top
        self._near_top_d = 0.0
        self._near_top_seen = False
        self._lock_armed = True
        self._set_top = np.nan  # the top of the current set (NaN: no set yet)
        self._last_end_t = -np.inf
        self.set_starts: list[int] = []  # index of each set's first rep (a gap > set_gap_s)
        self._rep_index = 0
        self._rep_g0 = 0
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

    def decision_trace(self, n_samples: int) -> tuple[F64, F64]:
        """The lift-off rule's two signals at every sample so far, for reports that must show
        exactly what the detector decided on: the lower-back position and the front share
        (NaN where no rep was being judged). Only with ``trace=True``.

        Args:
            n_samples: the number of samples fed (the length of the arrays).
        """
        if self._trace is None:
            raise ValueError("this analyzer was made without trace=True")
        position = np.full(n_samples, np.nan)
        front = np.full(n_samples, np.nan)
        for g, pos, fr in self._trace:
            end = min(g + pos.size, n_samples)
            if end > g >= 0:
                position[g:end] = pos[: end - g]
                front[g:end] = fr[: end - g]
        return position, front

    def set_limit(self, rom_limit_mm: float | None) -> None:
        """Change the ROM limit; takes effect from the next sample."""
        self.config = self.config.with_limit(rom_limit_mm)

    def update(self, block: CalibratedBlock) -> list[Rep | Event]:
        """Consume the next samples; return the reps and events they completed or raised."""
        n = len(block)
        out: list[Rep | Event] = []
        if n == 0:
            return out
        if block.n_cells != self.n_cells:
            raise ValueError(f"block has {block.n_cells} cells, analyzer expects {self.n_cells}")
        h = self._h_t.size
        self._t = np.concatenate([self._h_t, block.t_s])
        self._d = np.concatenate([self._h_d, block.depth_mm])
        self._load = np.concatenate([self._h_load, block.load])
        self._base_g = self._seen - h  # global index of context index 0
        self._v = self._velocity()
        self._ratio_all: F64 | None = None
        self._share_all: F64 | None = None
        self._front_all: F64 | None = None
        self._ratio_lo = self._ratio_hi = 0
        self._cop_all: F64 | None = None
        self._out = out
        i = h
        end = h + n
        scan = _SCAN_MIN
        while i < end:
            stop = min(end, i + scan)
            i = self._step(i, stop)
            scan = min(scan * 2, _SCAN_MAX) if i == stop else _SCAN_MIN
        keep = min(self._hist_len, self._t.size)
        self._h_t = self._t[-keep:].copy()
        self._h_d = self._d[-keep:].copy()
        self._h_load = self._load[-keep:].copy()
        self._seen += n
        return out

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

    # Per-sample signals over the whole context, computed at most once per block (and per
    # lower-back group: it changes only when a rep begins). Each step slices them.

    def _ratio(self, lo: int, hi: int) -> F64:
        """The position of the lower-back share between the floor (0) and this person's clean
        reps at the same depth (1), for context samples lo..hi-1 (NaN: cannot be judged)."""
        if self._group is None:
            return np.full(hi - lo, np.nan)
        if self._ratio_all is None or not self._ratio_lo <= lo <= hi <= self._ratio_hi:
            # Computed ahead in windows: a rep's groups are valid from its start onward only.
            self._ratio_lo = max(lo - self._w_trend, self._rep_g0 - self._base_g, 0)
            self._ratio_hi = min(self._t.size, max(hi, lo + _CACHE))
            load = self._load[self._ratio_lo : self._ratio_hi]
            lower = _row_sum(load[:, self._group]) * self._group_scale
            upper = _row_sum(load[:, self._upper])
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(upper > 0, lower / upper, np.nan)
            d = self._d[self._ratio_lo : self._ratio_hi]
            bins = np.clip((d / self._bin_mm).astype(np.int64), 0, self._n_bins - 1)
            span = self._span[bins]
            self._share_all = share
            self._ratio_all = (share - self._floor) / span
            if self._next_cell >= 0:
                rest = _row_sum(load[:, self._rest])
                with np.errstate(divide="ignore", invalid="ignore"):
                    self._front_all = np.where(
                        rest > 0, load[:, self._next_cell] * self._front_scale / rest, np.nan
                    )
        return self._ratio_all[lo - self._ratio_lo : hi - self._ratio_lo]

    def _trend(self, lo: int, hi: int) -> F64:
        """How fast the position falls (per second, positive: falling) over the last
        ``tilt_warning_trend_s``, for context samples lo..hi-1 (0 where that reaches back
        before the rep)."""
        w = self._w_trend
        pos = self._ratio(lo, hi)
        out = np.zeros(hi - lo)
        first = self._ratio_lo + w  # the first sample whose look-back is in the window
        k0 = max(lo, first)
        if k0 < hi and self._ratio_all is not None:
            a = self._ratio_all
            back = a[k0 - w - self._ratio_lo : hi - w - self._ratio_lo]
            now = a[k0 - self._ratio_lo : hi - self._ratio_lo]
            dt = self._t[k0:hi] - self._t[k0 - w : hi - w]
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k0 - lo :] = np.where(dt > 0, (back - now) / dt, 0.0)
        del pos
        return np.nan_to_num(out, nan=0.0)

    def _front(self, lo: int, hi: int) -> F64:
        """The contact front: the first cell above the lower back, its ratio to baseline over
        that of the cells above it (NaN: no such cells)."""
        if self._group is None or self._next_cell < 0:
            return np.full(hi - lo, np.nan)
        self._ratio(lo, hi)  # fills the window
        assert self._front_all is not None
        return self._front_all[lo - self._ratio_lo : hi - self._ratio_lo]

    def _share(self, lo: int, hi: int) -> F64:
        """The lower-back share itself (over its baseline share) for context samples lo..hi-1."""
        if self._group is None:
            return np.full(hi - lo, np.nan)
        self._ratio(lo, hi)  # fills the window
        assert self._share_all is not None
        return self._share_all[lo - self._ratio_lo : hi - self._ratio_lo]

    @property
    def floor(self) -> float:
        """The share this person's lower back keeps once off the pad, as learned so far (the
        median of the floors seen, else the calibrated one, else 0)."""
        if self.floors:
            return float(np.median(self.floors[-5:]))
        return self.floor_prior if self.floor_prior is not None else 0.0

    def _cop(self, lo: int, hi: int) -> F64:
        if self._cop_all is None:
            total = _row_sum(self._load)
            moment = _row_sum(self._load * self._cell_mm)
            with np.errstate(divide="ignore", invalid="ignore"):
                self._cop_all = np.where(total > 0, moment / total, np.nan)
        return self._cop_all[lo:hi]

    # -- the state machine --------------------------------------------------------------------

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
        self._group: npt.NDArray[np.intp] | None = None
        self._upper: npt.NDArray[np.intp] = np.empty(0, np.intp)
        self._ratio_all = None
        self._share_all = None
        self._group_scale = 1.0
        self._floor = 0.0
        self._span = np.ones(self._n_bins)
        self._group_evidence: dict[str, object] = {}
        self._rep_events: list[EventType] = []
        self._warned = False
        self._warn_run = 0
        self._share_min = np.inf
        self._rep_bins = np.full(self._n_bins, np.nan)  # lowest share per depth bin, this rep
        self._cell_lo = np.full(self.n_cells, np.inf)
        self._cell_hi = np.full(self.n_cells, -np.inf)
        self._unjudged: str | None = None
        self.last_position = float("nan")  # the rule's two signals at the last sample judged
        self.last_front = float("nan")
        self._next_cell = -1
        self._rest: npt.NDArray[np.intp] = np.empty(0, np.intp)
        self._front_scale = 1.0
        self._front_all = None

    def _emit(self, etype: str, c: int, message: str, **evidence: object) -> None:
        ev = Event(EventType(etype), float(self._t[c]), self._rep_index, message, dict(evidence))
        self.events.append(ev)
        self._out.append(ev)
        self._rep_events.append(ev.type)

    def _step(self, i: int, stop: int) -> int:
        if self._state == _TOP:
            return self._step_top(i, stop)
        return self._step_rep(i, stop)

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
        near = np.flatnonzero(d[:upto] <= top[:upto] + cfg.near_top_mm)
        if near.size:
            k = i + int(near[-1])
            self._set_near_top(k)
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
            f"knees locked: sled {self._d[c]:.0f} mm, {-cfg.lockout_depth_mm:.0f} mm or more "
            f"past this set's top ({self._set_top:.0f} mm); keep a slight bend at the top",
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
        if not np.isfinite(self._set_top) or cfg.starts_new_set(self._last_end_t, t_start):
            self._set_top = self._top  # a new set: its own top, where its first rep began
            self.set_starts.append(self._rep_index)
        self._state = _DOWN
        self._lock_armed = True
        # Baseline: mean load over the samples just before the rep started.
        lo = max(0, c - self._n_base)
        window = self._load[lo:c] if c > lo else self._load[c : c + 1]
        base = window.mean(axis=0)
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
        finite = bool(np.isfinite(base).all())
        total = float(base.sum()) if finite else 0.0
        peak = float(base.max()) if finite and base.size else 0.0
        usable = ~self._stuck
        in_contact = (base >= cfg.contact_fraction * peak) & (base > 0) & usable
        cells = np.flatnonzero(in_contact)
        reason: str | None = None
        detail = ""
        if not finite or peak <= 0:
            reason, detail = (
                "no_load",
                "every cell reads 0: nobody on the pad, or the strip is unplugged",
            )
        elif total < cfg.min_load_fraction * self._load_ref:
            reason = "load_low"
            detail = (
                f"the pad carries {total / self._load_ref:.0%} of this session's usual load at "
                "the top: nobody is leaning on it"
            )
        elif cells.size < 2:
            reason = "too_few_cells"
            detail = (
                f"only {cells.size} cell in contact; at least 2 are needed (one low, one above)"
            )
        if reason is None:
            # The lower back: the strip's lowest positions (lower_back_mm of it), minus those
            # not in contact (dead, or below the seat junction); if none is left, the lowest
            # cell in contact stands in.
            low = cells[cells < self._lower_n]
            if not low.size:
                low = cells[:1]
            upper = cells[cells > low[-1]]
            if not upper.size:
                low = low[:-1]
                upper = cells[cells > low[-1]] if low.size else upper
            if not low.size or not upper.size:
                reason = "too_few_cells"
                detail = "no cell in contact above the lower back to compare it with"
            else:
                self._group = low.astype(np.intp)
                self._upper = upper.astype(np.intp)
                gb = float(base[low].sum())
                ub = float(base[upper].sum())
                self._group_scale = ub / gb
                # The front cell is the one right above the lower back: a cell further up
                # (the one between is dead) lies under the lordosis and does not empty.
                if upper.size >= 2 and int(upper[0]) == int(low[-1]) + 1:
                    self._next_cell = int(upper[0])
                    self._rest = upper[1:].astype(np.intp)
                    self._front_scale = float(base[self._rest].sum()) / float(base[upper[0]])
                self._floor = self.floor
                ref = self._filled_reference()
                self._span = np.maximum(ref - self._floor, 0.1)
                self._cop_base = float((base @ self._cell_mm) / total)
                self._group_evidence = {
                    "cells": [int(x) for x in low],
                    "upper_cells": [int(x) for x in upper],
                    "front_cell": self._next_cell,
                    "left_out": [int(x) for x in np.flatnonzero(~in_contact)],
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
                baseline=[float(x) for x in base] if finite else [],
                cells_in_contact=[int(x) for x in cells],
                stuck_cells=[int(x) for x in np.flatnonzero(self._stuck)],
            )

    def _filled_reference(self) -> F64:
        """The clean-rep share per depth bin, carried deeper from the deepest bin seen (a
        person going deeper than ever is compared with their deepest clean rep); 1 (the share
        at the top) before any clean rep."""
        ref = self.reference
        idx = np.where(np.isfinite(ref), np.arange(ref.size), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = ref[idx]
        return np.where(np.isfinite(filled), filled, 1.0)

    def _step_rep(self, i: int, stop: int) -> int:
        cfg = self.config
        d = self._d[i:stop]
        t = self._t[i:stop]
        v = self._v[i:stop]
        size = d.size
        never = np.zeros(size, bool)
        ratio = self._ratio(i, stop)

        # Lift-off sub-machine: a run of low (or recovered) samples long enough flips it.
        if self._lo_on:
            cond = ratio > cfg.liftoff_recover_position
            runs = _runs(cond, self._lo_run)
            lo_flip = runs >= self._m_off
        else:
            front = self._front(i, stop)
            # NaN (no front cell) compares False: then the lower back decides alone.
            confirmed = ~(front >= cfg.liftoff_front_confirm)
            low = ((ratio < cfg.liftoff_position) & confirmed) | (front < cfg.liftoff_front_share)
            runs = _runs(low, self._lo_run)
            lo_flip = runs >= self._m_on
        # The earlier warning: lowering, once per rep, only before any lift-off.
        if self._state == _DOWN and not self._warned and not self._lo_fired:
            falling = self._trend(i, stop)
            ahead = (ratio < cfg.tilt_warning_start) & (
                ratio - cfg.liftoff_position < falling * cfg.tilt_warning_lead_s
            )
            warn_runs = _runs((ratio < cfg.tilt_warning_position) | ahead, self._warn_run)
            tilt = warn_runs >= self._m_warn
        else:
            warn_runs = np.zeros(size, np.int64)
            tilt = never
        limit = cfg.rom_limit_mm
        if self._state == _DOWN:
            bottom = np.maximum(np.maximum.accumulate(d), self._bottom)
            phase = d < bottom - cfg.reverse_mm
            if limit is not None:
                lead = np.maximum(
                    cfg.rom_warning_min_mm, np.maximum(v, 0.0) * cfg.rom_warning_lead_s
                )
                warn = (d >= limit - lead) & (d < limit) if self._warn_armed else never
                rom = d >= limit if self._rom_armed else never
            else:
                warn = rom = never
            lock = never
        else:
            up_min = np.minimum(np.minimum.accumulate(d), self._up_min)
            travel = self._bottom - self._top
            end_at = self._top + max(cfg.rep_end_min_mm, cfg.rep_end_fraction * travel)
            ended = d < end_at
            phase = ended | (d > up_min + cfg.reverse_mm)
            warn = rom = never
            lock = d < self._set_top + cfg.lockout_depth_mm if self._lock_armed else never
        timeout = t - self._t_start > cfg.max_rep_s

        j = min(
            _first(lo_flip),
            _first(tilt),
            _first(phase),
            _first(warn),
            _first(rom),
            _first(lock),
            _first(timeout),
        )
        upto = min(j + 1, size)

        # Carry what the consumed samples tell us.
        self._lo_run = int(runs[upto - 1])
        if self._group is not None:
            self.last_position = float(ratio[upto - 1])
            self.last_front = float(self._front(i + upto - 1, i + upto)[0])
        if self._trace is not None and self._group is not None:
            g = self._base_g + i
            self._trace.append((g, ratio[:upto].copy(), self._front(i, i + upto).copy()))
        self._warn_run = int(warn_runs[upto - 1])
        if self._group is not None:
            part = ratio[:upto]
            finite = part[np.isfinite(part)]
            if finite.size:
                self._ratio_min = min(self._ratio_min, float(finite.min()))
            share = self._share(i, i + upto)
            bins = np.clip((d[:upto] / self._bin_mm).astype(np.int64), 0, self._n_bins - 1)
            np.fmin.at(self._rep_bins, bins, share)
            fin = share[np.isfinite(share)]
            if fin.size:
                self._share_min = min(self._share_min, float(fin.min()))
        seg = self._load[i : i + upto]
        np.minimum(self._cell_lo, seg.min(axis=0), out=self._cell_lo)
        np.maximum(self._cell_hi, seg.max(axis=0), out=self._cell_hi)
        cop = self._cop(i, i + upto)
        cop = cop[np.isfinite(cop)]
        if cop.size:
            self._cop_max = max(self._cop_max, float(cop.max()))
        if self._lo_on:
            self._lo_total_s = float(t[upto - 1]) - self._lo_t_on
        if self._state == _DOWN:
            seg_max = float(d[:upto].max())
            if seg_max > self._bottom:
                k = int(d[:upto].argmax())
                self._bottom = seg_max
                self._bottom_g = self._base_g + i + k
                self._t_bottom = float(t[k])
            self._vmax_down = max(self._vmax_down, float(v[:upto].max()))
        else:
            self._up_min = float(up_min[upto - 1])
            self._vmax_up = max(self._vmax_up, float(-v[:upto].min()))
        if j == size:
            return stop

        c = i + j
        if tilt[j]:
            self._warned = True
            self._emit_tilt_warning(c, float(ratio[j]))
        if lo_flip[j]:
            self._flip_lift_off(c, float(ratio[j]))
        if warn[j]:
            self._warn_armed = False
            self._emit(
                "rom_warning",
                c,
                f"approaching the limit: sled {d[j]:.0f} mm, limit {limit:.0f} mm, "
                f"moving {max(v[j], 0.0):.0f} mm/s",
                depth_mm=float(d[j]),
                limit_mm=limit,
                velocity_mm_s=float(v[j]),
                lead_s=cfg.rom_warning_lead_s,
            )
        if rom[j]:
            self._rom_armed = False
            self._warn_armed = False
            self._rom_exceeded = True
            self._emit(
                "rom_exceeded",
                c,
                f"too deep: sled {d[j]:.0f} mm is past the limit of {limit:.0f} mm",
                depth_mm=float(d[j]),
                limit_mm=limit,
                velocity_mm_s=float(v[j]),
            )
        if lock[j]:
            self._fire_lock(c)
        if timeout[j]:
            self._last_end_t = float(t[j])
            self._state = _TOP
            self._top = float(d[j])
            self._set_near_top(c)
            return c + 1
        if phase[j]:
            if self._state == _DOWN:
                self._confirm_bottom(c)
            elif d[j] < end_at:
                self._finish_rep(c)
            else:
                self._state = _DOWN  # deeper again: same rep, bottom search continues
        return c + 1

    def _decision_evidence(self, c: int, position: float) -> dict[str, object]:
        share = float(self._share(c, c + 1)[0])
        bin_ = min(max(int(self._d[c] / self._bin_mm), 0), self._n_bins - 1)
        clean = float(self._span[bin_]) + self._floor
        ev = dict(self._group_evidence)
        ev.update(
            position=position,
            share=share,
            front_share=float(self._front(c, c + 1)[0]),
            front_threshold=self.config.liftoff_front_share,
            clean_share=clean,
            clean_reps_at_depth=bool(np.isfinite(self._filled_reference_raw(bin_))),
            depth_mm=float(self._d[c]),
            load=[float(x) for x in self._load[c]],
        )
        return ev

    def _filled_reference_raw(self, bin_: int) -> float:
        ref = self.reference[: bin_ + 1]
        known = np.flatnonzero(np.isfinite(ref))
        return float(ref[known[-1]]) if known.size else float("nan")

    def _emit_tilt_warning(self, c: int, position: float) -> None:
        cfg = self.config
        ev = self._decision_evidence(c, position)
        falling = float(self._trend(c, c + 1)[0])
        to_go = position - cfg.liftoff_position
        eta = to_go / falling if falling > 0 else float("inf")
        if position < cfg.tilt_warning_position:
            why = f"below the warning level of {cfg.tilt_warning_position:.0%}"
        else:
            why = (
                f"falling fast enough to reach lift-off in {eta * 1000:.0f} ms (warning within "
                f"{cfg.tilt_warning_lead_s * 1000:.0f} ms, below {cfg.tilt_warning_start:.0%})"
            )
        self._emit(
            "tilt_warning",
            c,
            f"lower back starting to lift: its share of the pad load is {position:.0%} of the "
            f"way from lift-off ({cfg.liftoff_position:.0%}) to a usual rep at this depth, "
            f"{why}; stop going deeper, sled at {self._d[c]:.0f} mm",
            threshold=cfg.tilt_warning_position,
            falling_per_s=falling,
            time_to_lift_off_s=eta,
            lead_s=cfg.tilt_warning_lead_s,
            start=cfg.tilt_warning_start,
            min_duration_s=cfg.tilt_warning_min_s,
            **ev,
        )

    def _flip_lift_off(self, c: int, position: float) -> None:
        cfg = self.config
        if self._lo_on:
            self._lo_on = False
            self._lo_run = 0
            return
        self._lo_on = True
        self._lo_run = 0
        self._lo_t_on = float(self._t[c])
        if self._lo_fired:
            return  # once per rep
        self._lo_fired = True
        self._lo_depth = float(self._d[c])
        ev = self._decision_evidence(c, position)
        self._emit(
            "lift_off",
            c,
            f"lower back off the pad: cells {ev.get('cells')} carry {ev['share']:.0%} of their "
            f"share of the load at the top, {position:.0%} of the way from this person's floor "
            f"({self._floor:.0%}) to a usual rep at this depth ({ev['clean_share']:.0%}); "
            f"cell {self._next_cell} above them at {ev['front_share']:.0%} of the share "
            f"above it; lift-off when the first is below {cfg.liftoff_position:.0%} or the "
            f"second below {cfg.liftoff_front_share:.0%} for "
            f"{cfg.liftoff_min_on_s * 1000:.0f} ms; sled at {self._d[c]:.0f} mm",
            threshold=cfg.liftoff_position,
            min_duration_s=cfg.liftoff_min_on_s,
            **ev,
        )

    def _confirm_bottom(self, c: int) -> None:
        cfg = self.config
        self._state = _UP
        self._up_min = float(self._d[c])
        cb = self._bottom_g - self._base_g
        lowering_s = self._t_bottom - self._t_start
        if 0 < lowering_s < cfg.fast_lowering_s and "fast_lowering" not in self._rep_events:
            self._emit(
                "fast_lowering",
                c,
                f"lowering too fast: {lowering_s:.1f} s (aim for at least "
                f"{cfg.fast_lowering_s:.1f} s)",
                lowering_s=lowering_s,
                threshold_s=cfg.fast_lowering_s,
            )
        wb = cb - self._w_bounce
        reversal = float(self._t[c]) - self._t_bottom
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

    def _learn(self) -> None:
        """After a rep: this person's floor (if the rep showed one), their clean share per
        depth (if the rep was clean), and cells that did not move at all (stuck)."""
        cfg = self.config
        varied = self._cell_hi > self._cell_lo
        if varied.any():
            self._stuck = ~varied & np.isfinite(self._cell_lo)
        if self._group is None or not np.isfinite(self._share_min):
            return
        bins = self._rep_bins
        if self._lo_fired:
            # This person's floor: what their lower back kept while off the pad.
            self.floors.append(max(self._share_min, 0.0))
            return
        seen = np.isfinite(bins)
        old = self.reference[seen]
        w = cfg.reference_weight
        self.reference[seen] = np.where(
            np.isfinite(old), (1 - w) * old + w * bins[seen], bins[seen]
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
            self._learn()
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
