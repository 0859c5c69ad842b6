"""Ground truth of a simulated session: reps, lift-offs, ROM-limit crossings.

Times are seconds on the DEVICE clock from the session start (t = 0 at the first sample's
scheduled time), the same time base as the decoder's ``SampleBlock.t_s``, so detections can be
compared directly. Depths are true sled travel in mm from the encoder's zero (the top of the
first set); the encoder's own errors (backlash, stretch, slip, counting) are not in them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Self

import numpy as np

from legpress.sim.athlete import Plan
from legpress.sim.numerics import FloatArray
from legpress.sim.params import MachineParams, PersonParams

TRUTH_FORMAT = "legpress-sim-truth"
TRUTH_VERSION = 1
DENSE_DT_S = 0.001


@dataclass(frozen=True, slots=True)
class TruthRep:
    """One rep.

    Attributes:
        index: rep number in the session, from 0.
        t_start_s: the sled leaves the top.
        t_bottom_s: it reaches its deepest point (arrival, when there is a pause).
        t_end_s: back at the top.
        depth_mm: deepest sled travel.
        lift_off: the lower back left the pad during this rep.
        set_index: set number, from 0.
        bounce: a bouncing rep.
        overshoot: an overshoot episode (deliberately deeper than the target).
        max_tilt_deg: largest excess posterior pelvic tilt.
    """

    index: int
    t_start_s: float
    t_bottom_s: float
    t_end_s: float
    depth_mm: float
    lift_off: bool
    set_index: int = 0
    bounce: bool = False
    overshoot: bool = False
    max_tilt_deg: float = 0.0


@dataclass(frozen=True, slots=True)
class TruthLiftOff:
    """One lift-off: the load over the sacral zone is zero from onset to end.

    Attributes:
        rep: index of the rep it happened in (-1: outside any rep).
        t_onset_s: the lower back leaves the pad.
        t_end_s: it is back on the pad (the recording's end if it never came back).
        depth_at_onset_mm: true sled travel at onset.
    """

    rep: int
    t_onset_s: float
    t_end_s: float
    depth_at_onset_mm: float


@dataclass(frozen=True, slots=True)
class TruthCrossing:
    """The sled going deeper than the ROM limit.

    Attributes:
        rep: index of the rep (-1: outside any rep).
        t_s: the instant it passes the limit on the way down.
        limit_mm: the limit.
        t_exit_s: when it comes back above the limit (None: not within the recording).
        depth_mm: deepest travel while past it.
    """

    rep: int
    t_s: float
    limit_mm: float
    t_exit_s: float | None = None
    depth_mm: float = 0.0


@dataclass(frozen=True, slots=True)
class TruthSet:
    """One set.

    Attributes:
        index: set number, from 0.
        t_start_s: the person takes the load.
        t_end_s: the sled is racked again.
        top_mm: the sled's top position in this set.
        seat_shift_mm: where the person sits along the pad.
    """

    index: int
    t_start_s: float
    t_end_s: float
    top_mm: float
    seat_shift_mm: float


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """Everything true about a simulated session (JSON with :meth:`to_dict` / :meth:`save`).

    Attributes:
        scenario: scenario name.
        seed: its seed.
        duration_s: recording length (device clock).
        rate_hz: sample rate.
        period_us: sample period.
        n_cells: pad cells.
        counts_per_mm: encoder counts per mm of sled travel.
        rom_limit_mm: the person's ROM limit (sled travel from the zeroed top).
        liftoff_depth_mm: sled travel at which this person's lower back leaves the pad in a slow
            rep at the working load (quasi-static), None if it never does within reach.
        sacral_cells: cells whose centre lies over the sacral zone at the start (the cells
            that read ~0 during a lift-off).
        person: the person.
        machine: the machine.
        reps: the reps.
        lift_offs: the lift-offs.
        rom_crossings: the ROM-limit crossings.
        sets: the sets.
        stats: device and link counters (samples, overruns, drops, losses...).
    """

    scenario: str
    seed: int
    duration_s: float
    rate_hz: float
    period_us: int
    n_cells: int
    counts_per_mm: float
    rom_limit_mm: float
    liftoff_depth_mm: float | None
    sacral_cells: list[int]
    person: PersonParams
    machine: MachineParams
    reps: list[TruthRep] = field(default_factory=list)
    lift_offs: list[TruthLiftOff] = field(default_factory=list)
    rom_crossings: list[TruthCrossing] = field(default_factory=list)
    sets: list[TruthSet] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain dicts, lists and numbers)."""
        d = asdict(self)
        d = {"format": TRUTH_FORMAT, "version": TRUTH_VERSION, **d}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: not a ground-truth document.
        """
        if d.get("format") != TRUTH_FORMAT:
            raise ValueError("not a legpress simulator ground-truth document")
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["person"] = PersonParams(**kw["person"])
        kw["machine"] = MachineParams(**kw["machine"])
        kw["reps"] = [TruthRep(**r) for r in kw.get("reps", [])]
        kw["lift_offs"] = [TruthLiftOff(**r) for r in kw.get("lift_offs", [])]
        kw["rom_crossings"] = [TruthCrossing(**r) for r in kw.get("rom_crossings", [])]
        kw["sets"] = [TruthSet(**r) for r in kw.get("sets", [])]
        return cls(**kw)

    def save(self, path: str | Path) -> None:
        """Write as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a file written by :meth:`save`."""
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{path} is not a ground-truth document")
        return cls.from_dict(data)


def _crossings_up(x: FloatArray, level: float) -> np.ndarray[Any, np.dtype[np.intp]]:
    return np.flatnonzero((x[:-1] < level) & (x[1:] >= level)) + 1


def _interp_time(t: FloatArray, x: FloatArray, i: int, level: float) -> float:
    """Time where ``x`` crosses ``level`` between samples ``i - 1`` and ``i``."""
    x0, x1 = float(x[i - 1]), float(x[i])
    if x1 == x0:
        return float(t[i])
    f = (level - x0) / (x1 - x0)
    return float(t[i - 1] + f * (t[i] - t[i - 1]))


def rep_of(plan: Plan, t_s: float, slack_s: float = 0.5) -> int:
    """Index of the rep an instant belongs to (-1: none)."""
    for r in plan.reps:
        if r.t_start_s - 1e-9 <= t_s <= r.t_end_s + slack_s:
            return r.index
    return -1


def find_lift_offs(
    plan: Plan, t_s: FloatArray, margin_mm: FloatArray, end_s: float
) -> list[TruthLiftOff]:
    """Lift-offs from the sacral-zone margin (deepest indentation; <= 0: no contact)."""
    out: list[TruthLiftOff] = []
    if t_s.size < 2:
        return out
    lifted = margin_mm <= 0.0
    edges = np.flatnonzero(np.diff(lifted.astype(np.int8)))
    starts = [int(i) + 1 for i in edges if lifted[i + 1]]
    ends = [int(i) + 1 for i in edges if not lifted[i + 1]]
    if lifted[0]:
        starts.insert(0, 0)
    for s in starts:
        onset = float(t_s[0]) if s == 0 else _interp_time(t_s, margin_mm, s, 0.0)
        later = [e for e in ends if e > s]
        stop = _interp_time(t_s, margin_mm, later[0], 0.0) if later else end_s
        depth = float(plan.sled(np.array([onset]))[0][0])
        out.append(TruthLiftOff(rep_of(plan, onset), onset, stop, depth))
    return out


def find_crossings(plan: Plan, limit_mm: float, end_s: float) -> list[TruthCrossing]:
    """Every downward crossing of the ROM limit by the true sled (1 ms grid, interpolated;
    evaluated a minute at a time so long sessions stay small in memory)."""
    n = round(end_s / DENSE_DT_S) + 1
    chunk = 60_000
    out: list[TruthCrossing] = []
    pending: tuple[float, int] | None = None  # (t_in, rep) of a crossing not yet exited
    deepest = -np.inf
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk + 1)  # one point of overlap with the next chunk
        t: FloatArray = np.arange(lo, hi, dtype=np.float64) * DENSE_DT_S
        s = plan.sled(t)[0]
        downs = _crossings_up(s, limit_mm).tolist()
        ups = _crossings_up(-s, -limit_mm).tolist()
        events = sorted([(i, True) for i in downs] + [(i, False) for i in ups])
        start = 0
        for i, down in events:
            if down:
                t_in = _interp_time(t, s, i, limit_mm)
                pending = (t_in, rep_of(plan, t_in))
                deepest = -np.inf
                start = i
            elif pending is not None:
                deepest = max(deepest, float(s[start:i].max()))
                t_out = _interp_time(t, s, i, limit_mm)
                out.append(TruthCrossing(pending[1], pending[0], limit_mm, t_out, deepest))
                pending = None
        if pending is not None:
            deepest = max(deepest, float(s[start:].max()))
            start = 0
    if pending is not None:
        out.append(TruthCrossing(pending[1], pending[0], limit_mm, None, deepest))
    return out


def rep_truth(
    plan: Plan, lift_offs: list[TruthLiftOff], t_s: FloatArray, tilt_deg: FloatArray
) -> list[TruthRep]:
    """Per-rep truth: depth from the dense trajectory, lift-off flags, largest tilt."""
    lifted = {lo.rep for lo in lift_offs}
    out: list[TruthRep] = []
    for r in plan.reps:
        t = np.arange(r.t_start_s, r.t_end_s + DENSE_DT_S, DENSE_DT_S)
        depth = float(plan.sled(t)[0].max())
        in_rep = (t_s >= r.t_start_s) & (t_s <= r.t_end_s)
        tilt = float(tilt_deg[in_rep].max()) if in_rep.any() else 0.0
        out.append(
            TruthRep(
                r.index,
                r.t_start_s,
                r.t_bottom_s,
                r.t_end_s,
                depth,
                r.index in lifted,
                r.set_index,
                r.bounce,
                r.overshoot,
                tilt,
            )
        )
    return out
