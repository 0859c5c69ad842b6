"""A small synthetic leg-press stream for detector unit tests (the physical simulator lives in
legpress.sim; these signals are deliberately simple so each test controls one thing)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legpress.dsp.calibration import CalibratedBlock

FS_HZ = 100.0
BASE_LOAD = np.array([800, 900, 1000, 900, 700, 500, 300, 200], np.float64)


@dataclass
class Rep:
    depth_mm: float = 300.0
    lower_s: float = 2.0
    push_s: float = 1.5
    bottom_pause_s: float = 0.2
    top_pause_s: float = 1.5
    lift_off_at_mm: float | None = None  # lower back leaves the pad beyond this depth
    bounce: bool = False  # constant-speed lowering straight into the push (an elastic rebound)


def stream(
    reps: list[Rep],
    seed: int = 0,
    leg_force_gain: float = 0.0,
    drift_per_s: float = 0.0,
    breathing: float = 0.0,
    dead_cell: int | None = None,
    gains: np.ndarray | None = None,
    noise: float = 0.003,
) -> tuple[CalibratedBlock, list[float]]:
    """Samples for the given reps and the true lift-off onset times."""
    rng = np.random.default_rng(seed)
    depth: list[np.ndarray] = [np.zeros(int(1.0 * FS_HZ))]
    for r in reps:
        n_low = int(r.lower_s * FS_HZ)
        n_push = int(r.push_s * FS_HZ)
        x = np.linspace(0, 1, n_low, endpoint=False)
        if r.bounce:
            down = r.depth_mm * x
        else:
            down = r.depth_mm * (10 * x**3 - 15 * x**4 + 6 * x**5)  # minimum jerk
        x = np.linspace(0, 1, n_push)
        if r.bounce:
            up = r.depth_mm * (1 - np.sqrt(x))  # springs back fastest right at the bottom
        else:
            up = r.depth_mm * (1 - (10 * x**3 - 15 * x**4 + 6 * x**5))
        depth += [
            down,
            np.full(int(r.bottom_pause_s * FS_HZ), r.depth_mm),
            up,
            np.zeros(int(r.top_pause_s * FS_HZ)),
        ]
    d = np.concatenate(depth)
    n = d.size
    t = np.arange(n) / FS_HZ
    load = np.tile(BASE_LOAD, (n, 1))
    load *= 1 + leg_force_gain * (d / 300.0)[:, None]
    load *= 1 + breathing * np.sin(2 * np.pi * 0.25 * t)[:, None]
    load *= 1 + drift_per_s * t[:, None]
    # Lift-off: the two lowest cells unload as the sled passes each rep's lift-off depth.
    onsets: list[float] = []
    limits = lift_off_limits(n, reps)
    # Progressive unloading over the last 60 mm before the lift-off depth, zero beyond it.
    frac = np.clip((limits - d) / 60.0, 0.0, 1.0)
    # The contact front climbs: the sacral cells 0-2 empty from the bottom up, and the first
    # lumbar cell above them loses part of its load as the front reaches it.
    load[:, 0] *= frac
    load[:, 1] *= np.clip(frac * 1.5, 0.0, 1.0)
    load[:, 2] *= np.clip(frac * 2.0, 0.0, 1.0)
    load[:, 3] *= 0.4 + 0.6 * np.clip(frac * 2.0, 0.0, 1.0)
    off = d >= limits
    starts = np.flatnonzero(off & ~np.concatenate([[False], off[:-1]]))
    onsets = [float(t[s]) for s in starts]
    if gains is not None:
        load *= gains
    load *= 1 + noise * rng.standard_normal(load.shape)
    load = np.maximum(load, 0.0)
    if dead_cell is not None:
        load[:, dead_cell] = 0.0
    return CalibratedBlock(t, d, load, np.ones(n, bool)), onsets


def lift_off_limits(n: int, reps: list[Rep]) -> np.ndarray:
    """Per sample of a :func:`stream` of ``n`` samples, the lift-off depth of the rep in
    progress (lowering, bottom pause, pushing), inf where there is none."""
    limits = np.full(n, np.inf)
    pos = int(1.0 * FS_HZ)
    for r in reps:
        span = int((r.lower_s + r.bottom_pause_s + r.push_s) * FS_HZ)
        if r.lift_off_at_mm is not None:
            limits[pos : pos + span] = r.lift_off_at_mm
        pos += span + int(r.top_pause_s * FS_HZ)
    return limits


def chunks(block: CalibratedBlock, sizes: list[int]) -> list[CalibratedBlock]:
    out = []
    i = 0
    k = 0
    while i < len(block):
        m = sizes[k % len(sizes)]
        out.append(block.slice(i, i + m))
        i += m
        k += 1
    return out
