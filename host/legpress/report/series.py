"""The time course a report plots, derived from a session's samples (numpy only).

The detectors decide; this module only redraws what they looked at: the load on the lower-back
cells as a fraction of its load at the top before each rep, and when the lower back was off
the pad according to the session's events.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from legpress.detect.config import DetectorConfig
from legpress.detect.events import Event, EventType, Rep
from legpress.dsp.calibration import CalibratedBlock

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ContactTrace:
    """Sled depth and lower-back contact over time.

    Attributes:
        t_s: sample times (the session's clock).
        depth_mm: sled depth.
        contact: load of the lower-back cells over their baseline (1 = as at the top, 0 = off
            the pad); NaN where unknown (invalid samples, nobody on the pad).
        cells: the pad cells that make up "the lower back".
    """

    t_s: F64
    depth_mm: F64
    contact: F64
    cells: tuple[int, ...]


_LOWER_CELLS = 3


def _group(
    series: CalibratedBlock, events: Sequence[Event], cfg: DetectorConfig
) -> tuple[int, ...]:
    for e in events:
        cells = e.evidence.get("cells") if e.type is EventType.LIFT_OFF else None
        if (
            isinstance(cells, list)
            and cells
            and all(isinstance(c, int) and 0 <= c < series.n_cells for c in cells)
        ):
            return tuple(cells)
    top = (series.depth_mm < cfg.rep_start_mm) & series.valid
    load = series.load[top] if top.any() else series.load
    med = np.median(load, axis=0) if len(load) else np.zeros(series.n_cells)
    biggest = float(med.max()) if med.size else 0.0
    if biggest <= 0:
        return tuple(range(min(_LOWER_CELLS, series.n_cells)))
    in_contact = [k for k in range(series.n_cells) if med[k] >= cfg.contact_fraction * biggest]
    return tuple(in_contact[:_LOWER_CELLS])


def lower_back_contact(
    series: CalibratedBlock,
    reps: Sequence[Rep],
    events: Sequence[Event],
    config: DetectorConfig,
) -> ContactTrace:
    """Lower-back contact over time, relative to the load at the top before each rep.

    The cells are those the detector named in a lift-off event, else the lowest three cells
    in contact at the top. Each rep's baseline is the mean load over ``baseline_s`` before it
    started and holds from the previous rep's end to this rep's end.
    """
    cells = _group(series, events, config)
    t = series.t_s
    total = series.load[:, list(cells)].sum(axis=1) if cells else np.zeros(len(series))
    top = (series.depth_mm < config.rep_start_mm) & series.valid
    fallback = float(np.median(total[top])) if top.any() else float(np.median(total))
    base = np.full(t.shape, fallback, np.float64)
    prev_end = -np.inf
    last = fallback
    for r in sorted(reps, key=lambda r: r.t_start_s):
        start, end = r.t_start_s, r.t_end_s
        window = (t >= start - config.baseline_s) & (t <= start) & series.valid
        b = float(total[window].mean()) if window.any() else last
        base[(t > prev_end) & (t <= end)] = b
        prev_end, last = end, b
    base[t > prev_end] = last
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(base > 0, total / base, np.nan)
    ratio[~series.valid] = np.nan
    return ContactTrace(t, series.depth_mm.astype(np.float64), ratio.astype(np.float64), cells)


def lift_off_spans(reps: Sequence[Rep], events: Sequence[Event]) -> list[tuple[float, float, int]]:
    """``(start, end, rep index)`` of each lift-off: from the event to its rep's duration."""
    first: dict[int, float] = {}
    for e in events:
        if e.type is EventType.LIFT_OFF:
            rep = e.rep
            first.setdefault(rep, e.t_s)
    spans = []
    for r in reps:
        if not r.lift_off:
            continue
        idx = r.index
        start = first.get(idx)
        if start is None:
            continue
        duration = r.lift_off_s if math.isfinite(r.lift_off_s) else 0.0
        spans.append((start, start + max(float(duration), 0.05), idx))
    return spans


def envelope(t: F64, y: F64, max_points: int = 3000) -> tuple[F64, F64]:
    """At most about ``max_points`` points that keep the minimum and maximum of each bucket."""
    n = t.size
    if n <= max_points:
        return t, y
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    ts: list[float] = []
    ys: list[float] = []
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        seg = y[a:b]
        if np.all(np.isnan(seg)):
            ts.append(float(t[a]))
            ys.append(np.nan)
            continue
        i, j = int(np.nanargmin(seg)), int(np.nanargmax(seg))
        for k in sorted((i, j)):
            ts.append(float(t[a + k]))
            ys.append(float(seg[k]))
    return np.asarray(ts), np.asarray(ys)
