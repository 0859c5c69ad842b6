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

Lumbar lift-off compares the load on the lowest pad cells in contact (the lower back) with their
baseline, measured at the top just before the rep; leg force, cell gains and slow drift cancel
in that ratio, a dead cell is left out of the group, and the baseline is taken afresh every rep.
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
_SCAN_MIN: Final = 64
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
    ) -> None:
        if not period_s > 0:
            raise ValueError("period_s must be positive")
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
        self._hist_len = max(self._n_base, self._w_vel, self._w_bounce + self._w_reversal) + 2
        self._cell_mm = np.arange(n_cells, dtype=np.float64) * cell_pitch_mm

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
        self._rep_index = 0
        self._new_rep_state(0.0, 0.0)

    # -- public -------------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        """``"top"``, ``"lowering"`` or ``"pushing"``."""
        return ("top", "lowering", "pushing")[self._state]

    @property
    def rep_count(self) -> int:
        """Reps completed so far."""
        return len(self.reps)

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
        self._next_all: F64 | None = None
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
        """Sled velocity (mm/s, positive = lowering) over a window ending at each sample."""
        w = self._w_vel
        d, t = self._d, self._t
        v = np.zeros(d.size, np.float64)
        if d.size > w:
            dt = t[w:] - t[:-w]
            with np.errstate(divide="ignore", invalid="ignore"):
                v[w:] = np.where(dt > 0, (d[w:] - d[:-w]) / dt, 0.0)
        return v

    # Per-sample signals over the whole context, computed at most once per block (and per
    # lower-back group: it changes only when a rep begins). Each step slices them.

    def _ratio(self, lo: int, hi: int) -> F64:
        """Lower-back load over its baseline for context samples lo..hi-1 (NaN: unknown)."""
        if self._group is None:
            return np.full(hi - lo, np.nan)
        if self._ratio_all is None or not self._ratio_lo <= lo <= hi <= self._ratio_hi:
            # Computed ahead in windows: a rep's group is valid from its start onward only.
            self._ratio_lo = lo
            self._ratio_hi = min(self._t.size, max(hi, lo + _CACHE))
            load = self._load[self._ratio_lo : self._ratio_hi]
            self._ratio_all = _row_sum(load[:, self._group]) / self._group_base
            self._next_all = (
                load[:, self._next_cell] / self._next_base if self._next_cell >= 0 else None
            )
        return self._ratio_all[lo - self._ratio_lo : hi - self._ratio_lo]

    def _next_ratio(self, lo: int, hi: int) -> F64:
        """Load of the first cell in contact above the group over its baseline (0: none)."""
        if self._next_cell < 0:
            return np.zeros(hi - lo)
        self._ratio(lo, hi)  # fills the window
        assert self._next_all is not None
        return self._next_all[lo - self._ratio_lo : hi - self._ratio_lo]

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
        self._ratio_all = None
        self._next_all = None
        self._group_base = 1.0
        self._next_cell = -1
        self._next_base = 1.0
        self._group_evidence: dict[str, object] = {}
        self._rep_events: list[EventType] = []

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
        lock = d < cfg.lockout_depth_mm if self._lock_armed else np.zeros(d.size, bool)
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
            f"knees locked: sled {self._d[c]:.0f} mm, past the soft-knee top "
            f"({cfg.lockout_depth_mm:.0f} mm); keep a slight bend at the top",
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
        self._state = _DOWN
        self._lock_armed = True
        # Baseline: mean load over the samples just before the rep started.
        lo = max(0, c - self._n_base)
        window = self._load[lo:c] if c > lo else self._load[c : c + 1]
        base = window.mean(axis=0)
        self.baseline = base
        total = float(base.sum())
        in_contact = base >= cfg.contact_fraction * float(base.max()) if total > 0 else base > 0
        # The lower back is the lowest `liftoff_cells` positions on the strip; a dead or
        # unloaded one among them is left out, and if none is left the lowest cell in contact
        # stands in for them.
        cells = np.flatnonzero(in_contact[: cfg.liftoff_cells])
        if not cells.size:
            cells = np.flatnonzero(in_contact)[:1]
        if total >= cfg.min_contact_counts and cells.size:
            self._group = cells.astype(np.intp)
            self._group_base = float(base[cells].sum())
            self._cop_base = float((base @ self._cell_mm) / total)
            # The first cell in contact above the group: the lumbar contact front must have
            # reached it too (the sacral cells alone can read zero while the pad still touches
            # the sacrum between them).
            above = np.flatnonzero(in_contact[int(cells[-1]) + 1 :])
            if above.size:
                self._next_cell = int(cells[-1]) + 1 + int(above[0])
                self._next_base = float(base[self._next_cell])
            self._group_evidence = {
                "cells": [int(x) for x in cells],
                "baseline": [float(base[x]) for x in cells],
                "next_cell": self._next_cell,
                "left_out": [int(x) for x in np.flatnonzero(~in_contact)],
            }
        self._bottom = float(self._d[c])
        self._bottom_g = self._base_g + c
        self._t_bottom = float(self._t[c])

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
            recovered = ratio > cfg.liftoff_off_ratio
            runs = _runs(recovered, self._lo_run)
            lo_flip = runs >= self._m_off
            next_ratio = ratio
        else:
            next_ratio = self._next_ratio(i, stop)
            low = (ratio < cfg.liftoff_on_ratio) & (next_ratio < cfg.liftoff_next_ratio)
            runs = _runs(low, self._lo_run)
            lo_flip = runs >= self._m_on

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
            lock = d < cfg.lockout_depth_mm if self._lock_armed else never
        timeout = t - self._t_start > cfg.max_rep_s

        j = min(
            _first(lo_flip),
            _first(phase),
            _first(warn),
            _first(rom),
            _first(lock),
            _first(timeout),
        )
        upto = min(j + 1, size)

        # Carry what the consumed samples tell us.
        self._lo_run = int(runs[upto - 1])
        finite = ratio[:upto][np.isfinite(ratio[:upto])]
        if finite.size:
            self._ratio_min = min(self._ratio_min, float(finite.min()))
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
        if lo_flip[j]:
            self._flip_lift_off(c, float(ratio[j]), float(next_ratio[j]))
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

    def _flip_lift_off(self, c: int, ratio: float, next_ratio: float) -> None:
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
        ev = self._group_evidence
        self._emit(
            "lift_off",
            c,
            f"lower back off the pad: cells {ev.get('cells')} at {ratio:.0%} of their baseline "
            f"(threshold {cfg.liftoff_on_ratio:.0%}), cell {self._next_cell} above them at "
            f"{next_ratio:.0%} (threshold {cfg.liftoff_next_ratio:.0%}), sled at "
            f"{self._d[c]:.0f} mm",
            ratio=ratio,
            threshold=cfg.liftoff_on_ratio,
            next_ratio=next_ratio,
            next_threshold=cfg.liftoff_next_ratio,
            min_duration_s=cfg.liftoff_min_on_s,
            depth_mm=float(self._d[c]),
            load=[float(x) for x in self._load[c, self._group]] if self._group is not None else [],
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

    def _finish_rep(self, c: int) -> None:
        cfg = self.config
        self._state = _TOP
        t_end = float(self._t[c])
        d_end = float(self._d[c])
        rom = self._bottom - self._top
        if self._lo_on:
            self._lo_total_s = t_end - self._lo_t_on
        if rom >= cfg.min_rep_mm:
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
        self._set_near_top(c)
